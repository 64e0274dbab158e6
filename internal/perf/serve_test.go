package perf

import (
	"math"
	"testing"

	"ersatz/internal/hardware"
)

func TestParamsCoverFamilies(t *testing.T) {
	p := DefaultParams()
	for _, f := range []string{"ampere", "hopper", "blackwell", "ada", "blackwell-pcie", "ascend-a2", "ascend-a3",
		"ascend-310p", "ascend-950", "ascend-960", "cambricon", "kunlunxin", "hygon", "cdna3"} {
		fam, err := p.Family(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range fam.params() {
			if (*q.p).Source == "" {
				t.Errorf("%s.%s has no source", f, q.name)
			}
		}
	}
	for _, c := range hardware.Default().Chips {
		if _, err := p.Family(c.Family); err != nil {
			t.Errorf("chip %s: %v", c.ID, err)
		}
	}
	if _, err := ParseParams([]byte("families: {x: {inherit: y}}\nengines: {other: {}}")); err == nil {
		t.Error("unknown parent accepted")
	}
}

func TestInheritWidens(t *testing.T) {
	p := DefaultParams()
	h, _ := p.Family("hopper")
	a, _ := p.Family("ada")
	if a.AttnEff.Value != h.AttnEff.Value || a.AttnEff.Spread <= h.AttnEff.Spread {
		t.Errorf("ada attn_eff %+v should copy hopper's %+v with a wider spread", a.AttnEff, h.AttnEff)
	}
}

func serveLlama(t *testing.T, l Load) Result {
	t.Helper()
	in := mustNew(t, Deployment{Model: llama70B(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 2, Engine: TRTLLM})
	r, err := Serve(Scenario{Mixed: in, MixedCount: 4, Workload: Workload{InputTokens: 1000, OutputTokens: 1000}, Load: l})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestServeLoads(t *testing.T) {
	off := serveLlama(t, Load{Kind: Offline})
	if off.OutputTPS <= 0 || off.Chips != 8 {
		t.Fatalf("offline: %+v", off)
	}
	// A light Poisson load finishes what arrives: throughput = λ·O, and
	// Little's law holds for the decode batch.
	lam := 0.5
	r := serveLlama(t, Load{Kind: Rate, Rate: lam})
	if math.Abs(r.OutputTPS-lam*1000) > 1e-6*lam*1000 {
		t.Errorf("rate %g/s: output %g tok/s, want %g", lam, r.OutputTPS, lam*1000)
	}
	p := r.Pools[0]
	if b := lam / 4 * 1000 * float64(p.MeanStep); math.Abs(b-p.Batch) > 1e-3*p.Batch+1e-3 {
		t.Errorf("Little's law: batch %g, want λ·O·T = %g", p.Batch, b)
	}
	if r.TTFT.Mean <= 0 || r.TTFT.P99 < r.TTFT.P90 || r.TPOT.P99 < r.TPOT.Mean {
		t.Errorf("latency summary out of order: %+v %+v", r.TTFT, r.TPOT)
	}
	// More load, slower tokens.
	heavy := serveLlama(t, Load{Kind: Rate, Rate: 10})
	if heavy.TPOT.Mean <= r.TPOT.Mean || heavy.OutputTPS <= r.OutputTPS {
		t.Errorf("heavier load should raise TPOT and throughput: %v/%v vs %v/%v", heavy.TPOT.Mean, heavy.OutputTPS, r.TPOT.Mean, r.OutputTPS)
	}
	// Saturating load is reported, capped at capacity.
	sat := serveLlama(t, Load{Kind: Rate, Rate: 1e4})
	if !sat.Saturated || sat.OutputTPS > off.OutputTPS*1.0001 {
		t.Errorf("saturated run: %+v", sat)
	}
	// Concurrency 1: one user, decode at batch 1.
	c1 := serveLlama(t, Load{Kind: Concurrency, Concurrency: 1})
	if c1.PerUser < 20 || c1.PerUser > 200 {
		t.Errorf("one user at %g tok/s", c1.PerUser)
	}
	// An SLO-bound figure meets its target.
	slo := serveLlama(t, Load{Kind: SLOOnly, SLO: &SLO{TPOT: 0.05, Percentile: 99}})
	if slo.TPOT.P99 > 0.05+1e-9 || slo.OutputTPS <= c1.OutputTPS {
		t.Errorf("slo run: tpot p99 %v, output %g", slo.TPOT.P99, slo.OutputTPS)
	}
}

func TestServeDisaggregated(t *testing.T) {
	pre := mustNew(t, Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 32, EP: 32, DP: 32, Engine: SGLang})
	dec := mustNew(t, Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 72, EP: 72, DP: 72, Engine: SGLang})
	r, err := Serve(Scenario{Prefill: pre, PrefillCount: 1, Decode: dec, DecodeCount: 1,
		Workload: Workload{InputTokens: 2000, OutputTokens: 500}, Load: Load{Kind: Offline}})
	if err != nil {
		t.Fatal(err)
	}
	pp, dp := r.Pool("prefill"), r.Pool("decode")
	if pp == nil || dp == nil || pp.InputTPS <= 0 || dp.OutputTPS <= 0 {
		t.Fatalf("pools: %+v", r.Pools)
	}
	// The deployment delivers what the slower pool allows.
	want := math.Min(pp.InputTPS/2000, dp.OutputTPS/500) * 500
	if math.Abs(r.OutputTPS-want) > 1e-6*want {
		t.Errorf("system output %g, want min of the pools %g", r.OutputTPS, want)
	}
}

func TestServeRefusesWhatDoesNotFit(t *testing.T) {
	in := mustNew(t, Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 8, EP: 8})
	_, err := Serve(Scenario{Mixed: in, Workload: Workload{InputTokens: 1000, OutputTokens: 100}})
	if err == nil {
		t.Fatal("671B in fp8 does not fit on 8 × 80 GB")
	}
	t.Log(err)
}

// TestEngineOverrides checks that a deployment's recorded engine settings
// replace the engine defaults: a batch cap binds, and without chunked
// prefill a prompt longer than the token budget is prefilled whole.
func TestEngineOverrides(t *testing.T) {
	w := Workload{InputTokens: 4000, OutputTokens: 500}
	d := Deployment{Model: llama8B(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, Engine: VLLM}
	base := mustNew(t, d)
	bmax, _, err := base.MaxBatch(w)
	if err != nil {
		t.Fatal(err)
	}
	d.MaxSeqs = 16
	capped := mustNew(t, d)
	if b, limit, _ := capped.MaxBatch(w); b != 16 || limit != "max_seqs" || bmax <= 16 {
		t.Errorf("max_seqs 16: batch %g (%s), default %g", b, limit, bmax)
	}
	d.MaxSeqs, d.MaxBatchTokens = 0, 1024
	chunked := mustNew(t, d)
	d.NoChunkedPrefill = true
	whole := mustNew(t, d)
	sc, sw := mixedAt(chunked, w, 8), mixedAt(whole, w, 8)
	if sc.chunk > 1024 || sw.chunk != 4000 {
		t.Errorf("chunks: chunked %g, whole %g", sc.chunk, sw.chunk)
	}
	if _, err := New(Deployment{Model: llama8B(), Chip: h100(), Weights: hardware.FP8, MaxSeqs: -1}, nil); err == nil {
		t.Error("negative max seqs accepted")
	}
}

// TestKVReserve checks TensorRT-LLM's reservation to completion: the KV
// cache holds every sequence at prompt + output, not at its mean length.
func TestKVReserve(t *testing.T) {
	w := Workload{InputTokens: 128, OutputTokens: 2048}
	d := Deployment{Model: llama70B(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 2}
	d.Engine = VLLM
	cur := mustNew(t, d)
	d.Engine = TRTLLM
	full := mustNew(t, d)
	bc, _, _ := cur.MaxBatch(w)
	bf, lf, _ := full.MaxBatch(w)
	// vLLM holds a sequence at its mean length (128 + 2048/2), TensorRT-LLM
	// reserves it to completion (128 + 2048); each also has its own memory
	// rule, so the ratio is the context ratio times the capacity ratio.
	cc, _ := cur.Capacity(128 + 2048)
	cf, _ := full.Capacity(128 + 2048)
	want := bc * float64(cf.KVTokens) / float64(cc.KVTokens) * (128 + 1024 + kvBlock/2) / (128 + 2048 + kvBlock/2)
	if lf != "kv-cache" || math.Abs(bf-want) > 0.02*want {
		t.Errorf("trtllm batch %g (%s), want %g (vLLM %g)", bf, lf, want, bc)
	}
	if _, err := ParseParams([]byte("families: {}\nengines: {other: {step_overhead_s: {value: 0}, seq_overhead_s: {value: 0}, kernel_scale: {value: 1}, max_seqs: 1, max_batch_tokens: 1, memory_utilization: 0.9, kv_reserve: never}}")); err == nil {
		t.Error("bad kv_reserve accepted")
	}
}

// TestAllGatherEP checks the all-gather MoE communication of TensorRT-LLM
// under attention DP: every rank receives the other ranks' tokens (fp8)
// and reduce-scatters 16-bit outputs, (n−1)·T/n·bytes per layer each way.
func TestAllGatherEP(t *testing.T) {
	in := mustNew(t, Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 8, EP: 8, DP: 8, Engine: TRTLLM})
	if !in.allGather {
		t.Fatal("trtllm should all-gather")
	}
	tok := 512.0
	got := in.gatherScatter(tok, in.dispatchBytes, 8)
	want := 7*tok*7168/in.epBW + 7*in.hop
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("all-gather %g s, want %g", got, want)
	}
	s := in.Step(&Batch{DecodeSeqs: 4096, DecodeTokens: 4096, DecodeKV: 4096 * 2000})
	if s.EPComm.Seconds <= 0 || s.TPComm.Seconds != 0 {
		t.Errorf("ep %v tp %v", s.EPComm.Seconds, s.TPComm.Seconds)
	}
}

// SGLang's default mem_fraction_static (sglangMemFraction), by hand:
//
//	H200, 141 GiB = 144,384 MB = 151.4 GB (< 160 GB: chunk 8192, graphs to 512 at tp 8):
//	  reserved = 512 + 1.5×8192 + 8/8×1024 + 2×512 = 14,848 MB
//	  f = (144,384 − 14,848) / 144,384 = 0.8972 → 0.897
//	H100, 80 GiB = 81,920 MB at tp 1 (graphs to 256 below tp 4):
//	  reserved = 512 + 12,288 + 1/8×1024 + 512 = 13,440 MB (over the 10 GB floor)
//	  f = (81,920 − 13,440) / 81,920 = 0.8359 → 0.836
//	the same H100 with DeepEP: reserved 15,488 MB, f = 0.8109 → 0.811
//	Ascend 910B2, 64 GiB = 65,536 MB = 68.7 GB at tp 8 (< 160 GB row):
//	  reserved = 512 + 12,288 + 1024 + 1024 = 14,848 MB; f = 0.7734 → 0.773
func TestSGLangMemFraction(t *testing.T) {
	gib := float64(1 << 30)
	for _, tc := range []struct {
		name   string
		mem    float64
		tp, pp int
		deepEP bool
		want   float64
	}{
		{"h200 tp8", 141 * gib, 8, 1, false, 0.897},
		{"h100 tp1", 80 * gib, 1, 1, false, 0.836},
		{"h100 tp1 deepep", 80 * gib, 1, 1, true, 0.811},
		{"910b2 tp8", 64 * gib, 8, 1, false, 0.773},
	} {
		if got := sglangMemFraction(tc.mem, tc.tp, tc.pp, tc.deepEP); got != tc.want {
			t.Errorf("%s: %g, want %g", tc.name, got, tc.want)
		}
	}
}
