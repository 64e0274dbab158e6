package plan

// The plan's decisions are values from the search to the renderer: the
// serving kind, why a candidate was rejected, what binds a plan, what
// dominates its step and why the recommendation is what it is. The English
// is written by the caller (internal/cli), never here.

import (
	"ersatz/internal/perf"
	"ersatz/internal/policy"
)

// Serving is how a plan serves: one pool, or prefill and decode apart.
type Serving string

// Serving kinds.
const (
	Aggregated    Serving = "aggregated"
	Disaggregated Serving = "disaggregated"
)

// Reason is why a candidate was rejected; a stable code.
type Reason string

// Rejection reasons, in the order the filters apply (a later one came
// closer to passing).
const (
	ReasonPolicy    Reason = "policy"    // the purchase policy denies the chip
	ReasonRoadmap   Reason = "roadmap"   // announced, not shipping (--include-roadmap)
	ReasonCost      Reason = "no-price"  // no price or rent in the catalog
	ReasonPrecision Reason = "precision" // the chip does not run the precision
	ReasonLayout    Reason = "layout"    // an impossible parallel layout
	ReasonFit       Reason = "fit"       // does not fit in memory
	ReasonTPOT      Reason = "tpot"      // misses the TPOT target
	ReasonTTFT      Reason = "ttft"      // misses the TTFT target
	ReasonScale     Reason = "scale"     // more chips than the largest cluster (--max-chips)
	ReasonBudget    Reason = "budget"    // over --budget
)

// stage orders the filters: a candidate rejected at a later stage came
// closer to passing than one rejected earlier, whatever its margin.
var stage = map[Reason]int{
	ReasonPolicy: 0, ReasonRoadmap: 1, ReasonCost: 2, ReasonPrecision: 3, ReasonLayout: 4,
	ReasonFit: 5, ReasonTPOT: 6, ReasonTTFT: 7, ReasonScale: 8, ReasonBudget: 9,
}

// Limit is what stopped an instance taking more load.
type Limit string

// Limits: a latency target, or one of the performance model's batch limits
// (perf.Instance.MaxBatch: "kv-cache", "max_seqs", "prefill budget", ...).
const (
	LimitTPOT Limit = "tpot"
	LimitTTFT Limit = "ttft"
)

// Binding is what binds a plan: a latency target at a percentile (of the
// decode pool, when disaggregated, with the pools' ratio) or a batch limit.
type Binding struct {
	Limit      Limit   `json:"limit"`
	Percentile float64 `json:"percentile,omitempty"`
	TargetS    float64 `json:"target_s,omitempty"`
	// PrefillReplicas and DecodeReplicas are set for a disaggregated
	// plan, whose decode pool the target binds.
	PrefillReplicas int `json:"prefill_replicas,omitempty"`
	DecodeReplicas  int `json:"decode_replicas,omitempty"`
}

// Bound is the part that dominates a plan's step: its name, its share of
// the step and what bounds it (compute, memory, network, overhead).
type Bound struct {
	Part  string     `json:"part"`
	Share float64    `json:"share"`
	Kind  perf.Bound `json:"bound"`
}

// WhyKind is the shape of an answer.
type WhyKind string

// Answers.
const (
	WhyRecommended  WhyKind = "recommended"   // a plan the policy allows
	WhyPolicyDenies WhyKind = "policy-denies" // the policy allows no candidate chip
	WhyNothingMeets WhyKind = "nothing-meets" // allowed chips, but no plan meets the target
)

// Why is the reason for the answer, as values.
type Why struct {
	Kind      WhyKind   `json:"kind"`
	Objective Objective `json:"objective"`
	// RunnerUp is the best plan on the next allowed chip.
	RunnerUp *Plan `json:"runner_up,omitempty"`
	// EstimatedSpecs says the recommended chip's core figures are
	// estimates without a primary source.
	EstimatedSpecs bool `json:"estimated_specs,omitempty"`
	// Review is the policy's rule when the purchase needs review.
	Review *policy.Rule `json:"review,omitempty"`
	// Policy and Chips: the policy and how many chips it was asked about.
	Policy string `json:"policy,omitempty"`
	Chips  int    `json:"chips,omitempty"`
	// Binding is the filter most allowed candidates stopped at (the
	// nearest miss's, when there is one), Count how many it stopped.
	Binding Reason     `json:"binding,omitempty"`
	Count   int        `json:"count,omitempty"`
	Nearest *Rejection `json:"nearest_miss,omitempty"`
	// Without is the best plan without the policy, when the policy
	// changes the answer.
	Without *Plan `json:"without_policy,omitempty"`
}
