package cli

import (
	"encoding/json"
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
	if err := parse(fs, args); err != nil {
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
		if d.model != "" || d.chip != "" || d.node != "" {
			return usagef("--scenario describes the deployment; drop --model, --chip and --node")
		}
		if *eager || *graphMax != 0 {
			return usagef("--scenario describes the deployment; give enforce_eager and cuda_graph_max_batch in its engine_args instead of flags")
		}
		var fsys = pred.ResolveModel
		var warns []error
		ff, dir, w, err := loadCases(*scenario, corpus.ScenarioMode)
		if err != nil {
			return err
		}
		f, warns = ff, w
		pred.ResolveModel = predict.FSResolver(dir, ".")
		_ = fsys
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
		load := map[string]any{}
		n := 0
		if *concurrency > 0 {
			load["concurrency"], n = *concurrency, n+1
		}
		if *rate > 0 {
			load["rate_per_s"], n = *rate, n+1
		}
		if *batch > 0 {
			load["batch_per_chip"], n = *batch, n+1
		}
		if n > 1 {
			return usagef("--concurrency, --rate and --batch-per-chip: give at most one")
		}
		target, _ := slo.slo()
		c := map[string]any{
			"id": "flags", "model": d.model, "chip": r.chip.ID, "engine": *engine,
			"precision": map[string]any{"weights": r.weights, "activations": r.acts, "kv_cache": r.kv},
			"serving":   "aggregated",
			"instances": []map[string]any{{"role": "mixed", "count": *instances, "chips": r.layout.Devices() / r.chip.EngineDevices(),
				"tp": r.layout.TP, "pp": r.layout.PP, "ep": r.layout.EP, "dp": r.layout.DP}},
			"workload": map[string]any{"input_tokens": *input, "output_tokens": *output, "prefix_cache_hit": *prefixHit, "context_tokens": *contextTokens},
			"phase":    "all",
		}
		if n == 1 {
			c["workload"].(map[string]any)["load"] = load
		} else if target.Percentile == 0 {
			c["workload"].(map[string]any)["load"] = map[string]any{"offline": true}
		}
		if target.Percentile != 0 {
			c["slo"] = map[string]any{"ttft_ms": target.TTFTS * 1e3, "tpot_ms": target.TPOTS * 1e3, "percentile": target.Percentile}
		}
		if *graphMax < 0 {
			return usagef("--cuda-graph-max-batch %d: want a positive batch (--enforce-eager runs without graphs)", *graphMax)
		}
		args := map[string]any{}
		if *eager {
			args["enforce_eager"] = true
		}
		if *graphMax != 0 {
			args["cuda_graph_max_batch"] = *graphMax
		}
		if len(args) > 0 {
			c["engine_args"] = args
		}
		if *specTokens > 0 {
			c["speculative"] = map[string]any{"method": "mtp", "draft_tokens": *specTokens, "acceptance": *specAcc}
		}
		doc, _ := json.Marshal(map[string]any{"version": 1, "cases": []any{c}})
		if f, _, err = corpus.ParseScenario(doc); err != nil {
			return usagef("%v", err)
		}
	}
	var outs []prediction
	for i := range f.Cases {
		c := &f.Cases[i]
		out := prediction{ID: c.ID, Metric: c.Metric}
		sc, err := pred.Scenario(c)
		if err == nil {
			var r perf.Result
			if r, err = perf.Serve(sc); err == nil {
				out.Result = &r
				if c.Metric != "" {
					pr, perr := pred.Predict(c)
					if perr == nil {
						out.Value, out.Low, out.High = &pr.Value, pr.Low, pr.High
					}
				}
				if in := firstInstance(sc); in != nil {
					if cp, cerr := in.Capacity(int(c.Workload.InputTokens + c.Workload.OutputTokens)); cerr == nil {
						out.KVTokens = cp.KVTokens
					}
				}
			}
		}
		if err != nil {
			out.Reason = err.Error()
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
	ID       string       `json:"id"`
	Metric   string       `json:"metric,omitempty"`
	Value    *float64     `json:"predicted,omitempty"`
	Low      float64      `json:"low,omitempty"`
	High     float64      `json:"high,omitempty"`
	KVTokens int          `json:"kv_tokens_per_instance,omitempty"`
	Result   *perf.Result `json:"result,omitempty"`
	Reason   string       `json:"reason,omitempty"`
}

func firstInstance(sc perf.Scenario) *perf.Instance {
	for _, in := range []*perf.Instance{sc.Mixed, sc.Decode, sc.Prefill} {
		if in != nil {
			return in
		}
	}
	return nil
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
		fmt.Fprintf(&b, "%s: %s (band %s–%s)\n", o.Metric, report.Num(*o.Value, 4), report.Num(o.Low, 3), report.Num(o.High, 3))
	}
	fmt.Fprintf(&b, "throughput: %s output tok/s, %s input tok/s over %s chips (%s output tok/s per chip); %s tok/s per user\n",
		report.Num(r.OutputTPS, 4), report.Num(r.InputTPS, 4), report.Num(r.Chips, 4), report.Num(r.OutputTPS/r.Chips, 4), report.Num(r.PerUser, 3))
	fmt.Fprintf(&b, "TTFT: mean %s, p90 %s, p99 %s; TPOT: mean %s, p90 %s, p99 %s\n",
		secs(float64(r.TTFT.Mean)), secs(float64(r.TTFT.P90)), secs(float64(r.TTFT.P99)),
		secs(float64(r.TPOT.Mean)), secs(float64(r.TPOT.P90)), secs(float64(r.TPOT.P99)))
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
