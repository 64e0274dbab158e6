package plan

import (
	"sort"

	"ersatz/internal/policy"

	"ersatz/internal/perf"
)

// crossKeep is how many cross-chip plans the result keeps (the best one
// the policy allows is kept besides).
const crossKeep = 5

// crossChip pairs each chip's most cost-effective prefill pool with every
// other chip's most cost-effective decode pool — prefill is compute-bound
// and decode bandwidth-bound, so the best chip for each need not be the
// same (Huawei's 950PR and 950DT are built for exactly this split) — and
// returns the best pairings. Pools pair within one vendor unless
// req.CrossVendor: moving a KV cache between two vendors' serving stacks
// is not something today's engines do, so such plans are opt-in. It
// returns the best pairings as pseudo chip results (allowed only
// when the policy allows both chips), the top ones verified by simulation.
func crossChip(req *Request, searches []*chipSearch) ([]*ChipResult, error) {
	w := perf.Workload{InputTokens: req.Traffic.InputTokens, OutputTokens: req.Traffic.OutputTokens, PrefixHit: req.Traffic.PrefixHit}
	var out []*ChipResult
	for _, p := range searches {
		if p.bestPre == nil {
			continue
		}
		for _, d := range searches {
			if d == p || d.bestDec == nil || p.chip.Vendor != d.chip.Vendor && !req.CrossVendor {
				continue
			}
			noop := func(Reason, string, float64) {}
			pl, pair := sizeDisagg(req, p.bestPre, d.bestDec, w, noop)
			if pl == nil || req.BudgetUSDPerHour > 0 && pl.CostUSDPerHour > req.BudgetUSDPerHour {
				continue
			}
			// A pairing is as allowed as the stricter of its two chips.
			decision := d.res.Decision
			if stricter(p.res.Decision.Action, decision.Action) {
				decision = p.res.Decision
			}
			pl.Policy = decision.Action
			d.instances[pl] = pair
			out = append(out, &ChipResult{
				Chip: p.chip.ID + "→" + d.chip.ID, Vendor: p.chip.Vendor + "+" + d.chip.Vendor,
				Decision: decision, Best: pl, Rejected: map[Reason]int{},
				allowed: p.res.allowed && d.res.allowed, verifier: d,
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return req.better(out[i].Best, out[j].Best) })
	// Keep the best few, and the best the policy allows.
	var kept []*ChipResult
	allowedKept := false
	for _, c := range out {
		if len(kept) < crossKeep || c.allowed && !allowedKept {
			kept = append(kept, c)
			allowedKept = allowedKept || c.allowed
		}
	}
	if req.Verify > 0 {
		for _, c := range kept {
			if req.stopped() {
				break
			}
			if err := c.verifier.verify(c.Best); err != nil {
				return nil, err
			}
		}
		sort.SliceStable(kept, func(i, j int) bool { return req.better(kept[i].Best, kept[j].Best) })
	}
	return kept, nil
}

// stricter reports whether a is a stricter policy action than b: deny over
// review over allow.
func stricter(a, b policy.Action) bool {
	rank := map[policy.Action]int{policy.Allow: 0, policy.Review: 1, policy.Deny: 2}
	return rank[a] > rank[b]
}
