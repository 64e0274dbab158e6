package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"ersatz/internal/plan"
	"ersatz/internal/policy"
	"ersatz/internal/report"
)

// Rendering of a plan.Result as text and CSV.

func planTable(res *plan.Result) *report.Table {
	t := &report.Table{
		Header: []string{"chip", "policy", "chips", "servers", "instance", "weights", "replicas", "batch",
			"TTFT p" + pctName(res.SLO.Percentile) + " s", "TPOT p" + pctName(res.SLO.Percentile) + " ms", "tok/s/chip", "kW", "$/h", "$/Mtok", "binding", "verified"},
		Right: map[int]bool{2: true, 3: true, 6: true, 7: true, 8: true, 9: true, 10: true, 11: true, 12: true, 13: true},
	}
	for _, c := range res.Chips {
		if c.Best == nil {
			continue
		}
		p := c.Best
		t.Add(p.Chip, decisionWord(c.Decision), p.ChipsTotal, p.Nodes, shapeText(p), p.Weights, replicasText(p), sig(p.Batch, 3),
			bandCell(p.TTFTS, p.TTFTLowS, p.TTFTHighS, 1), bandCell(p.TPOTS, p.TPOTLowS, p.TPOTHighS, 1e3),
			sig(p.OutputTPSPerChip, 3), sig(p.PowerKW, 3), sig(p.CostUSDPerHour, 3),
			sig(p.USDPerMTokens, 3), bindingText(p.Binding), verifiedWord(p.Verified, res.SLO))
	}
	return t
}

func pctName(p float64) string { return fmt.Sprintf("%g", p) }

func verifiedWord(v *plan.Verification, slo plan.SLO) string {
	switch {
	case v == nil:
		return "–"
	case v.Requests == 0:
		return "no"
	case v.Meets && v.AddedReplicas > 0:
		return fmt.Sprintf("yes (+%d)", v.AddedReplicas)
	case v.Meets:
		return "yes"
	}
	return fmt.Sprintf("no (%s s, %s ms)", sig(v.TTFTS, 3), sig(v.TPOTS*1e3, 3))
}

func writePlan(w io.Writer, res *plan.Result, view planView) error {
	explain := view.explain
	full := res
	res = keepTop(res, view.top)
	var b strings.Builder
	t := res.Traffic
	fmt.Fprintf(&b, "Plan for %s: %.3g req/s of %.0f → %.0f tokens", res.Model, t.RatePerS, t.InputTokens, t.OutputTokens)
	fmt.Fprintf(&b, ";\ntargets at p%g:", res.SLO.Percentile)
	if res.SLO.TTFTS > 0 {
		fmt.Fprintf(&b, " TTFT ≤ %s", secs(res.SLO.TTFTS))
	}
	if res.SLO.TPOTS > 0 {
		fmt.Fprintf(&b, " TPOT ≤ %s", secs(res.SLO.TPOTS))
	}
	fmt.Fprintf(&b, "; policy %s; objective %s.\n\n", res.Policy, res.Objective)
	writeBaselineHead(&b, res)
	table := summaryTable(res)
	if view.wide {
		table = planTable(res)
	}
	baselineColumns(table, res)
	if err := table.WriteText(&b); err != nil {
		return err
	}
	var none []string
	for _, c := range res.Chips {
		if c.Best == nil {
			none = append(none, c.Chip)
		}
	}
	if len(none) > 0 {
		fmt.Fprintf(&b, "No plan on: %s (--explain says why).\n", strings.Join(none, ", "))
	}
	if len(res.CrossChip) > 0 {
		b.WriteString("\nPrefill on one chip, decode on another (best pairings):\n")
		cross := crossSummary(res)
		if view.wide {
			cross = crossTable(res)
		}
		if err := cross.WriteText(&b); err != nil {
			return err
		}
	}
	b.WriteString("\n")
	writeAnswer(&b, res)
	if p := res.Recommended; p != nil {
		shape := plural(p.Replicas, "replica") + " of " + p.Layout
		if p.Serving == plan.Disaggregated {
			shape = fmt.Sprintf("%s of %s for prefill and %s of %s for decode", plural(p.PrefillReplicas, "instance"), p.PrefillLayout, plural(p.Replicas, "instance"), p.Layout)
		}
		if p.PrefillChip != "" {
			shape = fmt.Sprintf("prefill on %s of %s (%s) and decode on %s of %s (%s)",
				plural(p.PrefillReplicas, "instance"), p.PrefillLayout, p.PrefillChip, plural(p.Replicas, "instance"), p.Layout, p.Chip)
		}
		where := fmt.Sprintf("%d × %s in %s", p.ChipsTotal, p.Chip, placement(view.cat, p))
		if p.PrefillChip != "" {
			where = fmt.Sprintf("%d chips in %s", p.ChipsTotal, plural(p.Nodes, "server"))
		}
		fmt.Fprintf(&b, "Recommended under %s: %s, %s, %s serving at %s weights; $%s/h, %s kW, $%s per million output tokens.\n",
			res.Policy, where, shape, p.Serving, p.Weights,
			report.Num(p.CostUSDPerHour, 3), report.Num(p.PowerKW, 3), report.Num(p.USDPerMTokens, 3))
	} else {
		b.WriteString("No plan meets the target under the policy.\n")
	}
	fmt.Fprintf(&b, "Why: %s\n", whyText(res))
	if im := res.Impact; im != nil {
		fmt.Fprintf(&b, "\nBan impact (%s vs no policy):\n", im.Policy)
		if err := impactTable(res, im, "with "+im.Policy, "without").WriteText(&b); err != nil {
			return err
		}
	}
	if err := writeBaselineImpact(&b, res); err != nil {
		return err
	}
	if explain {
		b.WriteString("\nRejected candidates by reason:\n")
		et := &report.Table{Header: []string{"chip", "policy", "rejections", "nearest miss"}}
		for _, c := range full.Chips {
			et.Add(c.Chip, decisionWord(c.Decision), counts(c.Rejected), nearest(c.Nearest))
		}
		if err := et.WriteText(&b); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%d candidates screened; in all: %s\n", res.Candidates, counts(res.Rejected))
		for _, c := range full.Chips {
			if a := c.Decision.Action; a == policy.Deny || a == policy.Review {
				fmt.Fprintf(&b, "  %s: %s\n", c.Chip, c.Decision)
			}
		}
	}
	b.WriteString("\nEstimates: " + strings.Join(res.Estimates, "; ") + ".\n")
	b.WriteString(bandText(res))
	_, err := io.WriteString(w, b.String())
	return err
}

// impactTable sets two plans side by side with their differences.
func impactTable(res *plan.Result, im *plan.Impact, with, without string) *report.Table {
	it := &report.Table{Header: []string{"", with, without, "Δ"}, Right: map[int]bool{1: true, 2: true, 3: true}}
	it.Add("chip", chipLabel(im.With), chipLabel(im.Without), "")
	it.Add("chips", im.With.ChipsTotal, im.Without.ChipsTotal, signed(float64(im.DeltaChips), ""))
	it.Add("$/h", report.Num(im.With.CostUSDPerHour, 3), report.Num(im.Without.CostUSDPerHour, 3), fmt.Sprintf("%s (×%.2f)", signed(im.DeltaCost, ""), im.CostRatio))
	it.Add("kW", report.Num(im.With.PowerKW, 3), report.Num(im.Without.PowerKW, 3), signed(im.DeltaPowerKW, ""))
	it.Add("TTFT p"+pctName(res.SLO.Percentile), secs(im.With.TTFTS), secs(im.Without.TTFTS), signed(im.DeltaTTFTS*1e3, " ms"))
	it.Add("TPOT p"+pctName(res.SLO.Percentile), secs(im.With.TPOTS), secs(im.Without.TPOTS), signed(im.DeltaTPOTS*1e3, " ms"))
	return it
}

func secs(s float64) string {
	if s < 1 {
		return report.Num(s*1e3, 3) + " ms"
	}
	return report.Num(s, 3) + " s"
}

func signed(v float64, unit string) string {
	s := report.Num(v, 3)
	if v > 0 {
		s = "+" + s
	}
	return s + unit
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// shapeText is the instance shape, both pools when disaggregated, with
// their chips when those differ.
func shapeText(p *plan.Plan) string {
	switch {
	case p.PrefillChip != "":
		return fmt.Sprintf("P %s %s %s / D %s %s", p.PrefillChip, p.PrefillLayout, p.PrefillWeights, p.Chip, p.Layout)
	case p.Serving == plan.Disaggregated:
		return "P " + p.PrefillLayout + " / D " + p.Layout
	}
	return p.Layout
}

// crossTable lists the plans that prefill on one chip and decode on another.
func crossTable(res *plan.Result) *report.Table {
	pct := pctName(res.SLO.Percentile)
	t := &report.Table{
		Header: []string{"prefill → decode", "chips", "servers", "pools", "weights", "replicas", "TTFT p" + pct + " s", "TPOT p" + pct + " ms", "kW", "$/h", "$/Mtok", "verified"},
		Right:  map[int]bool{1: true, 2: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true},
	}
	for _, p := range res.CrossChip {
		t.Add(p.PrefillChip+" → "+p.Chip, p.ChipsTotal, p.Nodes, "P "+p.PrefillLayout+" / D "+p.Layout, p.PrefillWeights+"/"+p.Weights,
			replicasText(p), bandCell(p.TTFTS, p.TTFTLowS, p.TTFTHighS, 1), bandCell(p.TPOTS, p.TPOTLowS, p.TPOTHighS, 1e3),
			sig(p.PowerKW, 3), sig(p.CostUSDPerHour, 3), sig(p.USDPerMTokens, 3), verifiedWord(p.Verified, res.SLO))
	}
	return t
}

func replicasText(p *plan.Plan) string {
	if p.Serving == plan.Disaggregated {
		return fmt.Sprintf("%dP+%dD", p.PrefillReplicas, p.Replicas)
	}
	return fmt.Sprint(p.Replicas)
}

// chipLabel names a plan's chip, both when prefill and decode differ.
func chipLabel(p *plan.Plan) string {
	if p.PrefillChip != "" {
		return p.PrefillChip + "→" + p.Chip
	}
	return p.Chip
}

// planCSV is the per-chip table with plain numbers in SI units, one value
// a column, for spreadsheets; cross-chip plans follow the per-chip ones.
// band_level is the level of the ttft and tpot low/high columns (0: the
// inputs' uncertainty only).
func planCSV(res *plan.Result) *report.Table {
	t := &report.Table{Header: []string{"chip", "prefill_chip", "policy", "serving", "chips", "nodes", "layout", "prefill_layout",
		"weights", "replicas", "prefill_replicas", "batch", "ttft_s", "ttft_low_s", "ttft_high_s", "tpot_s", "tpot_low_s", "tpot_high_s",
		"output_tokens_per_s_per_chip", "power_kw", "usd_per_hour", "usd_per_million_output_tokens", "binding", "verified_meets_slo", "band_level"}}
	row := func(decision string, p *plan.Plan) {
		verified := ""
		if v := p.Verified; v != nil && v.Requests > 0 {
			verified = fmt.Sprint(v.Meets)
		}
		g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
		t.Add(p.Chip, p.PrefillChip, decision, p.Serving, p.ChipsTotal, p.Nodes, p.Layout, p.PrefillLayout,
			p.Weights, p.Replicas, p.PrefillReplicas, g(p.Batch), g(p.TTFTS), g(p.TTFTLowS), g(p.TTFTHighS), g(p.TPOTS), g(p.TPOTLowS), g(p.TPOTHighS),
			g(p.OutputTPSPerChip), g(p.PowerKW), g(p.CostUSDPerHour), g(p.USDPerMTokens), bindingText(p.Binding), verified, g(res.BandLevel))
	}
	if res.Baseline != nil {
		row("baseline", res.Baseline.Plan)
	}
	for _, c := range res.Chips {
		if c.Best != nil {
			row(decisionWord(c.Decision), c.Best)
		}
	}
	for _, p := range res.CrossChip {
		row("", p)
	}
	baselineCSVColumns(t, res)
	return t
}

// bandText says what the latency bands are, at which level, and at which
// confidence plans were checked.
func bandText(res *plan.Result) string {
	if res.BandLevel == 0 {
		return "Latency bands come from the uncertainty of the chip's numbers and the model's parameters.\n"
	}
	s := fmt.Sprintf("Latency bands are %.0f%% intervals: the uncertainty of the chip's numbers and the model's parameters with the model's measured error for the engine on the chip's family (docs/accuracy.md).\n", res.BandLevel*100)
	if res.Confidence > 0 {
		s += fmt.Sprintf("Confidence %.0f%%: every plan meets its targets at the pessimistic edge of its %.0f%% band; plans are ranked by the point estimate.\n", res.Confidence*100, res.Confidence*100)
	}
	return s
}
