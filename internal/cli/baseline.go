package cli

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"ersatz/internal/hardware"
	"ersatz/internal/perf"
	"ersatz/internal/plan"
	"ersatz/internal/report"
)

// baselineFlags are plan's --baseline 64xh20 and its engine and weights.
type baselineFlags struct {
	spec, engine, weights string
}

func (f *baselineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.spec, "baseline", "", "the fleet run now, COUNTxCHIP (e.g. 64xh20): every plan is set beside it; without --rate, the traffic is the most it carries within the targets")
	fs.StringVar(&f.engine, "baseline-engine", "", "serving engine of the baseline (default: --engine)")
	fs.StringVar(&f.weights, "baseline-weights", "", "weight precision of the baseline (default: the one at which it carries the most)")
}

// parse reads the flags; nil when no baseline is given.
func (f *baselineFlags) parse(cat *hardware.Catalog) (*plan.Baseline, error) {
	if f.spec == "" {
		if f.engine != "" || f.weights != "" {
			return nil, usagef("--baseline-engine and --baseline-weights need --baseline COUNTxCHIP")
		}
		return nil, nil
	}
	count, chip, ok := cutCount(f.spec)
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n < 1 {
		return nil, usagef("--baseline %q: want COUNTxCHIP, e.g. 64xh20", f.spec)
	}
	c, err := cat.Chip(chip)
	if err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	b := &plan.Baseline{Chip: c, Count: n, Engine: perf.Engine(f.engine)}
	switch f.engine {
	case "", "vllm", "sglang", "trtllm", "mindie", "other":
	default:
		return nil, usagef("--baseline-engine %q: want vllm, sglang, trtllm, mindie or other", f.engine)
	}
	if f.weights != "" {
		if b.Weights, err = precisionFlag("--baseline-weights", f.weights); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// cutCount splits "64xh20" (or 64×h20, 64*h20) at the first separator
// after the digits.
func cutCount(s string) (count, chip string, ok bool) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	rest := s[i:]
	for _, sep := range []string{"x", "X", "×", "*"} {
		if after, found := strings.CutPrefix(rest, sep); found && i > 0 && after != "" {
			return s[:i], strings.TrimSpace(after), true
		}
	}
	return "", "", false
}

// run plans the request, beside the baseline when one is given.
func (f *baselineFlags) run(cat *hardware.Catalog, req plan.Request) (*plan.Result, error) {
	b, err := f.parse(cat)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return plan.Run(req)
	}
	return plan.RunBaseline(req, *b)
}

// writeBaselineHead describes the fleet under the plan's first line.
func writeBaselineHead(b *strings.Builder, res *plan.Result) {
	br := res.Baseline
	if br == nil {
		return
	}
	p, pct := br.Plan, pctName(res.SLO.Percentile)
	fmt.Fprintf(b, "Baseline: %d × %s in %s, %s of %s at %s (%s); it carries at most %s req/s within the targets (%.0f%% headroom kept)",
		br.Count, br.Chip, plural(p.Nodes, p.Node+" server"), plural(p.Replicas, "replica"), p.Layout, p.Weights, br.Engine,
		report.Num(br.CapacityPerS, 3), br.Headroom*100)
	if br.RateFromBaseline {
		b.WriteString(", the rate planned for below")
	}
	fmt.Fprintf(b, ".\nAt %s req/s: TTFT p%s %s s, TPOT p%s %s ms; $%s/h, %s kW",
		report.Num(res.Traffic.RatePerS, 3), pct, bandCell(p.TTFTS, p.TTFTLowS, p.TTFTHighS, 1), pct, bandCell(p.TPOTS, p.TPOTLowS, p.TPOTHighS, 1e3),
		report.Num(p.CostUSDPerHour, 3), report.Num(p.PowerKW, 3))
	switch {
	case !br.MeetsTargets:
		b.WriteString("; it MISSES the targets at this rate")
	case !br.Carries:
		fmt.Fprintf(b, "; within the targets, but without the %.0f%% headroom", br.Headroom*100)
	}
	if p.Verified != nil {
		b.WriteString("; simulated: " + verifiedWord(p.Verified, res.SLO))
	}
	b.WriteString(".\n\n")
}

// baselineColumns adds each plan's chips and cost against the fleet to
// the per-chip table.
func baselineColumns(t *report.Table, res *plan.Result) {
	br := res.Baseline
	if br == nil {
		return
	}
	t.Header = append(t.Header, "chips vs "+br.Chip, "$/h vs "+br.Chip)
	n := len(t.Header)
	t.Right[n-2], t.Right[n-1] = true, true
	for i := range t.Rows {
		if i >= len(br.Replacements) {
			break
		}
		r := br.Replacements[i]
		t.Rows[i] = append(t.Rows[i], signed(float64(r.DeltaChips), ""), fmt.Sprintf("×%.2f", r.CostRatio))
	}
}

// writeAnswer puts the one-sentence answer before the recommendation.
func writeAnswer(b *strings.Builder, res *plan.Result) {
	if a := answerText(res); a != "" {
		fmt.Fprintf(b, "Answer: %s\n", a)
	}
}

// answerText is the answer against the fleet in one sentence: "80 ×
// ascend-910b4 replace 64 × h20 for 17.3 req/s of 1155 → 211 tokens under
// cn-domestic: $42.6/h against $37.3/h (×1.14), 53.3 kW against 51 kW."
// Empty without a baseline.
func answerText(res *plan.Result) string {
	br := res.Baseline
	if br == nil {
		return ""
	}
	base := br.Plan
	fleetName := fmt.Sprintf("%d × %s", br.Count, br.Chip)
	t := res.Traffic
	load := fmt.Sprintf("%s req/s of %.0f → %.0f tokens", report.Num(t.RatePerS, 3), t.InputTokens, t.OutputTokens)
	rec := res.Recommended
	if rec == nil {
		return fmt.Sprintf("Nothing under %s replaces %s at %s: %s", res.Policy, fleetName, load, whyText(res))
	}
	what := fmt.Sprintf("%d × %s", rec.ChipsTotal, rec.Chip)
	if rec.PrefillChip != "" {
		what = fmt.Sprintf("%d chips (%s prefill, %s decode)", rec.ChipsTotal, rec.PrefillChip, rec.Chip)
	}
	verb := "replace"
	if rec.ChipsTotal == 1 {
		verb = "replaces"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", what, verb, fleetName)
	switch {
	case !br.MeetsTargets:
		fmt.Fprintf(&b, " (which misses the targets at this rate: it carries at most %s req/s)", report.Num(br.CapacityPerS, 3))
	case !br.Carries:
		fmt.Fprintf(&b, " (which meets the targets at this rate only without the %.0f%% headroom)", br.Headroom*100)
	}
	fmt.Fprintf(&b, " for %s under %s: $%s/h against $%s/h", load, res.Policy, report.Num(rec.CostUSDPerHour, 3), report.Num(base.CostUSDPerHour, 3))
	if base.CostUSDPerHour > 0 {
		fmt.Fprintf(&b, " (×%.2f)", rec.CostUSDPerHour/base.CostUSDPerHour)
	}
	fmt.Fprintf(&b, ", %s kW against %s kW.", report.Num(rec.PowerKW, 3), report.Num(base.PowerKW, 3))
	return b.String()
}

// writeBaselineImpact is the recommended plan against the fleet.
func writeBaselineImpact(b *strings.Builder, res *plan.Result) error {
	br := res.Baseline
	if br == nil || br.Impact == nil {
		return nil
	}
	fmt.Fprintf(b, "\nAgainst the baseline (%s vs %d × %s now):\n", br.Impact.Policy, br.Count, br.Chip)
	return impactTable(res, br.Impact, "with "+br.Impact.Policy, "baseline").WriteText(b)
}

// baselineCSVColumns adds chips and cost against the fleet to each CSV
// row; the baseline's own row comes first.
func baselineCSVColumns(t *report.Table, res *plan.Result) {
	br := res.Baseline
	if br == nil {
		return
	}
	t.Header = append(t.Header, "delta_chips_vs_baseline", "cost_ratio_vs_baseline")
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for i := range t.Rows {
		switch {
		case i == 0:
			t.Rows[i] = append(t.Rows[i], "0", "1")
		case i-1 < len(br.Replacements):
			r := br.Replacements[i-1]
			t.Rows[i] = append(t.Rows[i], strconv.Itoa(r.DeltaChips), g(r.CostRatio))
		}
	}
}
