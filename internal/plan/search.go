package plan

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"ersatz/internal/fit"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
)

// DefaultHeadroom is the spare capacity a plan keeps over the mean rate.
const DefaultHeadroom = 0.2

// ladderPoints is how many decode batches the screen tries per instance
// shape, geometrically spaced from 1 to the largest that fits.
const ladderPoints = 24

// maxInstanceDevices bounds one instance: wide expert parallelism beyond
// this is a different kind of deployment (DeepSeek's 144-GPU decode units)
// that the planner does not propose.
const maxInstanceDevices = 64

// validate checks the request and fills defaults.
func (req *Request) validate() error {
	switch {
	case req.Model == nil:
		return errors.New("plan: no model")
	case req.Catalog == nil:
		return errors.New("plan: no catalog")
	case !(req.Traffic.RatePerS > 0) || math.IsInf(req.Traffic.RatePerS, 0):
		return fmt.Errorf("rate %g: want a positive request rate", req.Traffic.RatePerS)
	case !(req.Traffic.InputTokens >= 1):
		return fmt.Errorf("input tokens %g: want at least 1", req.Traffic.InputTokens)
	case !(req.Traffic.OutputTokens >= 1):
		return fmt.Errorf("output tokens %g: want at least 1", req.Traffic.OutputTokens)
	case req.Traffic.PrefixHit < 0 || req.Traffic.PrefixHit >= 1:
		return fmt.Errorf("prefix cache hit %g: want a fraction in [0, 1)", req.Traffic.PrefixHit)
	case req.SLO.TTFTS <= 0 && req.SLO.TPOTS <= 0:
		return errors.New("no latency target: give a TTFT or a TPOT target (e.g. --ttft-p90 2s --tpot-p90 50ms)")
	case req.SLO.TTFTS < 0 || req.SLO.TPOTS < 0:
		return errors.New("latency targets must be positive")
	case req.Headroom < 0 || req.Headroom > 10:
		return fmt.Errorf("headroom %g: want a fraction in [0, 10]", req.Headroom)
	case req.BudgetUSDPerHour < 0:
		return fmt.Errorf("budget %g: want a non-negative $/hour", req.BudgetUSDPerHour)
	}
	switch req.SLO.Percentile {
	case 0:
		req.SLO.Percentile = 90
	case 50, 90, 99:
	default:
		return fmt.Errorf("percentile %g: want 50, 90 or 99", req.SLO.Percentile)
	}
	switch req.Objective {
	case "":
		req.Objective = MinCost
	case MinCost, MinChips, MinPower:
	default:
		return fmt.Errorf("objective %q: want cost, chips or power", req.Objective)
	}
	if req.Costs == (Costs{}) {
		req.Costs = DefaultCosts
	}
	if err := req.Costs.Validate(); err != nil {
		return err
	}
	if req.Params == nil {
		req.Params = perf.DefaultParams()
	}
	if req.Engine == "" {
		req.Engine = perf.VLLM
	}
	if req.VerifyRequests == 0 {
		req.VerifyRequests = 2000
	}
	if req.BandLevel == 0 {
		req.BandLevel = 0.8
	}
	if !(req.BandLevel > 0 && req.BandLevel < 1) || !(req.Confidence >= 0 && req.Confidence < 1) {
		return fmt.Errorf("band level %g, confidence %g: want levels in (0, 1)", req.BandLevel, req.Confidence)
	}
	return nil
}

// shape is one instance layout at one precision.
type shape struct {
	layout  fit.Layout
	weights hardware.Precision
	kv      hardware.Precision
}

// precisions returns the weight precisions to try on c, each with the
// request's KV-cache precision (perf's default unless asked).
func (req *Request) precisions(c *hardware.Chip) []shape {
	sixteen := hardware.BF16
	if !c.Runs(hardware.BF16) {
		sixteen = hardware.FP16
	}
	want := req.Precisions
	if len(want) == 0 {
		want = []hardware.Precision{hardware.BF16, hardware.FP8, hardware.INT8, hardware.FP4}
	}
	var out []shape
	seen := map[hardware.Precision]bool{}
	for _, p := range want {
		if p == hardware.BF16 || p == hardware.FP16 {
			p = sixteen
		}
		runs := c.Runs(p) || p == hardware.INT4 && (c.Runs(hardware.INT8) || c.Runs(sixteen))
		// A 4-bit checkpoint also runs weight-only where the chip lacks
		// 4-bit compute (model.CheckpointPrecision).
		runs = runs || model.WeightOnly(p, c) && req.Model.CheckpointPrecision(c) == p
		if !runs || seen[p] {
			continue
		}
		// int8 is tried only where the chip has no fp8: where it has
		// both, fp8 serves the same purpose with less quality risk.
		if p == hardware.INT8 && c.Runs(hardware.FP8) && len(req.Precisions) == 0 {
			continue
		}
		seen[p] = true
		kv := req.KV
		if kv == "" {
			kv = perf.DefaultKV(c)
		}
		out = append(out, shape{weights: p, kv: kv})
	}
	return out
}

// layouts enumerates instance shapes for m on c in node: devices in powers
// of two up to the node's scale-up domain (a pipeline may span up to 4
// domains), tensor parallelism inside the domain, and for MoE models expert
// parallelism and attention data parallelism as wide as the tensor group.
// A mixture of experts may also spread wider than the domain with data-
// parallel attention, its all-to-all crossing the scale-out network, as
// wide-EP deployments do.
func layouts(c *hardware.Chip, node *hardware.Node, m *model.Model) []fit.Layout {
	dies := c.EngineDevices()
	domain := 8 * dies
	if node != nil {
		domain = node.ScaleUpDomain * dies
	}
	var out []fit.Layout
	for tp := dies; tp <= maxInstanceDevices; tp *= 2 {
		if tp > domain {
			if m.MoE() {
				out = append(out, fit.Layout{TP: tp, PP: 1, EP: tp, DP: tp})
			}
			continue
		}
		for _, pp := range []int{1, 2, 4} {
			if tp*pp > maxInstanceDevices || (pp > 1 && tp < min(domain, maxInstanceDevices)) {
				continue // pipelines only once tensor parallelism fills the domain
			}
			out = append(out, fit.Layout{TP: tp, PP: pp, EP: 1, DP: 1})
			if m.MoE() && tp > 1 {
				out = append(out, fit.Layout{TP: tp, PP: pp, EP: tp, DP: 1}, fit.Layout{TP: tp, PP: pp, EP: tp, DP: tp})
			}
		}
	}
	if w := wideEP(m, dies); w > maxInstanceDevices && w <= domain {
		out = append(out, fit.Layout{TP: w, PP: 1, EP: w, DP: w})
	}
	return out
}

// wideEP is the device count of a supernode-wide expert-parallel instance:
// one routed expert per device plus an eighth more for shared-expert
// replicas and an eighth for redundant copies of hot experts, rounded up
// to whole chips. It is the shape of CloudMatrix-Infer's decode (arXiv
// 2506.12708: EP320 for DeepSeek's 256 experts, 32 shared, 32 redundant).
func wideEP(m *model.Model, dies int) int {
	if !m.MoE() {
		return 0
	}
	n := m.Experts + m.Experts/4
	return (n + dies - 1) / dies * dies
}

// chipSearch is the state of one chip's search.
type chipSearch struct {
	req        *Request
	chip       *hardware.Chip
	nodes      []*hardware.Node // every node that holds the chip
	res        *ChipResult
	candidates int
	plans      []*Plan
	// The chip's most cost-effective prefill and decode pools, for plans
	// that disaggregate across chips.
	bestPre, bestDec *pool
	instances        map[*Plan]*instancePair
	// ttftEdge and tpotEdge move a point latency to the pessimistic edge
	// of its residual spread at the request's confidence (1: none).
	ttftEdge, tpotEdge float64
}

// site is where a candidate is placed: a node that holds the chip, and the
// chip's price there. The search passes it down; no search state holds it.
type site struct {
	node     *hardware.Node
	hourly   float64 // USD per chip-hour
	estimate bool    // the price is an estimate
}

// instancePair keeps the perf instances behind a plan for verification.
type instancePair struct {
	mixed, prefill  *perf.Instance
	prefillReplicas int
	site            site // an aggregated plan's placement and price
	// Disaggregated plans: the pools, for pricing them apart.
	pre, decode *pool
}

// closer reports whether rejection a came nearer to passing than b.
func closer(a, b *Rejection) bool {
	if b == nil {
		return true
	}
	if stage[a.Reason] != stage[b.Reason] {
		return stage[a.Reason] > stage[b.Reason]
	}
	return a.Miss < b.Miss
}

func (s *chipSearch) reject(reason Reason, detail string, miss float64) {
	s.res.Rejected[reason]++
	r := &Rejection{Chip: s.chip.ID, Reason: reason, Detail: detail, Miss: miss}
	if miss > 0 && closer(r, s.res.Nearest) {
		s.res.Nearest = r
	}
}

func (s *chipSearch) run() {
	req := s.req
	w := perf.Workload{InputTokens: req.Traffic.InputTokens, OutputTokens: req.Traffic.OutputTokens, PrefixHit: req.Traffic.PrefixHit}
	shapes := req.precisions(s.chip)
	if len(shapes) == 0 {
		s.reject(ReasonPrecision, fmt.Sprintf("%s runs none of the precisions asked (it runs %s)", s.chip.ID, strings.Join(s.chip.PrecisionNames(), ", ")), 0)
		return
	}
	for _, node := range s.nodes {
		at := site{node: node}
		var err error
		if at.hourly, at.estimate, err = req.Costs.ChipHourly(s.chip, node); err != nil {
			s.reject(ReasonCost, err.Error(), 0)
			continue
		}
		for _, sh := range shapes {
			var fitting []placed
			for _, l := range layouts(s.chip, node, req.Model) {
				s.candidates++
				if err := fit.CheckLayout(req.Model, l); err != nil {
					s.reject(ReasonLayout, err.Error(), 0)
					continue
				}
				in, err := perf.New(perf.Deployment{
					Model: req.Model, Chip: s.chip, Node: node,
					Weights: sh.weights, KV: sh.kv, MemoryUtilization: req.MemoryUtilization,
					TP: l.TP, PP: l.PP, EP: l.EP, DP: l.DP, Engine: req.Engine,
				}, req.Params)
				if err != nil {
					s.reject(ReasonPrecision, err.Error(), 0)
					continue
				}
				if s.screen(in, sh, l, w, at) {
					fitting = append(fitting, placed{in, l})
				}
			}
			s.disaggregate(fitting, sh, w, at)
		}
	}
	sort.SliceStable(s.plans, func(i, j int) bool { return req.better(s.plans[i], s.plans[j]) })
}

// screen walks the batch ladder of one instance shape and keeps the plan
// at the batch with the most throughput that meets the SLO. It reports
// whether the shape fits at all.
func (s *chipSearch) screen(in *perf.Instance, sh shape, l fit.Layout, w perf.Workload, at site) bool {
	req := s.req
	bmax, limit, err := in.MaxBatch(w)
	if err != nil || bmax < 1 {
		miss := 0.0
		if cp, cerr := in.Capacity(int(w.InputTokens + w.OutputTokens)); cerr == nil && cp.Fit.Usable > 0 {
			miss = float64(cp.Fit.Weights+cp.Fit.Activations+cp.Fit.Runtime) / float64(cp.Fit.Usable)
		}
		detail := fmt.Sprintf("%s %s at %s", l, sh.weights, errText(err, limit))
		s.reject(ReasonFit, detail, miss)
		return false
	}
	pct := req.SLO.Percentile
	var best perf.Point
	found := false
	binding := Binding{Limit: Limit(limit)}
	for i := 0; i < ladderPoints; i++ {
		b := ladder(i, bmax)
		if i > 0 && b <= ladder(i-1, bmax) {
			continue
		}
		s.candidates++
		p := in.At(w, b, 0)
		tpot, ttft := float64(p.TPOT.At(pct))*s.tpotEdge, float64(p.TTFT.At(pct))*s.ttftEdge
		if req.SLO.TPOTS > 0 && tpot > req.SLO.TPOTS {
			s.reject(ReasonTPOT, fmt.Sprintf("%s %s batch %.0f: TPOT p%g %.1f ms > %.1f ms", l, sh.weights, b, pct, tpot*1e3, req.SLO.TPOTS*1e3), tpot/req.SLO.TPOTS)
			binding = Binding{Limit: LimitTPOT, Percentile: pct, TargetS: req.SLO.TPOTS}
			break // TPOT only grows with the batch
		}
		if req.SLO.TTFTS > 0 && ttft > req.SLO.TTFTS {
			s.reject(ReasonTTFT, fmt.Sprintf("%s %s batch %.0f: TTFT p%g %.0f ms > %.0f ms", l, sh.weights, b, pct, ttft*1e3, req.SLO.TTFTS*1e3), ttft/req.SLO.TTFTS)
			binding = Binding{Limit: LimitTTFT, Percentile: pct, TargetS: req.SLO.TTFTS}
			continue // a larger batch may still meet TTFT once prefill chunks grow
		}
		if !found || p.Rate > best.Rate {
			best, found = p, true
			binding = Binding{Limit: Limit(limit)}
		}
	}
	if !found {
		return true
	}
	pl := s.planFor(in, sh, l, w, best, binding, at)
	if pl != nil {
		s.plans = append(s.plans, pl)
		s.instances[pl] = &instancePair{mixed: in, site: at}
	}
	return true
}

// ladder is the i-th of ladderPoints batches from 1 to bmax, geometric.
func ladder(i int, bmax float64) float64 {
	if i == ladderPoints-1 {
		return math.Floor(bmax)
	}
	return math.Max(1, math.Floor(math.Pow(bmax, float64(i)/float64(ladderPoints-1))))
}

func errText(err error, limit string) string {
	if err != nil {
		return err.Error()
	}
	return limit
}

// planFor sizes the replicas for the traffic and prices the plan.
func (s *chipSearch) planFor(in *perf.Instance, sh shape, l fit.Layout, w perf.Workload, best perf.Point, binding Binding, place site) *Plan {
	req := s.req
	need := req.Traffic.RatePerS * (1 + req.Headroom)
	// Sized in floating point first: an absurd rate must not overflow the
	// replica count.
	if chips := math.Ceil(need/best.Rate-1e-9) * in.Chips(); chips > float64(req.maxChips()) {
		s.reject(ReasonScale, fmt.Sprintf("%s %s: %.3g chips for %.3g req/s > %d (--max-chips)", l, sh.weights, chips, req.Traffic.RatePerS, req.maxChips()), chips/float64(req.maxChips()))
		return nil
	}
	replicas := int(math.Ceil(need/best.Rate - 1e-9))
	replicas = max(replicas, 1)
	// The latency at the planned load: each replica gets rate/replicas.
	per := req.Traffic.RatePerS / float64(replicas)
	at := func(v *perf.Instance) (ttft, tpot, batch float64) {
		r, err := perf.Serve(perf.Scenario{Mixed: v, MixedCount: 1, Workload: w, Load: perf.Load{Kind: perf.Rate, Rate: per}})
		if err != nil || r.Saturated {
			p := v.At(w, best.Batch, 0)
			return float64(p.TTFT.At(req.SLO.Percentile)), float64(p.TPOT.At(req.SLO.Percentile)), best.Batch
		}
		b := 0.0
		if pool := r.Pool(perf.Mixed); pool != nil {
			b = pool.Batch
		}
		return float64(r.TTFT.At(req.SLO.Percentile)), float64(r.TPOT.At(req.SLO.Percentile)), b
	}
	ttft, tpot, batch := at(in)
	ttftHi, tpotHi, _ := at(in.Variant(-1))
	ttftLo, tpotLo, _ := at(in.Variant(+1))
	chipsPer := in.Chips()
	pl := &Plan{
		Chip: s.chip.ID, Vendor: s.chip.Vendor, Node: place.node.ID, Serving: Aggregated,
		Weights: string(sh.weights), KVCache: string(sh.kv), Layout: l.String(), Devices: l.Devices(),
		Replicas: replicas, Batch: batch,
		TTFTS: ttft, TPOTS: tpot, TTFTLowS: ttftLo, TTFTHighS: ttftHi, TPOTLowS: tpotLo, TPOTHighS: tpotHi,
		Binding: binding, Bound: dominant(best.Step),
	}
	pl.KVTokens = kvTokens(in)
	if ok, reason, detail, miss := req.calibrate(pl, s.chip, s.chip); !ok {
		s.reject(reason, detail, miss)
		return nil
	}
	s.price(pl, float64(replicas)*chipsPer, place)
	if req.BudgetUSDPerHour > 0 && pl.CostUSDPerHour > req.BudgetUSDPerHour {
		s.reject(ReasonBudget, fmt.Sprintf("%s %s: $%.0f/h > budget $%.0f/h", l, sh.weights, pl.CostUSDPerHour, req.BudgetUSDPerHour), pl.CostUSDPerHour/req.BudgetUSDPerHour)
		return nil
	}
	return pl
}

// price fills chips, nodes, power and cost of a plan on this
// search's chip and node.
func (s *chipSearch) price(pl *Plan, chips float64, at site) {
	req := s.req
	pl.ChipsTotal = int(math.Ceil(chips - 1e-9))
	pl.Nodes = int(math.Ceil(float64(pl.ChipsTotal) / float64(max(at.node.ChipsPerNode, 1))))
	pl.PowerKW = req.Costs.ChipPower(s.chip, at.node) * float64(pl.ChipsTotal) / 1000
	pl.CostUSDPerHour = at.hourly * float64(pl.ChipsTotal)
	pl.CostIsEstimate = at.estimate
	finish(req, pl)
}

// finish derives the per-chip and per-token figures.
func finish(req *Request, pl *Plan) {
	out := req.Traffic.RatePerS * req.Traffic.OutputTokens
	pl.OutputTPSPerChip = out / float64(pl.ChipsTotal)
	if out > 0 {
		pl.USDPerMTokens = pl.CostUSDPerHour / (out * 3600 / 1e6)
	}
}

// dominant names the largest part of a step and its bound.
func dominant(st perf.Step) Bound {
	parts := []struct {
		name string
		p    perf.Part
	}{
		{"projections", st.Projections}, {"FFN", st.FFN}, {"experts", st.Experts}, {"attention", st.Attention},
		{"elementwise", st.Elementwise}, {"LM head", st.LMHead}, {"draft", st.Draft},
		{"TP all-reduce", st.TPComm}, {"EP all-to-all", st.EPComm}, {"PP transfer", st.PPComm}, {"overhead", st.Overhead},
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].p.Seconds > parts[j].p.Seconds })
	if st.Total <= 0 {
		return Bound{}
	}
	top := parts[0]
	return Bound{Part: top.name, Share: float64(top.p.Seconds) / float64(st.Total), Kind: top.p.Bound}
}

// kvTokens is an instance's KV capacity; 0 if it cannot be sized (the
// screen has already checked that it fits).
func kvTokens(in *perf.Instance) int {
	cp, err := in.Capacity(1)
	if err != nil {
		return 0
	}
	return cp.KVTokens
}

func (req *Request) maxChips() int {
	if req.MaxChips > 0 {
		return req.MaxChips
	}
	return DefaultMaxChips
}
