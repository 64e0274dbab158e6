package cli

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"

	"ersatz/internal/perf"
	"ersatz/internal/report"
	"ersatz/internal/serving"
	"ersatz/internal/sim"
)

// engineFlags are the serving-engine settings shared by simulate and plan.
type engineFlags struct {
	engine         string
	specTokens     int
	specAcceptance float64
}

func (f *engineFlags) register(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	Float64Var(*float64, string, float64, string)
}) {
	fs.StringVar(&f.engine, "engine", "vllm", "serving engine: vllm, sglang, trtllm, mindie or other (sets scheduler defaults and host overheads)")
	fs.IntVar(&f.specTokens, "spec-tokens", 0, "speculative decoding: draft tokens per step (MTP or EAGLE); 0 disables")
	fs.Float64Var(&f.specAcceptance, "spec-acceptance", 0.7, "speculative decoding: probability each draft token is accepted")
}

// engineNames lists the engines --engine takes.
const engineNames = "vllm, sglang, trtllm, mindie or other"

// parseEngine reads --engine.
func parseEngine(name string) (perf.Engine, error) {
	switch name {
	case "vllm", "sglang", "trtllm", "mindie", "other":
		return perf.Engine(name), nil
	}
	return "", usagef("--engine %q: want %s", name, engineNames)
}

func (f *engineFlags) parse() (perf.Engine, *perf.Speculative, error) {
	e, err := parseEngine(f.engine)
	if err != nil {
		return "", nil, err
	}
	if f.specTokens < 0 {
		return "", nil, usagef("--spec-tokens %d: want 0 or more", f.specTokens)
	}
	if f.specTokens == 0 {
		return e, nil, nil
	}
	if f.specAcceptance < 0 || f.specAcceptance > 1 {
		return "", nil, usagef("--spec-acceptance %g: want a probability in [0, 1]", f.specAcceptance)
	}
	return e, &perf.Speculative{Method: "mtp", DraftTokens: f.specTokens, Acceptance: f.specAcceptance}, nil
}

// instance builds the performance model of the resolved deployment.
func (r *resolved) instance(e perf.Engine, spec *perf.Speculative, params *perf.Params) (*perf.Instance, error) {
	node, err := r.cat.NodeOf(r.chip)
	if err != nil {
		return nil, err
	}
	return perf.New(perf.Deployment{
		Model: r.model, Chip: r.chip, Node: node,
		Weights: r.weights, Activations: r.acts, KV: r.kv, MemoryUtilization: r.memUtil,
		TP: r.layout.TP, PP: r.layout.PP, EP: r.layout.EP, DP: r.layout.DP,
		Engine: e, Speculative: spec,
	}, params)
}

func runSimulate(e *env, args []string) error {
	fs := newFlags(e, "simulate", "--model M --chip C --chips N (--rate R | --trace FILE) [--replicas N] [--json] [--records FILE]")
	ss := newSimSetup(fs, true)
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same records")
	records := fs.String("records", "", "write one JSON line per request to this file as requests finish")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	dep, header, params, err := ss.deployment(e, fs)
	if err != nil {
		return err
	}
	return runSim(e, dep, params, header, &ss.tr, *ss.block, *seed, *records, *asJSON)
}

// simSetup holds the deployment flags that simulate and emulate share.
type simSetup struct {
	d                                   deployFlags
	eng                                 engineFlags
	tr                                  trafficFlags
	replicas, maxSeqs, maxTokens, block *int
	prefixCache                         *bool
	prefillReplicas, prefillTP          *int
	prefillChip                         *string
	linkGBps                            *float64
	ttft, tpot                          durationFlag
	scenarios                           stringsFlag
	caseID, params, router              *string
}

// stringsFlag collects a repeated flag's values in order.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// newSimSetup registers the deployment flags on fs, and the traffic flags
// when traffic is set.
func newSimSetup(fs *flag.FlagSet, traffic bool) *simSetup {
	s := &simSetup{}
	s.d.catalogs.register(fs)
	s.d.register(fs)
	fs.StringVar(&s.d.node, "node", "", "node or supernode the instances run in (see ersatz nodes; default: the chip's)")
	s.eng.register(fs)
	if traffic {
		s.tr.register(fs, 1000)
	}
	s.replicas = fs.Int("replicas", 1, "replicas behind the router (the decode pool when disaggregated)")
	router := fs.String("router", "least-outstanding", "router: round-robin, least-outstanding, least-kv or prefix-affinity")
	s.maxSeqs = fs.Int("max-num-seqs", 0, "sequences per step at most (default: the engine's)")
	s.maxTokens = fs.Int("max-num-batched-tokens", 0, "token budget per step (default: the engine's)")
	s.block = fs.Int("block-size", 16, "KV block size in tokens")
	s.prefixCache = fs.Bool("prefix-caching", false, "share cached prompt blocks (needs a trace with block hashes or --prefix-groups)")
	s.prefillReplicas = fs.Int("prefill-replicas", 0, "disaggregate: this many prefill replicas feed the decode pool")
	s.prefillChip = fs.String("prefill-chip", "", "chip of the prefill pool (default: --chip)")
	s.prefillTP = fs.Int("prefill-tp", 0, "tensor-parallel degree of a prefill instance (default: --tp)")
	s.linkGBps = fs.Float64("link-gbps", 0, "KV-transfer bandwidth per prefill replica, GB/s per direction (default: the prefill chips' scale-out share)")
	fs.Var(&s.ttft, "ttft-slo", "TTFT target for goodput, e.g. 2s")
	fs.Var(&s.tpot, "tpot-slo", "TPOT target for goodput, e.g. 100ms")
	fs.Var(&s.scenarios, "scenario", "take the deployment and the load from a scenario file (the corpus format of docs/corpus.md)")
	s.router, s.caseID = router, fs.String("case", "", "the case of --scenario to simulate (default: its first)")
	s.params = fs.String("params", "", "YAML file of efficiency parameters merged over the built-in ones (see internal/perf/params.yaml)")
	return s
}

// deployment builds the deployment the parsed flags describe.
func (s *simSetup) deployment(e *env, fs *flag.FlagSet) (serving.Deployment, string, *perf.Params, error) {
	if len(s.scenarios) > 1 {
		return serving.Deployment{}, "", nil, usagef("--scenario: give it once (got %d)", len(s.scenarios))
	}
	scenario := ""
	if len(s.scenarios) == 1 {
		scenario = s.scenarios[0]
	}
	return s.deploymentFor(e, fs, scenario)
}

// deploymentFor builds the deployment of a scenario file, or of the
// flags when scenario is "".
func (s *simSetup) deploymentFor(e *env, fs *flag.FlagSet, scenario string) (serving.Deployment, string, *perf.Params, error) {
	d, tr := &s.d, &s.tr
	params, err := loadParams(*s.params)
	if err != nil {
		return serving.Deployment{}, "", nil, err
	}
	rt, err := sim.ParseRouter(*s.router)
	if err != nil {
		return serving.Deployment{}, "", nil, usagef("--router: %v", err)
	}
	pool := serving.Pool{Router: rt, MaxNumSeqs: *s.maxSeqs, MaxNumBatchedTokens: *s.maxTokens, BlockTokens: *s.block, PrefixCaching: *s.prefixCache}
	slo := sim.SLO{TTFTS: float64(s.ttft), TPOTS: float64(s.tpot)}
	if scenario != "" {
		if d.model != "" || d.chip != "" || d.node != "" || *s.prefillReplicas > 0 {
			return serving.Deployment{}, "", nil, usagef("--scenario describes the deployment; drop --model, --chip, --node and --prefill-replicas")
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		dep, header, err := scenarioDeployment(e, &d.catalogs, scenario, *s.caseID, pool, tr, set, params)
		dep.SLO = slo
		return dep, header, params, err
	}
	r, err := d.resolve(e)
	if err != nil {
		return serving.Deployment{}, "", nil, err
	}
	engine, spec, err := s.eng.parse()
	if err != nil {
		return serving.Deployment{}, "", nil, err
	}
	in, err := r.instance(engine, spec, params)
	if err != nil {
		return serving.Deployment{}, "", nil, err
	}
	pool.Instance, pool.Replicas = in, *s.replicas
	dep := serving.Deployment{Pool: pool, SLO: slo}
	header := fmt.Sprintf("%s on %d × %d × %s (%s), weights %s, KV %s", r.model.ID, *s.replicas, int(in.Chips()), r.chip.ID, r.layout, r.weights, r.kv)
	if *s.prefillReplicas > 0 {
		pd := *d
		if *s.prefillChip != "" {
			pd.chip = *s.prefillChip
		}
		if *s.prefillTP != 0 {
			pd.tp, pd.chips = *s.prefillTP, 0
		}
		pr, err := pd.resolve(e)
		if err != nil {
			return serving.Deployment{}, "", nil, fmt.Errorf("prefill pool: %w", err)
		}
		pin, err := pr.instance(engine, nil, params)
		if err != nil {
			return serving.Deployment{}, "", nil, fmt.Errorf("prefill pool: %w", err)
		}
		dep.Prefill = &serving.Pool{Instance: pin, Replicas: *s.prefillReplicas, Router: rt,
			MaxNumBatchedTokens: *s.maxTokens, BlockTokens: *s.block, PrefixCaching: *s.prefixCache}
		link := *s.linkGBps * 1e9
		if link == 0 {
			link = float64(pr.chip.ScaleOutPerDir()) * float64(pr.layout.Devices()) / float64(pr.chip.EngineDevices())
		}
		dep.LinkBytesPerS = link
	} else if *s.prefillChip != "" || *s.prefillTP != 0 {
		return serving.Deployment{}, "", nil, usagef("--prefill-chip and --prefill-tp need --prefill-replicas")
	}
	return dep, header, params, nil
}

// runSim simulates dep on the traffic and renders the summary.
func runSim(e *env, dep serving.Deployment, params *perf.Params, header string, tr *trafficFlags, block int, seed uint64, records string, asJSON bool) error {
	maxContext := tr.input + tr.output
	if tr.lengths != "fixed" {
		maxContext = int(float64(maxContext) * (1 + 2*tr.lengthCV))
	}
	if tr.trace == "" {
		if err := checkLengths(dep.Pool.Instance.Deployment().Model, float64(tr.input), float64(tr.output)); err != nil {
			return err
		}
	}
	cfg, err := serving.Config(dep, params, maxContext)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	src, closeTrace, err := tr.source(rng, block)
	if err != nil {
		return err
	}
	defer closeTrace()

	// An offline case submits everything at once (scenario.go): there is
	// no steady state to warn about.
	if tr.trace == "" && !(tr.arrival == "constant" && tr.rate >= 1e9) {
		warnOverload(e, dep, tr)
	}
	// An interrupt stops admission and drains what is in flight, a second
	// one (or the end of the grace) stops at once; what was written stays
	// written (interrupt.go).
	intr, release := e.interrupts()
	defer release()

	bar := newProgress(e.stderr, min(tr.requests, 1<<30))
	var sink sim.RecordSink = sim.RecordFunc(func(*sim.Record) { bar.add(1) })
	var rec *recordWriter
	if records != "" {
		f, err := os.Create(records)
		if err != nil {
			return fmt.Errorf("--records: %w", err)
		}
		defer f.Close()
		rec = &recordWriter{w: bufio.NewWriterSize(f, 1<<16), bar: bar}
		sink = rec
	}
	sum, err := sim.RunStop(cfg, src, rng, sink, sim.Stop{Drain: intr.drain, Halt: intr.halt})
	bar.finish()
	if rec != nil {
		if ferr := rec.flush(); ferr != nil && err == nil {
			err = fmt.Errorf("--records: %w", ferr)
		}
	}
	if err != nil {
		return err
	}
	if asJSON {
		err = report.WriteJSON(e.stdout, simOutput{Summary: sum, Deployment: simDeploymentOf(dep.Pool, cfg.Pool)})
	} else {
		err = writeSimSummary(e.stdout, header, dep, sum)
	}
	if err == nil && intr.signal() != nil {
		what := "the summary covers the requests admitted before it"
		if sum.Unfinished > 0 {
			what += fmt.Sprintf("; %d still in flight were stopped", sum.Unfinished)
		}
		err = &interruptedError{sig: intr.signal(), what: what}
	}
	return err
}

// simOutput is simulate's JSON: the summary and what the simulated pool
// ran with, as fit and predict report it.
type simOutput struct {
	*sim.Summary
	Deployment simDeployment `json:"deployment"`
}

type simDeployment struct {
	Weights     string `json:"weights_precision"`
	Activations string `json:"activations_precision"`
	KVCache     string `json:"kv_cache_precision"`
	Layout      string `json:"layout"`
	KVTokens    int    `json:"kv_tokens_per_replica"`
	MaxNumSeqs  int    `json:"max_num_seqs"`
	BatchTokens int    `json:"max_num_batched_tokens"`
}

func simDeploymentOf(p serving.Pool, sp sim.Pool) simDeployment {
	d := p.Instance.Deployment()
	return simDeployment{
		Weights: string(d.Weights), Activations: string(d.Activations), KVCache: string(d.KV),
		Layout:   fmt.Sprintf("tp%d pp%d ep%d dp%d", d.TP, d.PP, d.EP, d.DP),
		KVTokens: sp.Engine.KVTokens, MaxNumSeqs: sp.Engine.MaxNumSeqs, BatchTokens: sp.Engine.MaxNumBatchedTokens,
	}
}

// recordWriter streams records as JSON lines. Lines reach the file as the
// buffer fills, so a killed run keeps every line written before.
type recordWriter struct {
	w   *bufio.Writer
	buf []byte
	err error
	bar *progress
}

type recordLine struct {
	*sim.Record
	TTFTS float64 `json:"ttft_s"`
	TPOTS float64 `json:"tpot_s"`
	E2ES  float64 `json:"e2e_s"`
}

func (rw *recordWriter) Record(r *sim.Record) {
	rw.bar.add(1)
	if rw.err != nil {
		return
	}
	line := recordLine{Record: r, TTFTS: r.TTFTS(), TPOTS: r.TPOTS(), E2ES: r.E2ES()}
	rw.buf, rw.err = appendJSON(rw.buf[:0], line)
	if rw.err == nil {
		_, rw.err = rw.w.Write(rw.buf)
	}
}

func (rw *recordWriter) flush() error {
	if rw.err != nil {
		return rw.err
	}
	return rw.w.Flush()
}

func appendJSON(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(append(dst, b...), '\n'), nil
}

func writeSimSummary(w io.Writer, header string, dep serving.Deployment, s *sim.Summary) error {
	in := dep.Pool.Instance
	fmt.Fprint(w, header)
	if dep.Prefill != nil {
		p := dep.Prefill.Instance
		fmt.Fprintf(w, "; prefill %d × %d × %s, KV link %.0f GB/s", dep.Prefill.Replicas, int(p.Chips()), p.Deployment().Chip.ID, dep.LinkBytesPerS/1e9)
	}
	fmt.Fprintf(w, "\nrequests %d: finished %d, rejected %d, preemptions %d, over %.1f s simulated\n",
		s.Requests, s.Finished, s.Rejected, s.Preemptions, s.DurationS)
	t := &report.Table{Header: []string{"latency", "mean", "p50", "p90", "p99", "max"}, Right: map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true}}
	for _, row := range []struct {
		name string
		d    sim.Dist
	}{{"TTFT", s.TTFT}, {"TPOT", s.TPOT}, {"ITL", s.ITL}, {"E2E", s.E2E}, {"KV transfer", s.Transfer}} {
		if row.d.Count == 0 {
			continue
		}
		t.Add(row.name, ms(row.d.MeanS), ms(row.d.P50S), ms(row.d.P90S), ms(row.d.P99S), ms(row.d.MaxS))
	}
	t.Notes = []string{"milliseconds"}
	if err := t.WriteText(w); err != nil {
		return err
	}
	chips := float64(dep.Pool.Replicas) * in.Chips()
	if dep.Prefill != nil {
		chips += float64(dep.Prefill.Replicas) * dep.Prefill.Instance.Chips()
	}
	fmt.Fprintf(w, "throughput: %s output tok/s (%s per chip), %s total tok/s\n",
		report.Num(s.OutputTokPerS, 4), report.Num(s.OutputTokPerS/chips, 4), report.Num(s.TotalTokPerS, 4))
	if dep.SLO.TTFTS > 0 || dep.SLO.TPOTS > 0 {
		fmt.Fprintf(w, "goodput: %.3g req/s meet the SLO (%d of %d finished)\n", s.GoodputReqPerS, s.Good, s.Finished)
	}
	fmt.Fprintf(w, "KV cache use: mean %.0f%%, max %.0f%%; queue: mean %.1f, max %d; in system: mean %.1f\n",
		s.KVUseMean*100, s.KVUseMax*100, s.QueueMean, s.QueueMax, s.InSystemMean)
	if s.CachedTokens > 0 {
		fmt.Fprintf(w, "prefix cache: %s prompt tokens served from cache (%.0f%% of input)\n",
			report.Num(float64(s.CachedTokens), 4), 100*float64(s.CachedTokens)/float64(max(s.InputTokens, 1)))
	}
	return nil
}

func ms(s float64) string { return report.Num(s*1e3, 4) }
