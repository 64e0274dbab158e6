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
		Objective: req.Objective, Costs: req.Costs, Rejected: map[Reason]int{},
	}
	if req.Bands != nil {
		res.BandLevel, res.Confidence = req.BandLevel, req.Confidence
	}
	res.Estimates = estimates(req)
	searches := make([]*chipSearch, len(chips))
	for i, c := range chips {
		s := &chipSearch{req: &req, chip: c, instances: map[*Plan]*instancePair{},
			res: &ChipResult{Chip: c.ID, Vendor: c.Vendor, Rejected: map[Reason]int{}}}
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
		if without == nil || req.better(c.Best, without.Best) {
			without = c
		}
		if c.allowed && (with == nil || req.better(c.Best, with.Best)) {
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
		return req.better(a.Best, b.Best)
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
	// The caller's callbacks are called one at a time.
	if stop := req.StopVerify; stop != nil {
		var smu sync.Mutex
		req.StopVerify = func() bool {
			smu.Lock()
			defer smu.Unlock()
			return stop()
		}
	}
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
	s.res.allowed, s.res.Decision = d.Allowed(), d
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
				if req.stopped() {
					break // interrupted: the rest stay unverified
				}
				if err := s.verify(pl); err != nil {
					return err
				}
			}
			sort.SliceStable(s.plans, func(i, j int) bool { return req.better(s.plans[i], s.plans[j]) })
		}
	}
	if len(s.plans) > 0 {
		s.res.Best = s.plans[0]
		s.res.Best.Policy = d.Action
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

// better reports whether plan a ranks before plan b, lexicographically: a
// plan the simulator verified (or did not try) before one that failed
// verification; then the objective (cost, chips or power); then the other
// of cost and chips; then the faster TPOT; then the faster TTFT. Ties (the
// same chips at two precisions, say) thus go to the faster plan, and no
// key can outweigh the one before it.
func (req *Request) better(a, b *Plan) bool {
	if fa, fb := failedVerification(a), failedVerification(b); fa != fb {
		return fb
	}
	primary := func(p *Plan) []float64 {
		switch req.Objective {
		case MinChips:
			return []float64{float64(p.ChipsTotal), p.CostUSDPerHour}
		case MinPower:
			return []float64{p.PowerKW, p.CostUSDPerHour}
		}
		return []float64{p.CostUSDPerHour, float64(p.ChipsTotal)}
	}
	ka := append(primary(a), a.TPOTS, a.TTFTS)
	kb := append(primary(b), b.TPOTS, b.TTFTS)
	for i := range ka {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return false
}

func failedVerification(p *Plan) bool { return p.Verified != nil && !p.Verified.Meets }

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

// why gives the reason for the answer: the recommended plan's runner-up,
// caution and review; or, when there is none, whether the policy allows
// nothing or, if it allows chips, the filter their candidates stopped at
// and the nearest miss.
func why(req *Request, res *Result, with, without *ChipResult, searches []*chipSearch) Why {
	w := Why{Objective: req.Objective, Policy: req.Policy.ID(), Chips: len(searches)}
	if with != nil {
		w.Kind = WhyRecommended
		w.RunnerUp = runnerUp(res, with)
		if c, err := req.Catalog.Chip(with.Best.Chip); err == nil && estimated(c) {
			w.EstimatedSpecs = true
		}
		if d := with.Decision; d.Action == policy.Review && d.Rule != nil {
			w.Review = d.Rule
		}
		return w
	}
	allowed := 0
	for _, s := range searches {
		if s.res.allowed {
			allowed++
		}
	}
	if allowed == 0 {
		w.Kind = WhyPolicyDenies
		if without != nil {
			w.Without = without.Best
		}
		return w
	}
	// Nothing allowed passes: the binding constraint is the last filter
	// the candidates reached, and the nearest miss the closest of them.
	w.Kind = WhyNothingMeets
	counts := map[Reason]int{}
	for _, s := range searches {
		if !s.res.allowed {
			continue
		}
		for k, v := range s.res.Rejected {
			counts[k] += v
		}
		if n := s.res.Nearest; n != nil && closer(n, w.Nearest) {
			w.Nearest = n
		}
	}
	for k := range counts {
		if w.Binding == "" || stage[k] > stage[w.Binding] {
			w.Binding = k
		}
	}
	if w.Nearest != nil {
		w.Binding = w.Nearest.Reason
	}
	w.Count = counts[w.Binding]
	if without != nil && !without.allowed {
		w.Without = without.Best
	}
	return w
}

func runnerUp(res *Result, best *ChipResult) *Plan {
	for _, c := range res.Chips {
		if c != best && c.Best != nil && c.allowed {
			return c.Best
		}
	}
	return nil
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
