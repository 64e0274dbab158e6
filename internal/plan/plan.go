// Package plan searches for the cheapest deployment of a model that
// carries a traffic within latency targets, chip by chip, under a purchase
// policy, and sets the best plan under the policy beside the best without
// it so the cost of each ban shows.
//
// The search is filter-then-score, as the Kubernetes scheduler does it:
// every candidate (chip, precision, instance shape, batch) is screened with
// the analytic performance model, a rejected one keeps its reason (does not
// fit, misses TPOT, misses TTFT, over budget, not allowed), and the best few
// per chip are verified with the discrete-event simulator on the same
// traffic. Nothing here does I/O; the caller renders the Result.
package plan

import (
	"ersatz/internal/accuracy"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
	"ersatz/internal/policy"
	"ersatz/internal/workload"
)

// Objective is what "best" minimises.
type Objective string

// Objectives.
const (
	MinCost  Objective = "cost"  // dollars per hour
	MinChips Objective = "chips" // chips in all
	MinPower Objective = "power" // kilowatts at the wall
)

// Traffic is the load to carry: a mean request and an arrival rate.
type Traffic struct {
	RatePerS     float64 `json:"rate_per_s"`
	InputTokens  float64 `json:"input_tokens"`
	OutputTokens float64 `json:"output_tokens"`
	PrefixHit    float64 `json:"prefix_cache_hit,omitempty"`
	// Source, when set, replays requests (a trace or a generator) in the
	// verification simulation; otherwise Poisson arrivals of fixed-length
	// requests at RatePerS are simulated.
	Source func() (workload.Source, error) `json:"-"`
}

// SLO is a latency target at a percentile (50, 90 or 99).
type SLO struct {
	TTFTS      float64 `json:"ttft_s,omitempty"`
	TPOTS      float64 `json:"tpot_s,omitempty"`
	Percentile float64 `json:"percentile"`
}

// Request is one planning question.
type Request struct {
	Model   *model.Model
	Catalog *hardware.Catalog
	// Chips narrows the candidates; empty means the whole catalog.
	Chips          []*hardware.Chip
	Traffic        Traffic
	SLO            SLO
	Policy         policy.Set
	IncludeRoadmap bool
	Objective      Objective
	Costs          Costs
	// Headroom is spare capacity on top of the mean rate (0.2 = 20%), so
	// bursts do not push latency past the target.
	Headroom float64
	// BudgetUSDPerHour rejects plans that cost more; 0 means no budget.
	BudgetUSDPerHour float64
	// MaxChips rejects plans needing more chips than this; 0 means
	// DefaultMaxChips.
	MaxChips int
	// Precisions narrows the weight precisions tried; empty means every
	// precision the chip runs, int4 excepted (its quality loss is the
	// user's call, so it is only tried when named).
	Precisions []hardware.Precision
	// KV is the KV-cache precision of every plan; empty means perf's
	// default (16-bit, the engines' auto), as in every other command.
	KV hardware.Precision
	// MemoryUtilization, when positive, replaces each engine's share of
	// device memory (see perf.Deployment).
	MemoryUtilization float64
	// CrossVendor lets a plan prefill on one vendor's chips and decode on
	// another's (same-vendor pairings are always tried).
	CrossVendor bool
	Engine      perf.Engine
	Params      *perf.Params
	// Bands, when set, makes every latency band an interval at BandLevel
	// (0: 0.8) from the model's residual spread (bands.go); Confidence P
	// (0: none) passes a plan only if it meets its targets at the
	// pessimistic edge of the band at level P.
	Bands      *accuracy.Table
	BandLevel  float64
	Confidence float64
	// Verify is how many of the best plans per chip the simulator checks
	// (0 skips verification); VerifyRequests bounds each simulation.
	Verify         int
	VerifyRequests int
	Seed           uint64
	// Progress, when set, is told how many chips are done.
	// Progress and StopVerify are called one at a time, though chips are
	// searched in parallel.
	Progress func(done, total int) `json:"-"`
	// StopVerify, polled before each verification, skips the rest once it
	// returns true (an interrupt): those plans keep Verified nil. The
	// analytic search always completes.
	StopVerify func() bool `json:"-"`
}

// Plan is one deployment that carries the traffic.
type Plan struct {
	Chip    string  `json:"chip"`
	Vendor  string  `json:"vendor"`
	Node    string  `json:"node"`
	Serving Serving `json:"serving"`
	Weights string  `json:"weights"`
	KVCache string  `json:"kv_cache"`
	Layout  string  `json:"layout"` // of one instance (the decode instance when disaggregated)
	Devices int     `json:"devices_per_instance"`
	// KVTokens is the KV capacity of one instance (the decode instance
	// when disaggregated), as fit, predict and simulate size it.
	KVTokens int `json:"kv_tokens_per_instance"`
	Replicas int `json:"replicas"`
	// Disaggregated serving: the prefill pool, on PrefillChip at
	// PrefillWeights when those differ from the decode pool's.
	PrefillLayout   string `json:"prefill_layout,omitempty"`
	PrefillReplicas int    `json:"prefill_replicas,omitempty"`
	PrefillChip     string `json:"prefill_chip,omitempty"`
	PrefillWeights  string `json:"prefill_weights,omitempty"`

	ChipsTotal int     `json:"chips"`
	Nodes      int     `json:"nodes"`
	Batch      float64 `json:"batch"` // decode sequences per instance at the planned load
	// Latency at the SLO percentile, predicted, with the band from the
	// inputs' uncertainty.
	TTFTS     float64 `json:"ttft_s"`
	TPOTS     float64 `json:"tpot_s"`
	TTFTLowS  float64 `json:"ttft_low_s"`
	TTFTHighS float64 `json:"ttft_high_s"`
	TPOTLowS  float64 `json:"tpot_low_s"`
	TPOTHighS float64 `json:"tpot_high_s"`
	// TTFTEdgeS and TPOTEdgeS are the pessimistic edges at the request's
	// Confidence, when one was asked for.
	TTFTEdgeS float64 `json:"ttft_edge_s,omitempty"`
	TPOTEdgeS float64 `json:"tpot_edge_s,omitempty"`

	OutputTPSPerChip float64 `json:"output_tokens_per_s_per_chip"`
	PowerKW          float64 `json:"power_kw"`
	CostUSDPerHour   float64 `json:"cost_usd_per_hour"`
	USDPerMTokens    float64 `json:"usd_per_million_output_tokens"`
	CostIsEstimate   bool    `json:"cost_is_estimate"`
	// Binding says what stopped each instance taking more load, and
	// Bound what dominates its step.
	Binding Binding       `json:"binding"`
	Bound   Bound         `json:"bound"`
	Policy  policy.Action `json:"policy"` // the policy's action on the plan's chips

	Verified *Verification `json:"verified,omitempty"`
}

// Verification is the simulator's check of a plan on the same traffic.
type Verification struct {
	Requests int     `json:"requests"`
	TTFTS    float64 `json:"ttft_s"` // at the SLO percentile
	TPOTS    float64 `json:"tpot_s"`
	Meets    bool    `json:"meets_slo"`
	// AddedReplicas is how many replicas the simulation needed beyond the
	// analytic count to meet the SLO.
	AddedReplicas int    `json:"added_replicas"`
	Note          string `json:"note,omitempty"`
}

// Rejection is a candidate that failed a filter, kept with its reason.
type Rejection struct {
	Chip   string `json:"chip"`
	Reason Reason `json:"reason"`
	Detail string `json:"detail"`
	// Miss is how far the candidate was from passing (1.2 = 20% over the
	// limit), for finding the nearest miss.
	Miss float64 `json:"miss,omitempty"`
}

// DefaultMaxChips is the most chips a plan may use: about the largest
// AI clusters announced by 2025 (xAI's Colossus, 200,000 GPUs). Past it a
// traffic is not a purchase but a saturated request, and the search says so
// instead of sizing (and simulating) millions of replicas.
const DefaultMaxChips = 200_000

// ChipResult is the outcome for one chip.
type ChipResult struct {
	Chip     string          `json:"chip"`
	Vendor   string          `json:"vendor"`
	Decision policy.Decision `json:"policy"`
	Best     *Plan           `json:"best,omitempty"`
	Others   []*Plan         `json:"alternatives,omitempty"`
	Rejected map[Reason]int  `json:"rejected"` // counts by reason
	// Nearest is the closest miss when nothing passed.
	Nearest *Rejection `json:"nearest_miss,omitempty"`
	allowed bool
	// verifier is the search that simulates a cross-chip plan.
	verifier *chipSearch
}

// Impact compares the best plan under the policy with the best without it.
type Impact struct {
	Policy       string  `json:"policy"`
	With         *Plan   `json:"with_policy"`
	Without      *Plan   `json:"without_policy"`
	DeltaChips   int     `json:"delta_chips"`
	DeltaCost    float64 `json:"delta_cost_usd_per_hour"`
	DeltaPowerKW float64 `json:"delta_power_kw"`
	DeltaTTFTS   float64 `json:"delta_ttft_s"`
	DeltaTPOTS   float64 `json:"delta_tpot_s"`
	CostRatio    float64 `json:"cost_ratio"` // with / without
}

// Result is the whole answer.
type Result struct {
	Model     string        `json:"model"`
	Traffic   Traffic       `json:"traffic"`
	SLO       SLO           `json:"slo"`
	Policy    string        `json:"policy"`
	Objective Objective     `json:"objective"`
	Costs     Costs         `json:"costs"`
	Chips     []*ChipResult `json:"chips"`
	// CrossChip are the best plans that prefill on one chip and decode on
	// another, cheapest first.
	CrossChip []*Plan `json:"cross_chip,omitempty"`
	// Recommended is the best plan the policy allows; nil when none.
	Recommended *Plan `json:"recommended,omitempty"`
	// Why explains the recommendation, or why there is none.
	Why    Why     `json:"why"`
	Impact *Impact `json:"ban_impact,omitempty"`
	// Candidates counts the points screened; Rejected counts them by reason.
	Candidates int            `json:"candidates"`
	Rejected   map[Reason]int `json:"rejected"`
	// Estimates lists the inputs that are estimates, for the output to say so.
	Estimates []string `json:"estimates"`
	// Baseline sets every plan beside the fleet the user runs now (RunBaseline).
	Baseline *BaselineResult `json:"baseline,omitempty"`
	// BandLevel is the level of the latency bands (0: bands from the
	// inputs' uncertainty only); Confidence the level plans were checked
	// at (0: none).
	BandLevel  float64 `json:"band_level,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
}

func (req *Request) stopped() bool { return req.StopVerify != nil && req.StopVerify() }
