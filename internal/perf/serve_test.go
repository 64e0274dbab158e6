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
