package cli

import (
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"ersatz/internal/accuracy"
	"ersatz/internal/corpus"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
	"ersatz/internal/plan"
	"ersatz/internal/policy"
	"ersatz/internal/report"
	"ersatz/internal/train"
	"ersatz/internal/units"
)

// trainFlags are the flags of `ersatz train`.
type trainFlags struct {
	model, chip, node, precision, tokens, policy, allow, deny, params, chipList, scenario string
	framework                                                                             string
	level                                                                                 float64
	uncalibrated                                                                          bool
	chips, seqLen, globalBatch, globalBatchTokens                                         int
	days, checkpointGBps, restartMin                                                      float64
	tp, pp, ep, cp, vpp, zero, micro                                                      int
	recompute                                                                             string
	tpOverlap, epOverlap, asJSON, asCSV, explain, roadmap                                 bool
	set                                                                                   map[string]bool
	costs                                                                                 plan.Costs
}

func (f *trainFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.scenario, "scenario", "", "a training scenario file (the training corpus format without measured, docs/train.md): price every case")
	fs.StringVar(&f.model, "model", "", "model id from `ersatz models`, or a config.json path (GPT2LMHeadModel configs included)")
	fs.StringVar(&f.chip, "chip", "", "chip id; without it every chip the policy allows is tried (needs --chips or --days)")
	fs.IntVar(&f.chips, "chips", 0, "chips (packages) in the cluster; without it --days finds the fewest")
	fs.StringVar(&f.node, "node", "", "node or supernode (default: the chip's), e.g. cloudmatrix384")
	fs.StringVar(&f.tokens, "tokens", "", "token budget of the run: 14.8e12, 14.8T, 500B")
	fs.IntVar(&f.seqLen, "seq-len", 4096, "tokens per sequence")
	fs.IntVar(&f.globalBatch, "global-batch", 0, "sequences per optimizer step (default: --global-batch-tokens / --seq-len)")
	fs.IntVar(&f.globalBatchTokens, "global-batch-tokens", 1<<24, "tokens per optimizer step when --global-batch is not given (16M, Llama 3's)")
	fs.StringVar(&f.precision, "precision", "bf16", "GEMM precision: bf16, fp16 or fp8")
	fs.IntVar(&f.tp, "tp", 0, "tensor-parallel degree (with sequence parallelism); unset: searched")
	fs.IntVar(&f.pp, "pp", 0, "pipeline stages; unset: searched")
	fs.IntVar(&f.ep, "ep", 0, "expert-parallel degree (folded over dp·cp·tp); unset: searched")
	fs.IntVar(&f.cp, "cp", 0, "context-parallel degree; unset: searched from 16K tokens, else 1")
	fs.IntVar(&f.vpp, "vpp", 0, "virtual pipeline stages per rank (interleaved 1F1B); unset: searched")
	fs.IntVar(&f.zero, "zero", -1, "ZeRO stage 0-3 (3 = FSDP); unset: 1 and 3 searched")
	fs.IntVar(&f.micro, "micro-batch", 0, "sequences per micro-batch; unset: 1, 2, 4 searched")
	fs.StringVar(&f.recompute, "recompute", "", "activation recompute: none, selective, full, or block (the fewest whole layers that fit); unset: none, selective and full searched")
	fs.BoolVar(&f.tpOverlap, "tp-overlap", false, "hide TP collectives behind the GEMMs (Megatron's --tp-comm-overlap, torchtitan's AsyncTP, MindSpeed's MC2)")
	fs.BoolVar(&f.epOverlap, "ep-overlap", false, "hide the expert all-to-all behind another micro-batch (DualPipe, 1F1B A2A overlap)")
	fs.StringVar(&f.framework, "framework", "other", "training framework (megatron, mindspeed, mindformers, torchtitan, fsdp, other): picks the band's measured error")
	fs.BoolVar(&f.uncalibrated, "uncalibrated", false, "the model alone: no training stack efficiency from the corpus (docs/train.md)")
	fs.Float64Var(&f.level, "band", 0.8, "level of the bands: the probability each holds the measured figure (0.5, 0.8, 0.9, ...)")
	fs.Float64Var(&f.days, "days", 0, "find the fewest chips that finish --tokens within this many days")
	fs.Float64Var(&f.checkpointGBps, "checkpoint-gbps", 0, "aggregate checkpoint write bandwidth, GB/s (default 0.122 per chip, Llama 3's 2 TB/s for 16K GPUs)")
	fs.Float64Var(&f.restartMin, "restart-minutes", 10, "minutes from an interruption to training again (estimate)")
	fs.StringVar(&f.policy, "policy", "none", "policy: a preset ("+strings.Join(policyIDs(), ", ")+"), a YAML file, or several joined by commas")
	fs.StringVar(&f.allow, "allow", "", "only these vendors or chips (comma-separated), on top of the policy")
	fs.StringVar(&f.deny, "deny", "", "never these vendors or chips (comma-separated)")
	fs.StringVar(&f.chipList, "candidates", "", "chips to compare without --chip (comma-separated; default every shipping chip)")
	fs.BoolVar(&f.roadmap, "include-roadmap", false, "also try announced, not yet shipping chips")
	fs.StringVar(&f.params, "params", "", "YAML file of efficiency parameters merged over the built-in ones")
	f.costs = plan.DefaultCosts
	fs.StringVar(&f.costs.Basis, "cost-basis", f.costs.Basis, "own (purchase price amortized plus power) or rent (hourly rental per chip)")
	fs.Float64Var(&f.costs.AmortizationYears, "amortization-years", f.costs.AmortizationYears, "years over which a purchase is written off (estimate)")
	fs.Float64Var(&f.costs.ElectricityUSDPerKWh, "electricity", f.costs.ElectricityUSDPerKWh, "electricity price, $/kWh (estimate)")
	fs.Float64Var(&f.costs.PUE, "pue", f.costs.PUE, "data-centre power usage effectiveness (estimate)")
	fs.BoolVar(&f.explain, "explain", false, "list every rejection reason with its count and an example layout")
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&f.asCSV, "csv", false, "print the result as CSV")
}

// parseCount reads 14.8e12, 14.8T, 500B or 2M.
func parseCount(s string) (float64, error) {
	s = strings.TrimSpace(s)
	mult := 1.0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'T', 't':
			mult, s = 1e12, s[:n-1]
		case 'B', 'b', 'G', 'g':
			mult, s = 1e9, s[:n-1]
		case 'M', 'm':
			mult, s = 1e6, s[:n-1]
		case 'K', 'k':
			mult, s = 1e3, s[:n-1]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a positive count such as 14.8e12 or 14.8T")
	}
	return v * mult, nil
}

// trainCase is one chip's answer.
type trainCase struct {
	Chip     string       `json:"chip"`
	Vendor   string       `json:"vendor"`
	Policy   string       `json:"policy"`
	Node     string       `json:"node"`
	Chips    int          `json:"chips"`
	Devices  int          `json:"devices"`
	Search   train.Search `json:"search"`
	Run      *train.Run   `json:"run,omitempty"`
	USDPerCH float64      `json:"usd_per_chip_hour"`
	Estimate bool         `json:"cost_is_estimate"`
	Reason   string       `json:"reason,omitempty"`
	// StackEfficiency is the corpus's share of the modelled speed this
	// job was priced at, and where it comes from; BandLevel the level of
	// the step's and the run's bands.
	StackEfficiency float64 `json:"stack_efficiency"`
	EfficiencyFrom  string  `json:"stack_efficiency_from"`
	BandLevel       float64 `json:"band_level"`
	job             train.Job
	defaultNode     string
	est             *train.Estimator
}

func runTrain(e *env, args []string) error {
	fs := newFlags(e, "train", "--model M --tokens N (--chip C --chips N | --days D) [layout flags] [--policy P] [--json|--csv]")
	var cats catalogs
	cats.register(fs)
	var f trainFlags
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if err := checkBand(f.level); err != nil {
		return err
	}
	if err := train.CheckFramework(f.framework); err != nil {
		return usagef("--framework: %v", err)
	}
	if f.scenario != "" {
		return f.runScenario(e, &cats)
	}
	if f.model == "" {
		return usagef("--model is required")
	}
	if f.tokens == "" {
		return usagef("--tokens is required (the run's token budget, e.g. 14.8T)")
	}
	tokens, err := parseCount(f.tokens)
	if err != nil {
		return usagef("--tokens %q: %v", f.tokens, err)
	}
	if f.asJSON && f.asCSV {
		return usagef("--json and --csv: choose one")
	}
	if f.chips == 0 && f.days <= 0 {
		return usagef("--chips or --days is required")
	}
	if f.chips > 0 && f.days > 0 {
		return usagef("--chips and --days: choose one (--days finds the chip count)")
	}
	if f.chips < 0 || f.days < 0 || f.seqLen < 1 || f.globalBatch < 0 || f.globalBatchTokens < 1 {
		return usagef("--chips %d, --days %g, --seq-len %d, --global-batch %d: want positive values", f.chips, f.days, f.seqLen, f.globalBatch)
	}
	prec, err := hardware.ParsePrecision(f.precision)
	if err != nil || (prec != hardware.BF16 && prec != hardware.FP16 && prec != hardware.FP8) {
		return usagef("--precision %q: want bf16, fp16 or fp8", f.precision)
	}
	var rc train.Recompute
	if f.recompute != "" {
		if rc, err = train.ParseRecompute(f.recompute); err != nil {
			return usagef("--recompute: %v", err)
		}
	}
	if f.zero > 3 || (f.set["zero"] && f.zero < 0) {
		return usagef("--zero %d: want a stage 0 to 3", f.zero)
	}
	for _, d := range []struct {
		n string
		v int
	}{{"tp", f.tp}, {"pp", f.pp}, {"ep", f.ep}, {"cp", f.cp}, {"vpp", f.vpp}, {"micro-batch", f.micro}} {
		if f.set[d.n] && d.v < 1 {
			return usagef("--%s %d: want a positive degree", d.n, d.v)
		}
	}
	if err := f.costs.Validate(); err != nil {
		return usagef("--cost-basis: %v", err)
	}
	cat, params, err := f.inputs(e, &cats)
	if err != nil {
		return err
	}
	m, err := resolveModel(f.model, "")
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	set, err := policies(cat, f.policy, f.allow, f.deny)
	if err != nil {
		return err
	}
	opts := train.RunOptions{Tokens: tokens, CheckpointBytesPerSecond: f.checkpointGBps * 1e9, RestartSeconds: f.restartMin * 60}
	var chips []candidate
	if f.chip != "" {
		c, err := cat.Chip(f.chip)
		if err != nil {
			return fmt.Errorf("--chip: %w", err)
		}
		chips = []candidate{{c, f.node}}
	} else {
		chips, err = candidateChips(cat, f.chipList, f.roadmap)
		if err != nil {
			return err
		}
	}
	var cases []*trainCase
	for _, cd := range chips {
		c := cd.chip
		tc := f.solve(cat, params, m, c, cd.node, prec, rc, opts)
		d := set.Decide(c)
		tc.Policy = string(d.Action)
		if tc.Policy == "" {
			tc.Policy = "allow"
		}
		cases = append(cases, tc)
	}
	if len(chips) == 1 {
		tc := cases[0]
		if tc.Reason != "" {
			return fmt.Errorf("%s on %s: %s", m.ID, tc.Chip, tc.Reason)
		}
		if d := set.Decide(chips[0].chip); !d.Allowed() {
			fmt.Fprintf(e.stderr, "ersatz train: warning: %s is not allowed under %s: %s\n", tc.Chip, set.ID(), d)
		}
		return f.writeOne(e.stdout, m, tc)
	}
	return f.writeMany(e.stdout, m, cases, set)
}

// candidate is a chip and, where given, the node it sits in.
type candidate struct {
	chip *hardware.Chip
	node string
}

// candidateChips lists the chips to compare: --candidates (chip or
// chip@node, e.g. ascend-910c@cloudmatrix384), or every shipping chip
// that computes in 16 bit.
func candidateChips(cat *hardware.Catalog, list string, roadmap bool) ([]candidate, error) {
	var out []candidate
	if list != "" {
		for _, n := range strings.Split(list, ",") {
			name, node, _ := strings.Cut(strings.TrimSpace(n), "@")
			c, err := cat.Chip(name)
			if err != nil {
				return nil, fmt.Errorf("--candidates: %w", err)
			}
			if node != "" {
				if _, err := cat.Node(node); err != nil {
					return nil, fmt.Errorf("--candidates %s: %w", n, err)
				}
			}
			out = append(out, candidate{c, node})
		}
		return out, nil
	}
	for _, c := range cat.Chips {
		if c.Status != "shipping" && !roadmap {
			continue
		}
		if !c.Runs(hardware.BF16) && !c.Runs(hardware.FP16) {
			continue
		}
		out = append(out, candidate{c, ""})
	}
	return out, nil
}

// solve finds the best layout of one chip: at --chips, or the fewest
// chips that finish in --days.
func (f *trainFlags) solve(cat *hardware.Catalog, params *perf.Params, m *model.Model, c *hardware.Chip, nodeName string, prec hardware.Precision, rc train.Recompute, opts train.RunOptions) *trainCase {
	tc := &trainCase{Chip: c.ID, Vendor: c.Vendor, defaultNode: c.Node,
		StackEfficiency: 1, EfficiencyFrom: "uncalibrated (--uncalibrated)", BandLevel: f.level}
	if nodeName == "" {
		nodeName = c.Node
	}
	node, err := cat.Node(nodeName)
	if err != nil {
		tc.Reason = "--node: " + err.Error()
		return tc
	}
	tc.Node = node.ID
	if prec == hardware.FP8 && !c.Runs(hardware.FP8) {
		tc.Reason = "no fp8 compute"
		return tc
	}
	gb := f.globalBatch
	if gb == 0 {
		gb = max(1, f.globalBatchTokens/f.seqLen)
	}
	hourly, estimate, err := f.costs.ChipHourly(c, node)
	if err == nil {
		opts.USDPerChipHour = hourly
		tc.USDPerCH, tc.Estimate = hourly, estimate
	}
	opts.WattsPerChip = f.costs.ChipPower(c, node)
	if !f.uncalibrated {
		tc.StackEfficiency, tc.EfficiencyFrom = train.DefaultCalibration().Efficiency(f.framework, c.Family)
		if f.framework != train.InHouse {
			tc.EfficiencyFrom = "measured on the training corpus for " + tc.EfficiencyFrom
		}
	}
	newJob := func(n int) (*train.Estimator, error) {
		j := train.Job{Model: m, Chip: c, Node: node, Chips: n, Precision: prec, SeqLen: f.seqLen, GlobalBatch: gb, FlashAttention: true,
			Efficiency: tc.StackEfficiency}
		return train.New(j, params)
	}
	space := func(est *train.Estimator) train.Space {
		j := est.Job()
		s := train.DefaultSpace(&j, est.Domain())
		pin := func(dst *[]int, name string, v int) {
			if f.set[name] {
				*dst = []int{v}
			}
		}
		pin(&s.TP, "tp", f.tp)
		pin(&s.PP, "pp", f.pp)
		pin(&s.EP, "ep", f.ep)
		pin(&s.CP, "cp", f.cp)
		pin(&s.VPP, "vpp", f.vpp)
		pin(&s.ZeRO, "zero", f.zero)
		pin(&s.MicroBatch, "micro-batch", f.micro)
		if rc != "" {
			s.Recompute = []train.Recompute{rc}
		}
		s.TPOverlap = []bool{f.tpOverlap}
		s.EPOverlap = []bool{f.epOverlap}
		return s
	}
	if f.chips > 0 {
		est, err := newJob(f.chips)
		if err != nil {
			tc.Reason = err.Error()
			return tc
		}
		tc.est = est
		tc.Chips = f.chips
		tc.Search = est.Search(space(est))
	} else {
		dpc := c.EngineDevices()
		step := max(1, 8/dpc)
		if node.ChipsPerNode > 0 {
			step = node.ChipsPerNode
		}
		n, s, _, err := train.FewestChips(newJob, space, opts, f.days, step, step, 1<<17)
		if err != nil {
			tc.Reason = err.Error()
			return tc
		}
		tc.Chips, tc.Search = n, s
		tc.est, _ = newJob(n)
	}
	tc.job = tc.est.Job()
	tc.Devices = tc.job.Devices()
	if tc.Search.Best == nil {
		tc.Reason = fmt.Sprintf("no layout of %d fits: %s", tc.Search.Tried, tc.Search.Why())
		return tc
	}
	// The band at --band: the spreads of the inputs with the estimator's
	// measured error for this framework on this family.
	b := tc.Search.Best
	b.StepLow, b.StepHigh = f.stepBand(b, c.Family, f.framework)
	run, err := tc.est.Plan(*tc.Search.Best, opts)
	if err != nil {
		tc.Reason = err.Error()
		return tc
	}
	tc.Run = &run
	return tc
}

// stepBand is the step's band at --band: the input spreads with the
// estimator's residual spread for framework on family, or, with
// --uncalibrated, the input spreads alone (the residual table measures
// the calibrated estimator's error, not the model's).
func (f *trainFlags) stepBand(r *train.Result, family, framework string) (units.Seconds, units.Seconds) {
	v, lo, hi := float64(r.Step.Total), float64(r.StepLow), float64(r.StepHigh)
	if f.uncalibrated {
		lo, hi = accuracy.ParamBand(v, lo, hi, f.level)
	} else {
		lo, hi, _ = accuracy.DefaultTraining().Band(accuracy.TrainingRegime(framework, family), "step_time_s", v, lo, hi, f.level)
	}
	return units.Seconds(lo), units.Seconds(hi)
}

// tokenCount prints 14.8T, 500B.
func tokenCount(v float64) string {
	switch {
	case v >= 1e12:
		return report.Num(v/1e12, 3) + "T"
	case v >= 1e9:
		return report.Num(v/1e9, 3) + "B"
	}
	return report.Num(v, 3)
}

func gbOf(b float64) string { return report.Num(b/1e9, 3) }

// writeOne prints one chip's best layout in full.
func (f *trainFlags) writeOne(w io.Writer, m *model.Model, tc *trainCase) error {
	best := tc.Search.Best
	if f.asJSON {
		return report.WriteJSON(w, tc)
	}
	if f.asCSV {
		t := trainCSV([]*trainCase{tc})
		return t.WriteCSV(w)
	}
	j := tc.job
	fmt.Fprintf(w, "%s on %d × %s (%d devices, %s), %s GEMMs, %d-token sequences, global batch %d sequences (%s tokens)\n",
		m.ID, tc.Chips, tc.Chip, tc.Devices, tc.Node, j.Precision, j.SeqLen, j.GlobalBatch, report.Num(float64(j.GlobalBatch*j.SeqLen), 3))
	fmt.Fprintf(w, "layout: %s  (%d layouts tried, %d fit)\n", best.Layout, tc.Search.Tried, tc.Search.Feasible)
	if r := tc.Search.RunnerUp; r != nil {
		fmt.Fprintf(w, "runner-up: %s, step %+.1f%%\n", r.Layout, (float64(r.Step.Total)/float64(best.Step.Total)-1)*100)
	}
	fmt.Fprintf(w, "\nstep %s s (%s–%s, %.0f%% band), %d micro-batches per data-parallel rank; bound by %s\n",
		report.Num(float64(best.Step.Total), 3), report.Num(float64(best.StepLow), 3), report.Num(float64(best.StepHigh), 3), tc.BandLevel*100, best.MicroBatches, best.Binding)
	fmt.Fprintf(w, "stack efficiency %.3g of the modelled speed: %s\n", tc.StackEfficiency, tc.EfficiencyFrom)
	t := &report.Table{Header: []string{"component", "seconds", "share", "bound"}, Right: map[int]bool{1: true, 2: true}}
	for _, p := range best.Step.Parts() {
		if p.Seconds == 0 || p.Seconds < 0 && p.Name != "stack" {
			continue
		}
		t.Add(p.Name, report.Num(float64(p.Seconds), 3), fmt.Sprintf("%.1f%%", float64(p.Seconds)/float64(best.Step.Total)*100), p.Bound)
	}
	if err := t.WriteText(w); err != nil {
		return err
	}
	mem := best.Memory
	fmt.Fprintf(w, "\nmemory per device (%s stage, %s micro-batches in flight), GB\n", mem.Stage, report.Num(mem.InFlight, 3))
	mt := &report.Table{Header: []string{"term", "GB"}, Right: map[int]bool{1: true}}
	for _, x := range []struct {
		n string
		b float64
	}{{"weights", float64(mem.Weights)}, {"gradients", float64(mem.Gradients)}, {"optimizer states", float64(mem.Optimizer)}, {"activations", float64(mem.Activations)}, {"logits", float64(mem.Logits)}, {"total", float64(mem.Total)}, {"usable", float64(mem.Usable)}} {
		if x.b > 0 || x.n == "total" {
			mt.Add(x.n, gbOf(x.b))
		}
	}
	if err := mt.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nthroughput: %s tokens/s (%s per chip); %s model TFLOP/s per chip, MFU %.1f%% of the %s peak (6 × active matmul parameters + causal attention; recompute not counted)\n",
		report.Num(best.TokensPerSecond, 4), report.Num(best.TokensPerSecond/float64(tc.Chips), 4), report.Num(best.ModelTFLOPSPerChip, 4), best.MFU*100, j.Precision)
	if r := tc.Run; r != nil {
		fmt.Fprintf(w, "run of %s tokens: %s days (%s–%s), %s chip-hours (%s–%s)",
			tokenCount(r.Tokens), report.Num(r.Days, 3), report.Num(r.DaysLow, 3), report.Num(r.DaysHigh, 3),
			report.Num(r.ChipHours, 3), report.Num(r.ChipHoursLow, 3), report.Num(r.ChipHoursHigh, 3))
		if r.CostUSD > 0 {
			fmt.Fprintf(w, ", $%s (%s basis)", report.Num(r.CostUSD, 3), f.costs.Basis)
		}
		fmt.Fprintf(w, ", %s MWh\n", report.Num(r.EnergyMWh, 3))
		fmt.Fprintf(w, "failures: %.3g interruptions per chip-year (%s); MTBF %s h, %s interruptions expected\n",
			r.InterruptionsPerChipYear, r.FailureSource, report.Num(r.MTBFHours, 3), report.Num(r.Interruptions, 3))
		fmt.Fprintf(w, "checkpoints: %s GB in %s s every %s min (Daly), restart %s min; goodput %.1f%%\n",
			gbOf(r.CheckpointBytes), report.Num(r.CheckpointSeconds, 3), report.Num(r.CheckpointIntervalSeconds/60, 3), report.Num(r.RestartSeconds/60, 3), r.Goodput*100)
	}
	f.writeRejections(w, tc.Search)
	if f.uncalibrated {
		fmt.Fprintln(w, "\nEstimates: costs as `ersatz plan` (chip prices and rents are catalog estimates); the model alone (--uncalibrated): bands from the chip's and the parameters' spreads only, and ×0.5–2 on estimated failure rates.")
		return nil
	}
	fmt.Fprintf(w, "\nEstimates: costs as `ersatz plan` (chip prices and rents are catalog estimates); bands are %.0f%% intervals: the chip's and the parameters' spreads with the estimator's error measured on the training corpus for --framework %s on the chip's family (docs/train.md), and ×0.5–2 on estimated failure rates.\n", tc.BandLevel*100, f.framework)
	return nil
}

func (f *trainFlags) writeRejections(w io.Writer, s train.Search) {
	if len(s.Rejections) == 0 {
		return
	}
	n := len(s.Rejections)
	if !f.explain {
		n = min(n, 3)
	}
	fmt.Fprintf(w, "rejected %d of %d layouts:", s.Tried-s.Feasible, s.Tried)
	for _, r := range s.Rejections[:n] {
		fmt.Fprintf(w, "\n  %s: %s (e.g. %s)", report.Num(float64(r.Count), 4), r.Reason, r.Example)
	}
	if n < len(s.Rejections) {
		fmt.Fprintf(w, "\n  … %d more reasons (--explain)", len(s.Rejections)-n)
	}
	fmt.Fprintln(w)
}

func trainCSV(cases []*trainCase) *report.Table {
	t := &report.Table{Header: []string{"chip", "policy", "chips", "layout", "step_s", "step_low_s", "step_high_s", "tokens_per_s", "mfu", "memory_gb", "days", "days_low", "days_high", "chip_hours", "cost_usd", "energy_mwh", "goodput", "binding", "reason"}}
	for _, tc := range cases {
		if tc.Search.Best == nil || tc.Run == nil {
			t.Add(tc.Chip, tc.Policy, tc.Chips, "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", tc.Reason)
			continue
		}
		b, r := tc.Search.Best, tc.Run
		t.Add(tc.Chip, tc.Policy, tc.Chips, b.Layout.String(), fmt.Sprintf("%.4g", float64(b.Step.Total)), fmt.Sprintf("%.4g", float64(b.StepLow)), fmt.Sprintf("%.4g", float64(b.StepHigh)),
			fmt.Sprintf("%.6g", b.TokensPerSecond), fmt.Sprintf("%.4f", b.MFU), fmt.Sprintf("%.4g", b.Memory.Total.GB()),
			fmt.Sprintf("%.4g", r.Days), fmt.Sprintf("%.4g", r.DaysLow), fmt.Sprintf("%.4g", r.DaysHigh), fmt.Sprintf("%.6g", r.ChipHours), fmt.Sprintf("%.6g", r.CostUSD),
			fmt.Sprintf("%.4g", r.EnergyMWh), fmt.Sprintf("%.4f", r.Goodput), b.Binding, "")
	}
	return t
}

// label is the chip, with its node when that is not the chip's default.
func (tc *trainCase) label() string {
	if tc.Node != "" && tc.Node != tc.defaultNode {
		return tc.Chip + "@" + tc.Node
	}
	return tc.Chip
}

// writeMany prints the per-chip comparison, the recommendation under the
// policy and the ban's impact against the best chip overall.
func (f *trainFlags) writeMany(w io.Writer, m *model.Model, cases []*trainCase, set policy.Set) error {
	cost := func(tc *trainCase) float64 {
		if tc.Run == nil {
			return math.Inf(1)
		}
		if tc.Run.CostUSD > 0 {
			return tc.Run.CostUSD
		}
		return tc.Run.ChipHours * 1e6 // no price: after every priced chip
	}
	sort.SliceStable(cases, func(a, b int) bool { return cost(cases[a]) < cost(cases[b]) })
	var allowed, any *trainCase
	for _, tc := range cases {
		if tc.Run == nil {
			continue
		}
		if any == nil {
			any = tc
		}
		if allowed == nil && tc.Policy != string(policy.Deny) {
			allowed = tc
		}
	}
	type out struct {
		Model        string       `json:"model"`
		Policy       string       `json:"policy"`
		Chips        []*trainCase `json:"chips"`
		Recommended  *trainCase   `json:"recommended,omitempty"`
		Unrestricted *trainCase   `json:"unrestricted,omitempty"`
	}
	if f.asJSON {
		return report.WriteJSON(w, out{Model: m.ID, Policy: set.ID(), Chips: cases, Recommended: allowed, Unrestricted: any})
	}
	if f.asCSV {
		return trainCSV(cases).WriteCSV(w)
	}
	goal := fmt.Sprintf("on %d chips", f.chips)
	if f.chips == 0 {
		goal = fmt.Sprintf("in at most %g days", f.days)
	}
	fmt.Fprintf(w, "Training %s on %s tokens %s; policy %s; cost basis %s.\n\n", m.ID, f.tokens, goal, set.ID(), f.costs.Basis)
	t := &report.Table{Header: []string{"chip", "policy", "chips", "layout", "step s", "MFU", "days", "chip-hours", "cost $", "MWh", "goodput", "binding"},
		Right: map[int]bool{2: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true}}
	var none []string
	for _, tc := range cases {
		if tc.Run == nil {
			none = append(none, tc.label()+" ("+tc.Reason+")")
			continue
		}
		b, r := tc.Search.Best, tc.Run
		t.Add(tc.label(), tc.Policy, tc.Chips, b.Layout.String(), report.Num(float64(b.Step.Total), 3), fmt.Sprintf("%.1f%%", b.MFU*100),
			fmt.Sprintf("%s (%s–%s)", report.Num(r.Days, 3), report.Num(r.DaysLow, 3), report.Num(r.DaysHigh, 3)),
			report.Num(r.ChipHours, 3), report.Num(r.CostUSD, 3), report.Num(r.EnergyMWh, 3), fmt.Sprintf("%.1f%%", r.Goodput*100), b.Binding)
	}
	if err := t.WriteText(w); err != nil {
		return err
	}
	if len(none) > 0 {
		fmt.Fprintf(w, "No layout on: %s\n", strings.Join(none, "; "))
	}
	if allowed == nil {
		fmt.Fprintf(w, "\nNothing the policy allows can do it.\n")
		return nil
	}
	fmt.Fprintf(w, "\nRecommended under %s: %d × %s (%s), %s days, %s chip-hours, $%s; bound by %s.\n", set.ID(), allowed.Chips, allowed.label(),
		allowed.Search.Best.Layout, report.Num(allowed.Run.Days, 3), report.Num(allowed.Run.ChipHours, 3), report.Num(allowed.Run.CostUSD, 3), allowed.Search.Best.Binding)
	if any != nil && any != allowed {
		fmt.Fprintf(w, "Ban impact: without the policy %d × %s, $%s: the policy costs ×%.2f in money, %+d chips, %+.1f days.\n", any.Chips, any.label(),
			report.Num(any.Run.CostUSD, 3), allowed.Run.CostUSD/any.Run.CostUSD, allowed.Chips-any.Chips, allowed.Run.Days-any.Run.Days)
	}
	return nil
}

// validateTraining runs `ersatz validate` on a training corpus: the
// built-in one (--corpus training) or a file whose top level says
// `kind: training`. done is false for a serving corpus.
func validateTraining(e *env, fset *flag.FlagSet, name string, cat *hardware.Catalog, params *perf.Params, asJSON bool, level float64) (done bool, err error) {
	var data []byte
	var fsys iofs.FS
	switch name {
	case "training":
		data, fsys = train.Shipped(), train.ShippedFS()
	case "training-independent":
		data, fsys = train.Independent(), train.ShippedFS()
	default:
		if _, builtin := builtinCorpora[name]; builtin {
			return false, nil
		}
		data, err = readFile(name)
		if err != nil {
			return true, err
		}
		if !train.IsTraining(data) {
			return false, nil
		}
		fsys = os.DirFS(filepath.Dir(name))
	}
	f, warns, err := train.ParseCorpus(data)
	if err != nil {
		return true, fmt.Errorf("%s: %w", name, err)
	}
	for _, w := range warns {
		fmt.Fprintf(e.stderr, "ersatz validate: warning: %v\n", w)
	}
	cv := false
	if fl := fset.Lookup("cv"); fl != nil {
		cv = fl.Value.String() == "true"
	}
	uncal := false
	if fl := fset.Lookup("uncalibrated"); fl != nil {
		uncal = fl.Value.String() == "true"
	}
	pr := &train.Predictor{Hardware: cat, Models: model.Default(), Params: params, FS: fsys}
	var rep *corpus.Report
	switch {
	case uncal && cv:
		return true, usagef("--uncalibrated and --cv: the model alone calibrates nothing to hold out; choose one")
	case uncal:
		rep = train.Evaluate(f.Cases, pr.Predict)
		rep.Note = "the model alone (--uncalibrated): no training stack efficiency; bands from the chip's and the parameters' spreads only"
	case cv:
		rep = accuracy.NewTraining(f.Cases, pr, familyOf(cat)).CrossValidate(level)
	default:
		pr.Calibration = train.DefaultCalibration()
		table, family := accuracy.DefaultTraining(), familyOf(cat)
		rep = train.Evaluate(f.Cases, func(c *train.Case) (corpus.Prediction, error) {
			p, err := pr.Predict(c)
			if err == nil {
				p.Low, p.High, _ = table.Band(accuracy.TrainingRegime(c.FrameworkName(), family(c.Chip)), c.Metric, p.Value, p.Low, p.High, level)
			}
			return p, err
		})
		rep.BandLevel = level
		rep.Note = fmt.Sprintf("training stack efficiency and residual spreads from the shipped training corpus (in-sample for its cases; --cv holds each source out); bands are %.0f%% intervals", level*100)
	}
	rep.SetVendors(vendorOf(cat))
	if asJSON {
		return true, report.WriteJSON(e.stdout, rep)
	}
	if err := rep.WriteText(e.stdout, vendorOf(cat)); err != nil {
		return true, err
	}
	return true, nil
}

// scenarioRow is one scenario case's answer.
type scenarioRow struct {
	ID       string        `json:"id"`
	Chip     string        `json:"chip"`
	Chips    int           `json:"chips"`
	Searched bool          `json:"searched"`
	Result   *train.Result `json:"result,omitempty"`
	Run      *train.Run    `json:"run,omitempty"`
	Reason   string        `json:"reason,omitempty"`
}

// inputs are the hardware catalog (with the user's --catalog) and the
// efficiency parameters (with --params) every training run reads.
func (f *trainFlags) inputs(e *env, cats *catalogs) (*hardware.Catalog, *perf.Params, error) {
	cat, err := cats.hardware(e)
	if err != nil {
		return nil, nil, err
	}
	params, err := loadParams(f.params)
	if err != nil {
		return nil, nil, err
	}
	return cat, params, nil
}

// runScenario prices every case of a training scenario file: its own
// layout, or the best of the degrees it leaves open, and the run when the
// case (or --tokens) gives a token budget.
func (f *trainFlags) runScenario(e *env, cats *catalogs) error {
	cat, params, err := f.inputs(e, cats)
	if err != nil {
		return err
	}
	data, err := readFile(f.scenario)
	if err != nil {
		return err
	}
	file, warns, err := train.ParseCorpus(data)
	if err != nil {
		return fmt.Errorf("%s: %w", f.scenario, err)
	}
	for _, w := range warns {
		fmt.Fprintf(e.stderr, "ersatz train: warning: %v\n", w)
	}
	var tokens float64
	if f.tokens != "" {
		if tokens, err = parseCount(f.tokens); err != nil {
			return usagef("--tokens %q: %v", f.tokens, err)
		}
	}
	p := &train.Predictor{Hardware: cat, Models: model.Default(), Params: params, FS: os.DirFS(filepath.Dir(f.scenario))}
	if !f.uncalibrated {
		p.Calibration = train.DefaultCalibration()
	}
	family := familyOf(cat)
	var rows []scenarioRow
	failed := 0
	for i := range file.Cases {
		c := &file.Cases[i]
		if c.Framework == "" && f.set["framework"] {
			c.Framework = f.framework // --framework is the default of cases that name none
		}
		row := scenarioRow{ID: c.ID, Chip: c.Chip, Chips: c.Chips}
		est, res, searched, err := p.Resolve(c)
		if err != nil {
			row.Reason = err.Error()
			failed++
			rows = append(rows, row)
			continue
		}
		res.StepLow, res.StepHigh = f.stepBand(&res, family(c.Chip), c.FrameworkName())
		row.Searched, row.Result = searched, &res
		budget := c.Tokens
		if budget == 0 {
			budget = tokens
		}
		if budget > 0 {
			if run, err := est.Plan(res, train.RunOptions{Tokens: budget}); err == nil {
				row.Run = &run
			}
		}
		rows = append(rows, row)
	}
	if f.asJSON {
		if err := report.WriteJSON(e.stdout, rows); err != nil {
			return err
		}
	} else {
		t := &report.Table{Header: []string{"id", "chip", "chips", "layout", "step s", "MFU", "tok/s/chip", "GB/device", "days", "chip-hours", "binding"},
			Right: map[int]bool{2: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true}}
		for _, r := range rows {
			if r.Result == nil {
				t.Add(r.ID, r.Chip, r.Chips, "-", "-", "-", "-", "-", "-", "-", r.Reason)
				continue
			}
			b := r.Result
			lay := b.Layout.String()
			if r.Searched {
				lay += " (searched)"
			}
			days, ch := "-", "-"
			if r.Run != nil {
				days, ch = report.Num(r.Run.Days, 3), report.Num(r.Run.ChipHours, 3)
			}
			t.Add(r.ID, r.Chip, r.Chips, lay, report.Num(float64(b.Step.Total), 3), fmt.Sprintf("%.1f%%", b.MFU*100),
				report.Num(b.TokensPerSecond/float64(r.Chips), 4), report.Num(b.Memory.Total.GB(), 3), days, ch, b.Binding)
		}
		var err error
		if f.asCSV {
			err = t.WriteCSV(e.stdout)
		} else {
			err = t.WriteText(e.stdout)
		}
		if err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d cases could not be priced", failed, len(rows))
	}
	return nil
}
