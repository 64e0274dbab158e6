package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"ersatz/internal/corpus"
	"ersatz/internal/perf"
	"ersatz/internal/predict"
	"ersatz/internal/report"
)

func runPredict(e *env, args []string) error {
	fs := newFlags(e, "predict", "(--scenario FILE | --model M --chip C --chips N [--tp ...] --input-tokens I --output-tokens O [--concurrency N|--rate R|--batch-per-chip B]) [--json]")
	var d deployFlags
	d.catalogs.register(fs)
	d.register(fs)
	fs.StringVar(&d.node, "node", "", "node or supernode the instance runs in (see ersatz nodes; default: the chip's)")
	scenario := fs.String("scenario", "", "scenario file: the corpus format without measured (docs/corpus.md)")
	engine := fs.String("engine", "vllm", "serving engine: vllm, sglang, trtllm, mindie or other")
	input := fs.Float64("input-tokens", 1024, "mean prompt length")
	output := fs.Float64("output-tokens", 256, "mean output length")
	prefixHit := fs.Float64("prefix-hit", 0, "share of prompt tokens already in the KV cache")
	contextTokens := fs.Float64("context-tokens", 0, "decode only: KV length each sequence holds")
	concurrency := fs.Int("concurrency", 0, "requests in flight over the deployment")
	rate := fs.Float64("rate", 0, "Poisson arrivals per second over the deployment")
	batch := fs.Float64("batch-per-chip", 0, "decode sequences in flight per chip")
	instances := fs.Int("instances", 1, "instances (replicas) of the deployment")
	specTokens := fs.Int("spec-tokens", 0, "speculative decoding: draft tokens per step")
	specAcc := fs.Float64("spec-acceptance", 0.7, "speculative decoding: acceptance per draft token")
	eager := fs.Bool("enforce-eager", false, "the engine runs without captured graphs (vLLM --enforce-eager, SGLang --disable-cuda-graph)")
	graphMax := fs.Int("cuda-graph-max-batch", 0, "largest per-rank batch the engine captures a graph for (default: the engine's)")
	var slo sloFlags
	slo.register(fs)
	params := fs.String("params", "", "YAML file of efficiency parameters merged over the built-in ones")
	asJSON := fs.Bool("json", false, "print JSON")
	level := bandFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkBand(*level); err != nil {
		return err
	}
	cat, err := d.hardware(e)
	if err != nil {
		return err
	}
	p, err := loadParams(*params)
	if err != nil {
		return err
	}
	var f *corpus.File
	pred := newPredictor(cat, p, os.DirFS("."))
	if *scenario != "" {
		// Everything but the output and the catalogs comes from the file.
		var conflicts []string
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "scenario", "json", "catalog", "params":
			default:
				conflicts = append(conflicts, "--"+fl.Name)
			}
		})
		if len(conflicts) > 0 {
			return usagef("--scenario describes the deployment and the load; drop %s (give them in the file: docs/corpus.md)", strings.Join(conflicts, ", "))
		}
		ff, dir, warns, err := loadCases(*scenario, corpus.ScenarioMode)
		if err != nil {
			return err
		}
		f = ff
		pred.ResolveModel = predict.FSResolver(dir, ".")
		for _, w := range warns {
			fmt.Fprintf(e.stderr, "ersatz predict: warning: %v\n", w)
		}
	} else {
		r, err := d.resolve(e)
		if err != nil {
			return err
		}
		if err := checkLengths(r.model, *input, *output); err != nil {
			return err
		}
		pred = newPredictor(r.cat, p, os.DirFS(".")) // r.cat places the chip in --node
		var load corpus.Load
		n := 0
		if *concurrency != 0 {
			if *concurrency < 0 {
				return usagef("--concurrency %d: want a positive number of requests in flight", *concurrency)
			}
			load.Concurrency, n = concurrency, n+1
		}
		if *rate != 0 {
			if *rate < 0 {
				return usagef("--rate %g: want a positive rate (requests/s)", *rate)
			}
			load.RatePerS, n = rate, n+1
		}
		if *batch != 0 {
			if *batch < 0 {
				return usagef("--batch-per-chip %g: want a positive batch", *batch)
			}
			load.BatchPerChip, n = batch, n+1
		}
		if n > 1 {
			return usagef("--concurrency, --rate and --batch-per-chip: give at most one")
		}
		c := corpus.Case{
			ID: "flags", Model: d.model, Chip: r.chip.ID, Engine: *engine,
			Precision: corpus.Precision{Weights: string(r.weights), Activations: string(r.acts), KVCache: string(r.kv)},
			Serving:   "aggregated", Phase: "all",
			Instances: []corpus.Instance{{Role: "mixed", Count: *instances, Chips: r.layout.Devices() / r.chip.EngineDevices(),
				TP: r.layout.TP, PP: r.layout.PP, EP: r.layout.EP, DP: r.layout.DP}},
			Workload: corpus.Workload{InputTokens: *input, OutputTokens: *output, PrefixCacheHit: *prefixHit, ContextTokens: *contextTokens, Load: load},
		}
		if slo.any() {
			target, err := slo.slo()
			if err != nil {
				return err
			}
			c.SLO = &corpus.SLO{TTFTms: target.TTFTS * 1e3, TPOTms: target.TPOTS * 1e3, Percentile: target.Percentile}
		} else if n == 0 {
			offline := true
			c.Workload.Load.Offline = &offline
		}
		if *graphMax < 0 {
			return usagef("--cuda-graph-max-batch %d: want a positive batch (--enforce-eager runs without graphs)", *graphMax)
		}
		var args corpus.EngineArgs
		if *eager {
			args.EnforceEager = eager
		}
		if *graphMax != 0 {
			args.CUDAGraphMaxBatch = graphMax
		}
		if r.memUtil > 0 {
			args.GPUMemoryUtilization = &r.memUtil
		}
		if args != (corpus.EngineArgs{}) {
			c.EngineArgs = &args
		}
		if *specTokens > 0 {
			c.Speculative = &corpus.Speculative{Method: "mtp", DraftTokens: *specTokens, Acceptance: specAcc}
		}
		if err := c.Check(corpus.ScenarioMode); err != nil {
			return usagef("%v", err)
		}
		f = &corpus.File{Version: corpus.Version, Cases: []corpus.Case{c}}
	}
	banded := bandedPredictor(pred, cat, *level)
	var outs []prediction
	for i := range f.Cases {
		c := &f.Cases[i]
		out := prediction{ID: c.ID, Metric: c.Metric, BandLevel: *level}
		ev, err := pred.Evaluate(c, banded)
		if err != nil {
			out.Reason = err.Error()
		} else {
			out.Result, out.KVTokens = &ev.Result, ev.KVTokens
			if m := ev.Metric; m != nil {
				out.Value, out.Low, out.High = &m.Value, m.Low, m.High
			}
			out.Bands = headlineBands(banded, c)
		}
		outs = append(outs, out)
	}
	if *asJSON {
		return report.WriteJSON(e.stdout, map[string]any{"predictions": outs})
	}
	failed := 0
	for i, o := range outs {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		if err := writePrediction(e.stdout, &f.Cases[i], o); err != nil {
			return err
		}
		if o.Reason != "" {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d cases could not be predicted", failed, len(outs))
	}
	return nil
}

type prediction struct {
	ID       string   `json:"id"`
	Metric   string   `json:"metric,omitempty"`
	Value    *float64 `json:"predicted,omitempty"`
	Low      float64  `json:"low,omitempty"`
	High     float64  `json:"high,omitempty"`
	KVTokens int      `json:"kv_tokens_per_instance,omitempty"`
	// BandLevel is the level of Low–High and of Bands.
	BandLevel float64                `json:"band_level"`
	Bands     map[string]*metricBand `json:"bands,omitempty"`
	Result    *perf.Result           `json:"result,omitempty"`
	Reason    string                 `json:"reason,omitempty"`
}

func writePrediction(w io.Writer, c *corpus.Case, o prediction) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s on %s", o.ID, c.Model, c.Chip)
	for _, in := range c.Instances {
		fmt.Fprintf(&b, "; %s %d × %d chips (tp%d pp%d ep%d dp%d)", in.Role, in.Count, in.Chips, in.TP, in.PP, in.EP, in.DP)
	}
	fmt.Fprintf(&b, "; %g → %g tokens\n", c.Workload.InputTokens, c.Workload.OutputTokens)
	if o.Reason != "" {
		fmt.Fprintf(&b, "cannot predict: %s\n", o.Reason)
		_, err := io.WriteString(w, b.String())
		return err
	}
	r := o.Result
	if o.Value != nil {
		fmt.Fprintf(&b, "%s: %s (%.0f%% band %s–%s)\n", o.Metric, report.Num(*o.Value, 4), o.BandLevel*100, report.Num(o.Low, 3), report.Num(o.High, 3))
	}
	fmt.Fprintf(&b, "throughput: %s output tok/s, %s input tok/s over %s chips (%s output tok/s per chip); %s tok/s per user\n",
		report.Num(r.OutputTPS, 4), report.Num(r.InputTPS, 4), report.Num(r.Chips, 4), report.Num(r.OutputTPS/r.Chips, 4), report.Num(r.PerUser, 3))
	fmt.Fprintf(&b, "TTFT: mean %s, p90 %s, p99 %s; TPOT: mean %s, p90 %s, p99 %s\n",
		secs(float64(r.TTFT.Mean)), secs(float64(r.TTFT.P90)), secs(float64(r.TTFT.P99)),
		secs(float64(r.TPOT.Mean)), secs(float64(r.TPOT.P90)), secs(float64(r.TPOT.P99)))
	writeBands(&b, o)
	if o.KVTokens > 0 {
		fmt.Fprintf(&b, "KV capacity: %s tokens per instance\n", report.Num(float64(o.KVTokens), 4))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, p := range r.Pools {
		fmt.Fprintf(&b, "%s pool: %d instances, batch %s per instance (limited by %s); mean step %s, %.0f%% of steps carry prefill\n",
			p.Role, p.Instances, report.Num(p.Batch, 4), p.BatchLimit, secs(float64(p.MeanStep)), p.MixedShare*100)
		t := &report.Table{Header: []string{"component", "decode step ms", "bound", "mixed step ms", "bound"}, Right: map[int]bool{1: true, 3: true}}
		for _, row := range stepRows(p.Step, p.Mixed) {
			t.Add(row...)
		}
		if err := t.WriteText(&b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func stepRows(a, m perf.Step) [][]any {
	names := []string{"projections", "FFN", "experts", "attention", "elementwise", "LM head", "draft", "TP comm", "EP comm", "PP comm", "overhead"}
	pa := []perf.Part{a.Projections, a.FFN, a.Experts, a.Attention, a.Elementwise, a.LMHead, a.Draft, a.TPComm, a.EPComm, a.PPComm, a.Overhead}
	pm := []perf.Part{m.Projections, m.FFN, m.Experts, m.Attention, m.Elementwise, m.LMHead, m.Draft, m.TPComm, m.EPComm, m.PPComm, m.Overhead}
	var rows [][]any
	for i, n := range names {
		if pa[i].Seconds == 0 && pm[i].Seconds == 0 {
			continue
		}
		rows = append(rows, []any{n, report.Num(float64(pa[i].Seconds)*1e3, 3), pa[i].Bound, report.Num(float64(pm[i].Seconds)*1e3, 3), pm[i].Bound})
	}
	rows = append(rows, []any{"total", report.Num(float64(a.Total)*1e3, 4), "", report.Num(float64(m.Total)*1e3, 4), ""})
	return rows
}
