package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"ersatz/internal/hardware"
	"ersatz/internal/perf"
	"ersatz/internal/plan"
	"ersatz/internal/policy"
	"ersatz/internal/report"
	"ersatz/internal/workload"
)

// sloFlags take a target at one percentile: --ttft-p90 2s --tpot-p90 50ms.
type sloFlags struct {
	ttft, tpot map[int]*durationFlag
}

func (s *sloFlags) register(fs *flag.FlagSet) {
	s.ttft, s.tpot = map[int]*durationFlag{}, map[int]*durationFlag{}
	for _, p := range []int{50, 90, 99} {
		s.ttft[p], s.tpot[p] = new(durationFlag), new(durationFlag)
		fs.Var(s.ttft[p], fmt.Sprintf("ttft-p%d", p), fmt.Sprintf("time-to-first-token target at p%d, e.g. 2s", p))
		fs.Var(s.tpot[p], fmt.Sprintf("tpot-p%d", p), fmt.Sprintf("time-per-output-token target at p%d, e.g. 50ms", p))
	}
}

func (s *sloFlags) slo() (plan.SLO, error) {
	var out plan.SLO
	for _, p := range []int{50, 90, 99} {
		for _, f := range []struct {
			v    *durationFlag
			dst  *float64
			name string
		}{{s.ttft[p], &out.TTFTS, "ttft"}, {s.tpot[p], &out.TPOTS, "tpot"}} {
			if *f.v == 0 {
				continue
			}
			if out.Percentile != 0 && out.Percentile != float64(p) {
				return out, usagef("--%s-p%d: give every target at the same percentile (got p%g and p%d)", f.name, p, out.Percentile, p)
			}
			out.Percentile = float64(p)
			*f.dst = float64(*f.v)
		}
	}
	if out.Percentile == 0 {
		return out, usagef("no latency target: give --ttft-p90 and/or --tpot-p90 (or p50, p99)")
	}
	return out, nil
}

func runPlan(e *env, args []string) error {
	fs := newFlags(e, "plan", "--model M (--rate R --input-tokens I --output-tokens O | --trace FILE) --ttft-p90 D --tpot-p90 D [--policy P] [--json|--csv] [--explain]")
	var cats catalogs
	cats.register(fs)
	modelName := fs.String("model", "", "model: a catalog id or a path to a Hugging Face config.json")
	rate := fs.Float64("rate", 0, "requests per second to carry")
	input := fs.Float64("input-tokens", 0, "mean prompt length")
	output := fs.Float64("output-tokens", 0, "mean output length")
	prefixHit := fs.Float64("prefix-hit", 0, "share of prompt tokens already in the KV cache")
	trace := fs.String("trace", "", "take rate and lengths from a trace (Azure, BurstGPT, Mooncake) and verify by replaying it")
	traceFormat := fs.String("trace-format", "", "azure, burstgpt or mooncake (default: from the file)")
	timeScale := fs.Float64("time-scale", 1, "speed the trace up by this factor")
	var slo sloFlags
	slo.register(fs)
	policyArg := fs.String("policy", "none", "policy: a preset ("+strings.Join(policyIDs(), ", ")+"), a YAML file, or several joined by commas")
	allow := fs.String("allow", "", "only these vendors or chips (comma-separated), on top of the policy")
	deny := fs.String("deny", "", "never these vendors or chips (comma-separated)")
	chipList := fs.String("chips", "", "candidate chips (comma-separated ids); default every chip in the catalog")
	roadmap := fs.Bool("include-roadmap", false, "also plan with announced, not yet shipping chips")
	objective := fs.String("objective", "cost", "minimise cost, chips or power")
	precisions := fs.String("precisions", "", "weight precisions to try (comma-separated; default every one the chip runs but int4)")
	engine := fs.String("engine", "vllm", "serving engine: vllm, sglang, trtllm, mindie or other")
	costs := plan.DefaultCosts
	fs.StringVar(&costs.Basis, "cost-basis", costs.Basis, "own (purchase price amortized plus power) or rent (hourly rental per chip)")
	fs.Float64Var(&costs.AmortizationYears, "amortization-years", costs.AmortizationYears, "years over which a purchase is written off (estimate)")
	fs.Float64Var(&costs.ServerOverhead, "server-overhead", costs.ServerOverhead, "server and network cost as a share of the chip price (estimate)")
	fs.Float64Var(&costs.ElectricityUSDPerKWh, "electricity", costs.ElectricityUSDPerKWh, "electricity price, $/kWh (estimate)")
	fs.Float64Var(&costs.PUE, "pue", costs.PUE, "data-centre power usage effectiveness (estimate)")
	headroom := fs.Float64("headroom", plan.DefaultHeadroom, "spare capacity over the mean rate")
	budget := fs.Float64("budget", 0, "reject plans costing more than this many $/hour")
	verify := fs.Int("verify", 2, "simulate the best N plans per chip on the same traffic (0: analytic only)")
	verifyRequests := fs.Int("verify-requests", 2000, "requests per verification simulation")
	seed := fs.Uint64("seed", 1, "random seed of the verification simulations")
	explain := fs.Bool("explain", false, "count rejected candidates by reason, per chip, with the nearest miss")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	asCSV := fs.Bool("csv", false, "print the per-chip table as CSV")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *modelName == "" {
		return usagef("--model is required")
	}
	if *asJSON && *asCSV {
		return usagef("--json and --csv: choose one")
	}
	cat, err := cats.hardware(e)
	if err != nil {
		return err
	}
	m, err := resolveModel(*modelName, "")
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	target, err := slo.slo()
	if err != nil {
		return err
	}
	set, err := policies(cat, *policyArg, *allow, *deny)
	if err != nil {
		return err
	}
	req := plan.Request{
		Model: m, Catalog: cat, SLO: target, Policy: set, IncludeRoadmap: *roadmap,
		Objective: plan.Objective(*objective), Costs: costs, Headroom: *headroom, BudgetUSDPerHour: *budget,
		Engine: perf.Engine(*engine), Verify: *verify, VerifyRequests: *verifyRequests, Seed: *seed,
	}
	switch *engine {
	case "vllm", "sglang", "trtllm", "mindie", "other":
	default:
		return usagef("--engine %q: want vllm, sglang, trtllm, mindie or other", *engine)
	}
	if *verify < 0 || *verifyRequests < 1 {
		return usagef("--verify %d, --verify-requests %d: want ≥ 0 and ≥ 1", *verify, *verifyRequests)
	}
	if *chipList != "" {
		for _, id := range strings.Split(*chipList, ",") {
			c, err := cat.Chip(id)
			if err != nil {
				return fmt.Errorf("--chips: %w", err)
			}
			req.Chips = append(req.Chips, c)
		}
	}
	if *precisions != "" {
		for _, p := range strings.Split(*precisions, ",") {
			pr, err := precisionFlag("--precisions", p)
			if err != nil {
				return err
			}
			req.Precisions = append(req.Precisions, pr)
		}
	}
	if *trace != "" {
		if *rate != 0 || *input != 0 || *output != 0 {
			return usagef("--trace gives the rate and lengths; drop --rate, --input-tokens and --output-tokens")
		}
		tr, err := traceTraffic(*trace, *traceFormat, *timeScale, *verifyRequests)
		if err != nil {
			return err
		}
		req.Traffic = tr
	} else {
		if *rate <= 0 || *input <= 0 || *output <= 0 {
			return usagef("give --rate, --input-tokens and --output-tokens (or --trace FILE)")
		}
		req.Traffic = plan.Traffic{RatePerS: *rate, InputTokens: *input, OutputTokens: *output}
	}
	req.Traffic.PrefixHit = *prefixHit
	chips := len(req.Chips)
	if chips == 0 {
		chips = len(cat.Chips)
	}
	bar := newProgress(e.stderr, chips)
	req.Progress = func(done, total int) { bar.add(1) }
	res, err := plan.Run(req)
	bar.finish()
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		err = report.WriteJSON(e.stdout, res)
	case *asCSV:
		err = planTable(res).WriteCSV(e.stdout)
	default:
		err = writePlan(e.stdout, res, *explain)
	}
	if err != nil {
		return err
	}
	if res.Recommended == nil {
		return fmt.Errorf("no plan: %s", res.Why)
	}
	return nil
}

func policyIDs() []string {
	return policy.PresetIDs(hardware.Default())
}

// policies builds the policy set: presets or files, plus --allow/--deny.
func policies(cat *hardware.Catalog, arg, allow, deny string) (policy.Set, error) {
	presets, err := policy.Presets(cat)
	if err != nil {
		return nil, err
	}
	var set policy.Set
	for _, name := range strings.Split(arg, ",") {
		name = strings.TrimSpace(name)
		if p, ok := presets[name]; ok {
			if name != "none" {
				set = append(set, p)
			}
			continue
		}
		if _, err := os.Stat(name); err != nil {
			return nil, usagef("--policy %q: want a preset (%s) or a YAML file", name, strings.Join(policyIDs(), ", "))
		}
		data, err := readFile(name)
		if err != nil {
			return nil, fmt.Errorf("--policy: %w", err)
		}
		p, err := policy.Parse(data, cat)
		if err != nil {
			return nil, fmt.Errorf("--policy %s: %w", name, err)
		}
		set = append(set, p)
	}
	if allow == "" && deny == "" {
		return set, nil
	}
	cli := &policy.Policy{ID: "flags", Name: "--allow/--deny"}
	split := func(action policy.Action, list, flag string) error {
		if list == "" {
			return nil
		}
		r := policy.Rule{Action: action, Reason: flag + " " + list}
		for _, n := range strings.Split(list, ",") {
			n = strings.TrimSpace(n)
			if isVendor(cat, n) {
				r.Vendors = append(r.Vendors, lower(n))
			} else if c, err := cat.Chip(n); err == nil {
				r.Chips = append(r.Chips, c.ID)
			} else {
				return usagef("%s %q: not a vendor or chip (%v)", flag, n, err)
			}
		}
		cli.Rules = append(cli.Rules, r)
		return nil
	}
	if allow != "" {
		cli.Rules = append(cli.Rules, policy.Rule{Action: policy.Deny, Reason: "--allow names the only chips allowed"})
	}
	if err := split(policy.Allow, allow, "--allow"); err != nil {
		return nil, err
	}
	if err := split(policy.Deny, deny, "--deny"); err != nil {
		return nil, err
	}
	return append(set, cli), nil
}

func isVendor(cat *hardware.Catalog, name string) bool {
	for _, c := range cat.Chips {
		if strings.EqualFold(c.Vendor, name) {
			return true
		}
	}
	return false
}

// traceTraffic reads a trace once for its rate and mean lengths, and
// returns a source that replays it for verification.
func traceTraffic(path, format string, scale float64, limit int) (plan.Traffic, error) {
	tf := trafficFlags{trace: path, traceFormat: format, timeScale: scale, requests: 1 << 30}
	src, closeFn, err := tf.source(nil, 16)
	if err != nil {
		return plan.Traffic{}, err
	}
	var r workload.Request
	var n int
	var first, last, in, out float64
	for src.Next(&r) {
		if n == 0 {
			first = r.ArrivalS
		}
		last = r.ArrivalS
		in += float64(r.Input)
		out += float64(r.Output)
		n++
	}
	closeFn()
	if err := src.Err(); err != nil {
		return plan.Traffic{}, fmt.Errorf("--trace: %w", err)
	}
	if n < 2 || last <= first {
		return plan.Traffic{}, fmt.Errorf("--trace %s: want at least two requests spread over time (got %d)", path, n)
	}
	t := plan.Traffic{RatePerS: float64(n-1) / (last - first), InputTokens: in / float64(n), OutputTokens: out / float64(n)}
	t.Source = func() (workload.Source, error) {
		vf := tf
		vf.requests = limit
		s, _, err := vf.source(nil, 16)
		return s, err
	}
	return t, nil
}

func planTable(res *plan.Result) *report.Table {
	t := &report.Table{
		Header: []string{"chip", "policy", "chips", "nodes", "instance", "weights", "replicas", "batch",
			"TTFT p" + pctName(res.SLO.Percentile), "TPOT p" + pctName(res.SLO.Percentile), "tok/s/chip", "kW", "$/h", "$/Mtok", "binding", "verified"},
		Right: map[int]bool{2: true, 3: true, 6: true, 7: true, 8: true, 9: true, 10: true, 11: true, 12: true, 13: true},
	}
	for _, c := range res.Chips {
		if c.Best == nil {
			continue
		}
		p := c.Best
		t.Add(p.Chip, decisionWord(c.Decision), p.ChipsTotal, p.Nodes, shapeText(p), p.Weights, replicasText(p), report.Num(p.Batch, 3),
			band(p.TTFTS, p.TTFTLowS, p.TTFTHighS, 1), band(p.TPOTS, p.TPOTLowS, p.TPOTHighS, 1e3),
			report.Num(p.OutputTPSPerChip, 3), report.Num(p.PowerKW, 3), report.Num(p.CostUSDPerHour, 3),
			report.Num(p.USDPerMTokens, 3), p.Binding, verifiedWord(p.Verified, res.SLO))
	}
	return t
}

func pctName(p float64) string { return fmt.Sprintf("%g", p) }

// band prints a latency with its low–high range: seconds for TTFT, ms for TPOT.
func band(v, lo, hi, scale float64) string {
	u := "s"
	if scale == 1e3 {
		u = "ms"
	}
	return fmt.Sprintf("%s%s (%s–%s)", report.Num(v*scale, 3), u, report.Num(lo*scale, 2), report.Num(hi*scale, 2))
}

func decisionWord(d string) string {
	switch {
	case strings.Contains(d, ": deny:"):
		return "deny"
	case strings.Contains(d, ": review:"):
		return "review"
	}
	return "allow"
}

func verifiedWord(v *plan.Verification, slo plan.SLO) string {
	switch {
	case v == nil:
		return "–"
	case v.Requests == 0:
		return "no"
	case v.Meets && v.AddedReplicas > 0:
		return fmt.Sprintf("yes (+%d replicas)", v.AddedReplicas)
	case v.Meets:
		return "yes"
	}
	return fmt.Sprintf("misses (TTFT %.2fs, TPOT %.0fms)", v.TTFTS, v.TPOTS*1e3)
}

func writePlan(w io.Writer, res *plan.Result, explain bool) error {
	var b strings.Builder
	t := res.Traffic
	fmt.Fprintf(&b, "Plan for %s: %.3g req/s of %.0f → %.0f tokens", res.Model, t.RatePerS, t.InputTokens, t.OutputTokens)
	fmt.Fprintf(&b, "; targets at p%g:", res.SLO.Percentile)
	if res.SLO.TTFTS > 0 {
		fmt.Fprintf(&b, " TTFT ≤ %s", secs(res.SLO.TTFTS))
	}
	if res.SLO.TPOTS > 0 {
		fmt.Fprintf(&b, " TPOT ≤ %s", secs(res.SLO.TPOTS))
	}
	fmt.Fprintf(&b, "; policy %s; objective %s.\n\n", res.Policy, res.Objective)
	if err := planTable(res).WriteText(&b); err != nil {
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
	b.WriteString("\n")
	if p := res.Recommended; p != nil {
		shape := plural(p.Replicas, "replica") + " of " + p.Layout
		if p.Serving == "disaggregated" {
			shape = fmt.Sprintf("%s of %s for prefill and %s of %s for decode", plural(p.PrefillReplicas, "instance"), p.PrefillLayout, plural(p.Replicas, "instance"), p.Layout)
		}
		fmt.Fprintf(&b, "Recommended under %s: %d × %s in %s, %s, %s serving at %s weights; $%s/h, %s kW, $%s per million output tokens.\n",
			res.Policy, p.ChipsTotal, p.Chip, plural(p.Nodes, p.Node+" node"), shape, p.Serving, p.Weights,
			report.Num(p.CostUSDPerHour, 3), report.Num(p.PowerKW, 3), report.Num(p.USDPerMTokens, 3))
	} else {
		b.WriteString("No plan meets the target under the policy.\n")
	}
	fmt.Fprintf(&b, "Why: %s\n", res.Why)
	if im := res.Impact; im != nil {
		fmt.Fprintf(&b, "\nBan impact (%s vs no policy):\n", im.Policy)
		it := &report.Table{Header: []string{"", "with " + im.Policy, "without", "Δ"}, Right: map[int]bool{1: true, 2: true, 3: true}}
		it.Add("chip", im.With.Chip, im.Without.Chip, "")
		it.Add("chips", im.With.ChipsTotal, im.Without.ChipsTotal, signed(float64(im.DeltaChips), ""))
		it.Add("$/h", report.Num(im.With.CostUSDPerHour, 3), report.Num(im.Without.CostUSDPerHour, 3), fmt.Sprintf("%s (×%.2f)", signed(im.DeltaCost, ""), im.CostRatio))
		it.Add("kW", report.Num(im.With.PowerKW, 3), report.Num(im.Without.PowerKW, 3), signed(im.DeltaPowerKW, ""))
		it.Add("TTFT p"+pctName(res.SLO.Percentile), secs(im.With.TTFTS), secs(im.Without.TTFTS), signed(im.DeltaTTFTS*1e3, " ms"))
		it.Add("TPOT p"+pctName(res.SLO.Percentile), secs(im.With.TPOTS), secs(im.Without.TPOTS), signed(im.DeltaTPOTS*1e3, " ms"))
		if err := it.WriteText(&b); err != nil {
			return err
		}
	}
	if explain {
		b.WriteString("\nRejected candidates by reason:\n")
		et := &report.Table{Header: []string{"chip", "policy", "rejections", "nearest miss"}}
		for _, c := range res.Chips {
			et.Add(c.Chip, decisionWord(c.Decision), counts(c.Rejected), nearest(c.Nearest))
		}
		if err := et.WriteText(&b); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%d candidates screened; in all: %s\n", res.Candidates, counts(res.Rejected))
		for _, c := range res.Chips {
			if strings.Contains(c.Decision, ": deny:") || strings.Contains(c.Decision, ": review:") {
				fmt.Fprintf(&b, "  %s: %s\n", c.Chip, c.Decision)
			}
		}
	}
	b.WriteString("\nEstimates: " + strings.Join(res.Estimates, "; ") + ".\n")
	b.WriteString("Latency bands come from the uncertainty of the chip's numbers and the model's parameters.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func nearest(r *plan.Rejection) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%s: %s", r.Reason, r.Detail)
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

// shapeText is the instance shape, both pools when disaggregated.
func shapeText(p *plan.Plan) string {
	if p.Serving == "disaggregated" {
		return "P " + p.PrefillLayout + " / D " + p.Layout
	}
	return p.Layout
}

func replicasText(p *plan.Plan) string {
	if p.Serving == "disaggregated" {
		return fmt.Sprintf("%dP+%dD", p.PrefillReplicas, p.Replicas)
	}
	return fmt.Sprint(p.Replicas)
}
