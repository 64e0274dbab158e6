package plan

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"ersatz/internal/hardware"
	"ersatz/internal/policy"
)

// Run answers a planning request.
func Run(req Request) (*Result, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	chips := req.Chips
	if len(chips) == 0 {
		chips = req.Catalog.Chips
	}
	res := &Result{
		Model: req.Model.ID, Traffic: req.Traffic, SLO: req.SLO, Policy: req.Policy.ID(),
		Objective: req.Objective, Costs: req.Costs, Rejected: map[string]int{},
	}
	if req.Bands != nil {
		res.BandLevel, res.Confidence = req.BandLevel, req.Confidence
	}
	res.Estimates = estimates(req)
	searches := make([]*chipSearch, len(chips))
	for i, c := range chips {
		s := &chipSearch{req: &req, chip: c, instances: map[*Plan]*instancePair{},
			res: &ChipResult{Chip: c.ID, Vendor: c.Vendor, Rejected: map[string]int{}}}
		s.ttftEdge, s.tpotEdge = req.edges(c, c)
		searches[i] = s
		res.Chips = append(res.Chips, s.res)
	}
	if err := searchAll(&req, searches); err != nil {
		return nil, err
	}
	for _, s := range searches {
		res.Candidates += s.candidates
		for k, v := range s.res.Rejected {
			res.Rejected[k] += v
		}
		if !s.res.allowed {
			res.Rejected[ReasonPolicy]++
		}
	}
	cross, err := crossChip(&req, searches)
	if err != nil {
		return nil, err
	}
	candidates := make([]*ChipResult, 0, len(searches)+len(cross))
	for _, s := range searches {
		candidates = append(candidates, s.res)
	}
	for _, c := range cross {
		candidates = append(candidates, c)
		res.CrossChip = append(res.CrossChip, c.Best)
	}
	var with, without *ChipResult
	for _, c := range candidates {
		if c.Best == nil {
			continue
		}
		if without == nil || rank(c.Best) < rank(without.Best) {
			without = c
		}
		if c.allowed && (with == nil || rank(c.Best) < rank(with.Best)) {
			with = c
		}
	}
	sort.SliceStable(res.Chips, func(i, j int) bool {
		a, b := res.Chips[i], res.Chips[j]
		if (a.Best == nil) != (b.Best == nil) {
			return a.Best != nil
		}
		if a.Best == nil {
			return a.Chip < b.Chip
		}
		return rank(a.Best) < rank(b.Best)
	})
	if with != nil {
		res.Recommended = with.Best
	}
	if with != nil && without != nil && len(req.Policy) > 0 && req.Policy.ID() != "none" {
		res.Impact = impact(req.Policy, with.Best, without.Best)
	}
	res.Why = why(&req, res, with, without, searches)
	return res, nil
}

// searchAll runs each chip's search, and the verification of its best
// plans, on as many goroutines as the process may run at once: the searches
// share nothing but the read-only request, and each writes only its own
// chipSearch, so the result does not depend on the order they finish in.
func searchAll(req *Request, searches []*chipSearch) error {
	workers := min(runtime.GOMAXPROCS(0), len(searches))
	next := make(chan *chipSearch)
	errs := make([]error, len(searches))
	index := make(map[*chipSearch]int, len(searches))
	for i, s := range searches {
		index[s] = i
	}
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for s := range next {
				err := s.search()
				mu.Lock()
				errs[index[s]] = err
				done++
				if req.Progress != nil {
					req.Progress(done, len(searches))
				}
				mu.Unlock()
			}
		})
	}
	for _, s := range searches {
		next <- s
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// search screens one chip's candidates and verifies its best plans.
func (s *chipSearch) search() error {
	req, c := s.req, s.chip
	d := req.Policy.Decide(c)
	s.res.allowed = d.Allowed()
	s.res.Decision = d.String()
	switch {
	case c.Status != "shipping" && !req.IncludeRoadmap:
		s.reject(ReasonRoadmap, fmt.Sprintf("%s is announced for %s", c.ID, c.Launch), 0)
	default:
		nodes, err := nodesOf(req.Catalog, c)
		if err != nil {
			return err
		}
		s.nodes = nodes
		s.run()
		if req.Verify > 0 {
			for _, pl := range s.plans[:min(req.Verify, len(s.plans))] {
				if err := s.verify(pl); err != nil {
					return err
				}
			}
			sort.SliceStable(s.plans, func(i, j int) bool { return rank(s.plans[i]) < rank(s.plans[j]) })
		}
	}
	if len(s.plans) > 0 {
		s.res.Best = s.plans[0]
		s.res.Best.Policy = string(d.Action)
		for _, o := range s.plans[1:min(4, len(s.plans))] {
			s.res.Others = append(s.res.Others, o)
		}
	}
	return nil
}

// estimated reports whether the chip's core performance figures (peak
// rates, memory capacity or bandwidth) are only estimates.
func estimated(c *hardware.Chip) bool {
	for name, v := range c.Values() {
		core := strings.HasPrefix(name, "dense_tflops.") || name == "memory_gb" || name == "memory_tbps"
		if core && v.Confidence == hardware.Estimate {
			return true
		}
	}
	return false
}

// nodesOf returns the chip's default node first, then every other node
// that lists it (a 910C ships in Atlas 800 A3 servers and in the
// CloudMatrix384 supernode).
func nodesOf(cat *hardware.Catalog, c *hardware.Chip) ([]*hardware.Node, error) {
	def, err := cat.NodeOf(c)
	if err != nil {
		return nil, err
	}
	out := []*hardware.Node{def}
	for _, n := range cat.Nodes {
		if n == def {
			continue
		}
		for _, id := range n.Chips {
			if strings.EqualFold(id, c.ID) {
				out = append(out, n)
				break
			}
		}
	}
	return out, nil
}

// rank orders plans: verified plans that meet the SLO first, then by score.
func rank(p *Plan) float64 {
	if p.Verified != nil && !p.Verified.Meets {
		return p.score + 1e12
	}
	return p.score
}

func impact(set policy.Set, with, without *Plan) *Impact {
	im := &Impact{Policy: set.ID(), With: with, Without: without,
		DeltaChips:   with.ChipsTotal - without.ChipsTotal,
		DeltaCost:    with.CostUSDPerHour - without.CostUSDPerHour,
		DeltaPowerKW: with.PowerKW - without.PowerKW,
		DeltaTTFTS:   with.TTFTS - without.TTFTS,
		DeltaTPOTS:   with.TPOTS - without.TPOTS,
	}
	if without.CostUSDPerHour > 0 {
		im.CostRatio = with.CostUSDPerHour / without.CostUSDPerHour
	}
	return im
}

// why explains the recommendation, or names the binding constraint and the
// nearest miss when there is none.
func why(req *Request, res *Result, with, without *ChipResult, searches []*chipSearch) string {
	if with != nil {
		p := with.Best
		var b strings.Builder
		shape := fmt.Sprintf("%d × %s", p.Replicas, p.Layout)
		if p.Serving == "disaggregated" {
			shape = fmt.Sprintf("%d prefill × %s + %d decode × %s", p.PrefillReplicas, p.PrefillLayout, p.Replicas, p.Layout)
		}
		if p.PrefillChip != "" {
			shape = fmt.Sprintf("%d prefill × %s on %s at %s + %d decode × %s on %s", p.PrefillReplicas, p.PrefillLayout, p.PrefillChip, p.PrefillWeights, p.Replicas, p.Layout, p.Chip)
		}
		fmt.Fprintf(&b, "%s is the %s plan the policy allows: %d chip%s (%s, %s) at $%.3g/h",
			with.Chip, objectiveWord(req.Objective), p.ChipsTotal, plural(p.ChipsTotal), shape, p.Weights, p.CostUSDPerHour)
		if next := runnerUp(res, with); next != nil {
			fmt.Fprintf(&b, " against $%.3g/h for the next chip, %s", next.CostUSDPerHour, next.Chip)
		}
		fmt.Fprintf(&b, ". Each instance is bound by %s; its step is dominated by %s.", p.Binding, p.Bound)
		if c, err := req.Catalog.Chip(p.Chip); err == nil && estimated(c) {
			fmt.Fprintf(&b, " Caution: %s's performance figures are estimates without a primary source, so its latency band is wide (TPOT %.3g–%.3g ms).",
				p.Chip, p.TPOTLowS*1e3, p.TPOTHighS*1e3)
		}
		if strings.Contains(with.Decision, ": review:") {
			fmt.Fprintf(&b, " Its purchase needs review (%s).", strings.SplitN(with.Decision, ": review: ", 2)[1])
		}
		return b.String()
	}
	allowed := 0
	for _, s := range searches {
		if s.res.allowed {
			allowed++
		}
	}
	if allowed == 0 {
		msg := fmt.Sprintf("policy %s allows none of the %d candidate chips", req.Policy.ID(), len(searches))
		if without != nil {
			msg += fmt.Sprintf("; without it the best plan is %d × %s at $%.3g/h", without.Best.ChipsTotal, without.Best.Chip, without.Best.CostUSDPerHour)
		}
		return msg + "."
	}
	// Nothing allowed passes: the binding constraint is the last filter
	// the candidates reached, and the nearest miss the closest of them.
	var nearest *Rejection
	counts := map[string]int{}
	for _, s := range searches {
		if !s.res.allowed {
			continue
		}
		for k, v := range s.res.Rejected {
			counts[k] += v
		}
		if n := s.res.Nearest; n != nil && closer(n, nearest) {
			nearest = n
		}
	}
	top := ""
	for k := range counts {
		if top == "" || stage[k] > stage[top] {
			top = k
		}
	}
	if nearest != nil {
		top = nearest.Reason
	}
	msg := fmt.Sprintf("no allowed chip meets the target; the binding constraint is %q (%d candidates)", top, counts[top])
	if nearest != nil {
		msg += fmt.Sprintf("; nearest miss: %s, %s (%.0f%% over)", nearest.Chip, nearest.Detail, (nearest.Miss-1)*100)
	}
	if without != nil && !without.allowed {
		msg += fmt.Sprintf("; without the policy, %d × %s would do it at $%.3g/h", without.Best.ChipsTotal, without.Best.Chip, without.Best.CostUSDPerHour)
	}
	return msg + "."
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func runnerUp(res *Result, best *ChipResult) *Plan {
	for _, c := range res.Chips {
		if c != best && c.Best != nil && c.allowed {
			return c.Best
		}
	}
	return nil
}

func objectiveWord(o Objective) string {
	switch o {
	case MinChips:
		return "fewest-chip"
	case MinPower:
		return "lowest-power"
	}
	return "cheapest"
}

// estimates lists the assumptions the output must flag.
func estimates(req Request) []string {
	c := req.Costs
	out := []string{
		fmt.Sprintf("cost basis %q: chip prices and rents in the catalog are estimates", c.Basis),
	}
	if c.Basis == "own" {
		out = append(out, fmt.Sprintf("amortization %.0f years, server and network +%.0f%% of chip price, electricity $%.3f/kWh, PUE %.2f, chips at %.0f%% of rated power (defaults are estimates; see docs/plan.md)",
			c.AmortizationYears, c.ServerOverhead*100, c.ElectricityUSDPerKWh, c.PUE, c.Utilization*100))
	}
	out = append(out, fmt.Sprintf("headroom %.0f%% over the mean rate", req.Headroom*100))
	return out
}
