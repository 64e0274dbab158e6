package plan

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"ersatz/internal/fit"
	"ersatz/internal/hardware"
	"ersatz/internal/perf"
)

// Baseline is the fleet a user runs today: Count chips of Chip, served by
// Engine at Weights. The question it asks is "what replaces it".
type Baseline struct {
	Chip  *hardware.Chip
	Count int
	// Engine defaults to the request's engine; Weights to the precision
	// at which the fleet carries the most.
	Engine  perf.Engine
	Weights hardware.Precision
}

// BaselineResult is the fleet on the request's traffic and targets, set
// beside every plan.
type BaselineResult struct {
	Chip    string `json:"chip"`
	Count   int    `json:"count"`
	Engine  string `json:"engine"`
	Weights string `json:"weights"`
	// Plan is the fleet as a deployment: the instance shape that carries
	// the most within the targets, as many replicas as the chips hold, and
	// its latency at the traffic's rate. Every chip is priced, idle or not.
	Plan *Plan `json:"plan"`
	// CapacityPerS is the most requests per second the fleet carries
	// within the targets, less the planner's headroom, so that a
	// replacement sized for this rate is sized by the same rule.
	CapacityPerS float64 `json:"capacity_per_s"`
	Headroom     float64 `json:"headroom"`
	// RateFromBaseline is set when the traffic's rate is CapacityPerS
	// because the request gave none.
	RateFromBaseline bool `json:"rate_from_baseline"`
	// Carries says whether the fleet carries the rate with the headroom;
	// MeetsTargets whether its predicted latency at the rate (without the
	// headroom) is within the targets.
	Carries      bool `json:"carries_traffic"`
	MeetsTargets bool `json:"meets_targets_at_rate"`
	// Replacements sets every plan of the result against the fleet, in
	// the order of the per-chip table, then the cross-chip pairings.
	Replacements []Replacement `json:"replacements"`
	// Impact is the recommended plan against the fleet.
	Impact *Impact `json:"impact,omitempty"`
}

// Replacement is one plan against the baseline fleet.
type Replacement struct {
	Chip         string  `json:"chip"`
	PrefillChip  string  `json:"prefill_chip,omitempty"`
	Allowed      bool    `json:"allowed"`
	Chips        int     `json:"chips"`
	DeltaChips   int     `json:"delta_chips"`
	DeltaCost    float64 `json:"delta_cost_usd_per_hour"`
	CostRatio    float64 `json:"cost_ratio"` // plan / baseline
	DeltaPowerKW float64 `json:"delta_power_kw"`
}

// fleet is the baseline's best way to run its chips.
type fleet struct {
	search   *chipSearch
	site     site
	in       *perf.Instance
	layout   fit.Layout
	weights  hardware.Precision
	kv       hardware.Precision
	replicas int
	capacity float64 // requests per second within the SLO, before headroom
	offline  float64 // requests per second with no latency target
}

// RunBaseline plans the request as Run does and sets every plan beside
// the baseline fleet. Without a rate in the request, the traffic is the
// most the fleet carries within the targets.
func RunBaseline(req Request, b Baseline) (*Result, error) {
	if b.Chip == nil || b.Count < 1 {
		return nil, fmt.Errorf("baseline %d × %v: want a positive count and a chip", b.Count, b.Chip)
	}
	if b.Engine == "" {
		b.Engine = req.Engine
	}
	if b.Engine == "" {
		b.Engine = perf.VLLM
	}
	// Validate with a stand-in rate, for the defaults, when none is given.
	probe := req
	fromBaseline := req.Traffic.RatePerS == 0
	if fromBaseline {
		probe.Traffic.RatePerS = 1
	}
	if err := probe.validate(); err != nil {
		return nil, err
	}
	f, err := probe.fleet(b)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%d × %s", b.Count, b.Chip.ID)
	if fromBaseline {
		if f.capacity <= 0 {
			return nil, fmt.Errorf("baseline %s: no batch meets the targets at %s weights, so it carries no traffic; give --rate to compare at a rate", name, f.weights)
		}
		req.Traffic.RatePerS = f.capacity / (1 + probe.Headroom)
	}
	res, err := Run(req)
	if err != nil {
		return nil, err
	}
	probe.Traffic = req.Traffic
	br, err := probe.baseline(b, f)
	if err != nil {
		return nil, err
	}
	br.RateFromBaseline = fromBaseline
	compare(&probe, res, br)
	res.Baseline = br
	return res, nil
}

// fleet finds the instance shape (and precision) at which the fleet
// carries the most within the SLO.
func (req *Request) fleet(b Baseline) (*fleet, error) {
	c := b.Chip
	shapes := req.precisions(c)
	if b.Weights != "" {
		shapes = nil
		only := *req
		only.Precisions = []hardware.Precision{b.Weights}
		shapes = only.precisions(c)
		if len(shapes) == 0 {
			return nil, fmt.Errorf("baseline weights %s: %s does not run it (it runs %s)", b.Weights, c.ID, strings.Join(c.PrecisionNames(), ", "))
		}
	}
	nodes, err := nodesOf(req.Catalog, c)
	if err != nil {
		return nil, err
	}
	node := nodes[0] // the fleet sits in the chip's usual server
	hourly, estimate, err := req.Costs.ChipHourly(c, node)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	w := perf.Workload{InputTokens: req.Traffic.InputTokens, OutputTokens: req.Traffic.OutputTokens, PrefixHit: req.Traffic.PrefixHit}
	var best *fleet
	var last error // the largest shape that did not fit says why
	for _, sh := range shapes {
		for _, l := range layouts(c, node, req.Model) {
			if err := fit.CheckLayout(req.Model, l); err != nil {
				continue
			}
			in, err := perf.New(perf.Deployment{Model: req.Model, Chip: c, Node: node, Weights: sh.weights, KV: sh.kv,
				TP: l.TP, PP: l.PP, EP: l.EP, DP: l.DP, Engine: b.Engine}, req.Params)
			if err != nil {
				continue
			}
			n := int(math.Floor(float64(b.Count)/in.Chips() + 1e-9))
			if n < 1 {
				continue
			}
			off, err := perf.Serve(perf.Scenario{Mixed: in, MixedCount: n, Workload: w, Load: perf.Load{Kind: perf.Offline}})
			if err != nil {
				last = fmt.Errorf("%s at %s: %w", l, sh.weights, err)
				continue
			}
			cand := &fleet{in: in, layout: l, weights: sh.weights, kv: sh.kv, replicas: n, offline: off.OutputTPS / w.OutputTokens}
			cand.capacity = float64(n) * req.ladderRate(in, w, c)
			if best == nil || cand.capacity > best.capacity || cand.capacity == best.capacity && cand.offline > best.offline {
				best = cand
			}
		}
	}
	if best == nil {
		msg := fmt.Sprintf("baseline %d × %s: no instance shape of %s fits on %d chips", b.Count, c.ID, req.Model.ID, b.Count)
		if last != nil {
			msg += "; the largest tried, " + last.Error()
		}
		return nil, errors.New(msg)
	}
	best.search = &chipSearch{req: req, chip: c}
	best.site = site{node: node, hourly: hourly, estimate: estimate}
	return best, nil
}

// baseline evaluates the fleet at the traffic's rate: latency with its
// band, cost and power of every chip, and the simulator's check.
func (req *Request) baseline(b Baseline, f *fleet) (*BaselineResult, error) {
	w := perf.Workload{InputTokens: req.Traffic.InputTokens, OutputTokens: req.Traffic.OutputTokens, PrefixHit: req.Traffic.PrefixHit}
	pct := req.SLO.Percentile
	at := func(in *perf.Instance) (perf.Result, error) {
		return perf.Serve(perf.Scenario{Mixed: in, MixedCount: f.replicas, Workload: w, Load: perf.Load{Kind: perf.Rate, Rate: req.Traffic.RatePerS}})
	}
	r, err := at(f.in)
	if err != nil {
		return nil, fmt.Errorf("baseline %d × %s: %w", b.Count, b.Chip.ID, err)
	}
	hi, _ := at(f.in.Variant(-1))
	lo, _ := at(f.in.Variant(+1))
	s := f.search
	pl := &Plan{
		Chip: b.Chip.ID, Vendor: b.Chip.Vendor, Node: f.site.node.ID, Serving: Aggregated,
		Weights: string(f.weights), KVCache: string(f.kv), Layout: f.layout.String(), Devices: f.layout.Devices(),
		Replicas: f.replicas,
		TTFTS:    float64(r.TTFT.At(pct)), TPOTS: float64(r.TPOT.At(pct)),
		TTFTLowS: float64(lo.TTFT.At(pct)), TTFTHighS: float64(hi.TTFT.At(pct)),
		TPOTLowS: float64(lo.TPOT.At(pct)), TPOTHighS: float64(hi.TPOT.At(pct)),
		Binding: Binding{Limit: LimitFleet},
	}
	if p := r.Pool("mixed"); p != nil {
		pl.Batch, pl.Bound = p.Batch, dominant(p.Step)
	}
	// The band at the request's level, as every plan's, on the fleet's engine.
	r2 := *req
	r2.Engine = b.Engine
	r2.calibrate(pl, b.Chip, b.Chip)
	s.price(pl, float64(b.Count), f.site)
	pl.Policy = req.Policy.Decide(b.Chip).Action
	carries := f.capacity > 0 && req.Traffic.RatePerS*(1+req.Headroom) <= f.capacity*(1+1e-9) && !r.Saturated
	meets := !r.Saturated && (req.SLO.TTFTS == 0 || pl.TTFTS <= req.SLO.TTFTS) && (req.SLO.TPOTS == 0 || pl.TPOTS <= req.SLO.TPOTS)
	if req.Verify > 0 {
		s.instances = map[*Plan]*instancePair{}
		v, err := s.simulate(&instancePair{mixed: f.in, site: f.site}, f.replicas)
		if err != nil {
			v = &Verification{Note: "not simulated: " + err.Error()}
		}
		pl.Verified = v
	}
	return &BaselineResult{Chip: b.Chip.ID, Count: b.Count, Engine: string(b.Engine), Weights: string(f.weights),
		Plan: pl, CapacityPerS: f.capacity / (1 + req.Headroom), Headroom: req.Headroom, Carries: carries, MeetsTargets: meets}, nil
}

// compare sets every plan of res beside the fleet and words the answer.
func compare(req *Request, res *Result, br *BaselineResult) {
	base := br.Plan
	vs := func(p *Plan, allowed bool) Replacement {
		r := Replacement{Chip: p.Chip, PrefillChip: p.PrefillChip, Allowed: allowed, Chips: p.ChipsTotal,
			DeltaChips: p.ChipsTotal - base.ChipsTotal, DeltaCost: p.CostUSDPerHour - base.CostUSDPerHour,
			DeltaPowerKW: p.PowerKW - base.PowerKW}
		if base.CostUSDPerHour > 0 {
			r.CostRatio = p.CostUSDPerHour / base.CostUSDPerHour
		}
		return r
	}
	for _, c := range res.Chips {
		if c.Best != nil {
			br.Replacements = append(br.Replacements, vs(c.Best, c.allowed))
		}
	}
	for _, p := range res.CrossChip {
		br.Replacements = append(br.Replacements, vs(p, req.Policy.Decide(chipOf(req, p.Chip)).Allowed() && req.Policy.Decide(chipOf(req, p.PrefillChip)).Allowed()))
	}
	if rec := res.Recommended; rec != nil {
		br.Impact = impact(req.Policy, rec, base)
		br.Impact.Policy = res.Policy
	}
}

func chipOf(req *Request, id string) *hardware.Chip {
	c, err := req.Catalog.Chip(id)
	if err != nil {
		return &hardware.Chip{ID: id}
	}
	return c
}

// LimitFleet binds the baseline: its size is given, not sized for a load.
const LimitFleet Limit = "fleet"

// ladderRate is the most requests per second one instance serves within
// the SLO on the planner's batch ladder: the rule the screen sizes plans
// by, so that a fleet and a plan of the same shape agree on its capacity.
// With --confidence, the latency is taken at the band's pessimistic edge,
// as the screen does.
func (req *Request) ladderRate(in *perf.Instance, w perf.Workload, c *hardware.Chip) float64 {
	bmax, _, err := in.MaxBatch(w)
	if err != nil || bmax < 1 {
		return 0
	}
	ttftEdge, tpotEdge := req.edges(c, c)
	pct, best := req.SLO.Percentile, 0.0
	for i := range ladderPoints {
		p := in.At(w, ladder(i, bmax), 0)
		if req.SLO.TPOTS > 0 && float64(p.TPOT.At(pct))*tpotEdge > req.SLO.TPOTS {
			break // TPOT only grows with the batch
		}
		if req.SLO.TTFTS > 0 && float64(p.TTFT.At(pct))*ttftEdge > req.SLO.TTFTS {
			continue
		}
		best = max(best, p.Rate)
	}
	return best
}
