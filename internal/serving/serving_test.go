package serving

import (
	"math"
	"math/rand/v2"
	"testing"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
	"ersatz/internal/sim"
	"ersatz/internal/workload"
)

func instance(t testing.TB, modelID, chipID string, tp int, w hardware.Precision) *perf.Instance {
	t.Helper()
	cat := hardware.Default()
	c, err := cat.Chip(chipID)
	if err != nil {
		t.Fatal(err)
	}
	node, err := cat.NodeOf(c)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Default().Model(modelID)
	if err != nil {
		t.Fatal(err)
	}
	in, err := perf.New(perf.Deployment{Model: m, Chip: c, Node: node, Weights: w, TP: tp, Engine: perf.VLLM}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// At low load the simulation and the analytic steady state must agree:
// requests rarely meet, so both reduce to one request's prefill step and
// its decode steps.
func TestLowLoadMatchesSteadyState(t *testing.T) {
	for _, tc := range []struct {
		model, chip string
		tp          int
		w           hardware.Precision
	}{
		{"meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", 1, hardware.BF16},
		{"meta-llama/Llama-3.1-70B-Instruct", "ascend-910b2", 8, hardware.INT8},
		{"Qwen/Qwen3-30B-A3B", "h20", 1, hardware.FP8},
	} {
		t.Run(tc.chip, func(t *testing.T) {
			in := instance(t, tc.model, tc.chip, tc.tp, tc.w)
			const input, output = 1000, 200
			const rate = 0.005 // one request every 200 s: each runs alone
			cfg, err := Config(Deployment{Pool: Pool{Instance: in, Replicas: 1}}, nil, input+output)
			if err != nil {
				t.Fatal(err)
			}
			arr, _ := workload.Poisson(rate)
			li, _ := workload.Fixed(input)
			lo, _ := workload.Fixed(output)
			rng := rand.New(rand.NewPCG(1, 2))
			src, _ := workload.NewGenerator(workload.GeneratorConfig{Arrivals: arr, Input: li, Output: lo, Count: 200}, rng)
			sum, err := sim.Run(cfg, src, rng, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := perf.Serve(perf.Scenario{Mixed: in, MixedCount: 1,
				Workload: perf.Workload{InputTokens: input, OutputTokens: output},
				Load:     perf.Load{Kind: perf.Rate, Rate: rate}})
			if err != nil {
				t.Fatal(err)
			}
			ttft, tpot := float64(r.TTFT.Mean), float64(r.TPOT.Mean)
			t.Logf("TTFT sim %.2f ms, steady state %.2f ms; TPOT sim %.3f ms, steady state %.3f ms",
				sum.TTFT.MeanS*1e3, ttft*1e3, sum.TPOT.MeanS*1e3, tpot*1e3)
			if e := math.Abs(sum.TTFT.MeanS/ttft - 1); e > 0.02 {
				t.Errorf("TTFT: simulated %.2f ms, steady state %.2f ms (%.1f%% apart)", sum.TTFT.MeanS*1e3, ttft*1e3, e*100)
			}
			if e := math.Abs(sum.TPOT.MeanS/tpot - 1); e > 0.02 {
				t.Errorf("TPOT: simulated %.3f ms, steady state %.3f ms (%.1f%% apart)", sum.TPOT.MeanS*1e3, tpot*1e3, e*100)
			}
		})
	}
}

// The timer passes the simulator's batch through unchanged.
func TestTimer(t *testing.T) {
	in := instance(t, "meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", 1, hardware.BF16)
	b := sim.Batch{DecodeSeqs: 4, DecodeTokens: 4, DecodeKV: 8000, PrefillSeqs: 1, PrefillTokens: 512, PrefillKV: 512 * 256}
	pb := perf.Batch(b)
	if got, want := NewTimer(in).StepTime(&b), float64(in.Step(&pb).Total); got != want {
		t.Errorf("StepTime = %g, want %g", got, want)
	}
}
