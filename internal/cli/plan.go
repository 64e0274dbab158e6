package cli

import (
	"ersatz/internal/accuracy"
	"flag"
	"fmt"
	"os"
	"slices"
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

// any reports whether a target was given.
func (s *sloFlags) any() bool {
	for _, p := range []int{50, 90, 99} {
		if *s.ttft[p] != 0 || *s.tpot[p] != 0 {
			return true
		}
	}
	return false
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
	fs := newFlags(e, "plan", "--model M (--rate R --input-tokens I --output-tokens O | --trace FILE) --ttft-p90 D --tpot-p90 D [--policy P] [--json|--csv] [--explain] [--emit k8s DIR | --emit launch [DIR]] [--plan N]")
	var cats catalogs
	cats.register(fs)
	modelName := fs.String("model", "", "model: a catalog id or a path to a Hugging Face config.json")
	rate := fs.Float64("rate", 0, "requests per second to carry")
	input := fs.Float64("input-tokens", 0, "mean prompt length")
	output := fs.Float64("output-tokens", 0, "mean output length")
	prefixHit := fs.Float64("prefix-hit", 0, "share of prompt tokens already in the KV cache")
	kvCache := fs.String("kv-cache", "", "KV-cache precision of every plan (default: 16-bit, the engines' auto)")
	memUtil := fs.Float64("memory-utilization", 0, "share of device memory the engine may use (default: the engine's, vLLM 0.9)")
	trace := fs.String("trace", "", "take rate and lengths from a trace (Azure, BurstGPT, Mooncake) and verify by replaying it")
	traceFormat := fs.String("trace-format", "", "azure, burstgpt or mooncake (default: from the file)")
	timeScale := fs.Float64("time-scale", 1, "speed the trace up by this factor")
	var slo sloFlags
	slo.register(fs)
	policyArg := fs.String("policy", "none", "policy: a preset ("+strings.Join(policyIDs(), ", ")+"), a YAML file, or several joined by commas")
	allow := fs.String("allow", "", "only these vendors or chips (comma-separated), on top of the policy")
	deny := fs.String("deny", "", "never these vendors or chips (comma-separated)")
	chipList := fs.String("chip", "", "candidate chips, comma-separated ids or aliases (as --chip in the other commands); default every chip in the catalog")
	roadmap := fs.Bool("include-roadmap", false, "also plan with announced, not yet shipping chips")
	crossVendor := fs.Bool("cross-vendor", false, "also pair prefill on one vendor's chips with decode on another's (same-vendor pairings are always tried)")
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
	maxChips := fs.Int("max-chips", plan.DefaultMaxChips, "reject plans needing more chips than this (about the largest AI cluster)")
	verify := fs.Int("verify", 2, "simulate the best N plans per chip on the same traffic (0: analytic only)")
	verifyRequests := fs.Int("verify-requests", 2000, "requests per verification simulation")
	seed := fs.Uint64("seed", 1, "random seed of the verification simulations")
	explain := fs.Bool("explain", false, "count rejected candidates by reason, per chip, with the nearest miss")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	asCSV := fs.Bool("csv", false, "print the per-chip table as CSV")
	var base baselineFlags
	base.register(fs)
	htmlOut := fs.String("html", "", "also write the plan as one self-contained HTML page to FILE (charts, sortable table, sources)")
	level := bandFlag(fs)
	confidence := fs.Float64("confidence", 0, "pass a plan only if it meets its targets at the pessimistic edge of the band at this level, e.g. 0.9 (ranking stays on the point estimate)")
	wide := fs.Bool("wide", false, "print every column (instance layouts, batch, tok/s per chip, kW, what binds); the default fits 120 columns")
	top := fs.Int("top", 0, "show the N best chips (the recommended one always shows); 0 shows all")
	paramsFile := fs.String("params", "", "YAML file of efficiency parameters merged over the built-in ones (ersatz calibrate --out writes one)")
	var em emitFlags
	em.register(fs)
	if err := parse(fs, em.takeDir(args)); err != nil {
		return err
	}
	if err := em.check(*engine); err != nil {
		return err
	}
	if *modelName == "" {
		return usagef("--model is required")
	}
	if *asJSON && *asCSV {
		return usagef("--json and --csv: choose one")
	}
	if err := checkOutput(e, "--html", *htmlOut); err != nil {
		return err
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
		Model: m, Catalog: cat, SLO: target, Policy: set, IncludeRoadmap: *roadmap, CrossVendor: *crossVendor,
		Objective: plan.Objective(*objective), Costs: costs, Headroom: *headroom, BudgetUSDPerHour: *budget,
		Engine: perf.Engine(*engine), Verify: *verify, VerifyRequests: *verifyRequests, Seed: *seed,
		Bands: accuracy.Default(), BandLevel: *level, Confidence: *confidence,
	}
	if err := checkBand(*level); err != nil {
		return err
	}
	if *confidence != 0 {
		if err := checkBand(*confidence); err != nil {
			return usagef("--confidence %g: want a level between 0.05 and 0.99, e.g. 0.9", *confidence)
		}
	}
	if _, err := parseEngine(*engine); err != nil {
		return err
	}
	if req.Params, err = loadParams(*paramsFile); err != nil {
		return err
	}
	if *verify < 0 || *verifyRequests < 1 {
		return usagef("--verify %d, --verify-requests %d: want ≥ 0 and ≥ 1", *verify, *verifyRequests)
	}
	if *chipList != "" {
		for _, id := range strings.Split(*chipList, ",") {
			c, err := cat.Chip(id)
			if err != nil {
				return fmt.Errorf("--chip: %w", err)
			}
			req.Chips = append(req.Chips, c)
		}
	}
	if *kvCache != "" {
		if req.KV, err = precisionFlag("--kv-cache", *kvCache); err != nil {
			return err
		}
	}
	if *memUtil < 0 || *memUtil > 1 {
		return usagef("--memory-utilization %g: want a fraction in (0, 1]", *memUtil)
	}
	req.MemoryUtilization = *memUtil
	if *maxChips < 1 {
		return usagef("--max-chips %d: want at least 1", *maxChips)
	}
	req.MaxChips = *maxChips
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
		if *rate < 0 || *rate == 0 && base.spec == "" || *input <= 0 || *output <= 0 {
			return usagef("give --rate, --input-tokens and --output-tokens (or --trace FILE; --rate may be left out with --baseline)")
		}
		if err := checkLengths(m, *input, *output); err != nil {
			return err
		}
		req.Traffic = plan.Traffic{RatePerS: *rate, InputTokens: *input, OutputTokens: *output}
	}
	req.Traffic.PrefixHit = *prefixHit
	chips := len(req.Chips)
	if chips == 0 {
		chips = len(cat.Chips)
	}
	bar := newProgress(e.stderr, chips)
	req.Progress = func(done, total int) {
		bar.add(1)
		if e.progress != nil {
			e.progress(done, total)
		}
	}
	// An interrupt skips the verification simulations still to run; the
	// analytic search completes and its result is printed (interrupt.go).
	// A second one kills the process: the signals are released at the
	// first.
	intr, release := e.interrupts()
	defer release()
	req.StopVerify = func() bool {
		if intr.drain() {
			release()
			return true
		}
		return false
	}
	res, err := base.run(cat, req)
	bar.finish()
	if err != nil {
		return err
	}
	if em.kind != "" {
		// Written before the plan's text, so a refusal to overwrite comes alone.
		if err := em.emit(e, res, cat, m, req.Engine, req.Params); err != nil || em.dir == "" {
			return err
		}
	}
	switch {
	case *asJSON:
		err = report.WriteJSON(e.stdout, planJSON{Result: res, WhyText: whyText(res), AnswerText: answerText(res)})
	case *asCSV:
		err = planCSV(res).WriteCSV(e.stdout)
	default:
		err = writePlan(e.stdout, res, planView{explain: *explain, wide: *wide, top: *top, cat: cat})
	}
	if err != nil {
		return err
	}
	if *htmlOut != "" {
		if err := writeReport(e, *htmlOut, req, res, args); err != nil {
			return err
		}
	}
	if intr.signal() != nil {
		return &interruptedError{sig: intr.signal(), what: "plans after the signal were not verified by simulation"}
	}
	if res.Recommended == nil && em.kind == "" {
		return fmt.Errorf("no plan: %s", whyText(res))
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

// traceTraffic reads a trace once: for its rate and mean lengths over the
// whole file, keeping its first limit requests in memory for the
// verification simulations to replay (one read and one open per plan,
// however many chips it verifies).
func traceTraffic(path, format string, scale float64, limit int) (plan.Traffic, error) {
	tf := trafficFlags{trace: path, traceFormat: format, timeScale: scale, requests: 1 << 30}
	src, closeFn, err := tf.source(nil, 16)
	if err != nil {
		return plan.Traffic{}, err
	}
	defer closeFn()
	var r workload.Request
	var n int
	var first, last, in, out float64
	var head []workload.Request
	for src.Next(&r) {
		if n == 0 {
			first = r.ArrivalS
		}
		last = r.ArrivalS
		in += float64(r.Input)
		out += float64(r.Output)
		if n < limit {
			q := r
			q.Hashes = slices.Clone(r.Hashes)
			head = append(head, q)
		}
		n++
	}
	if err := src.Err(); err != nil {
		return plan.Traffic{}, fmt.Errorf("--trace: %w", err)
	}
	if n < 2 || last <= first {
		return plan.Traffic{}, fmt.Errorf("--trace %s: want at least two requests spread over time (got %d)", path, n)
	}
	t := plan.Traffic{RatePerS: float64(n-1) / (last - first), InputTokens: in / float64(n), OutputTokens: out / float64(n)}
	t.Source = func() (workload.Source, error) { return workload.FromSlice(head), nil }
	return t, nil
}
