package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// run runs one ersatz command line and decodes its JSON output into v.
func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Main(args, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("ersatz %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), v); err != nil {
		t.Fatalf("ersatz %s: %v", strings.Join(args, " "), err)
	}
}

// TestOneDeploymentOneAnswer plans a deployment, then asks fit, predict and
// simulate about the plan's own instance: all four must agree on its
// precisions and KV capacity, predict must reproduce the plan's latency at
// the plan's load, and the simulator, at this low load (0.05 request/s),
// the steady state within 2%. (The steady state's TPOT under Poisson
// arrivals is what a request sees, size-biased batch included;
// docs/perf.md.) The cases cover the engines' memory rules (vLLM's share of the
// device, SGLang's computed static fraction, TensorRT-LLM's share of free
// memory, MindIE's), a small device's batch defaults (the 910B keeps
// vLLM's 256/2048), a dense and a MoE model.
func TestOneDeploymentOneAnswer(t *testing.T) {
	for _, tc := range []struct {
		model, chip, weights, engine string
		// simTol is how close the simulated means must come to the
		// steady state's: 2%, except on one deployment that shows where
		// the steady state is simpler than the simulator (docs/perf.md,
		// Known gaps), held at its measured gap so that it cannot grow
		// unnoticed: a 70B model filling one H100's memory leaves 3,772
		// KV tokens, three requests, so an arrival sometimes waits for KV
		// blocks, which the steady state's TTFT queue leaves out (TTFT
		// +7%; they agree at 0.001 request/s).
		simTol float64
	}{
		{"meta-llama/Llama-3.1-70B-Instruct", "h100-sxm", "fp8", "vllm", 0.08},
		{"Qwen/Qwen3-30B-A3B", "ascend-910b2", "bf16", "vllm", 0.02},
		{"Qwen/Qwen3-30B-A3B", "h200-sxm", "fp8", "sglang", 0.02},
		{"Qwen/Qwen3-32B", "h200-sxm", "fp8", "trtllm", 0.02},
		{"Qwen/Qwen2.5-32B-Instruct", "ascend-910c", "int8", "mindie", 0.02},
	} {
		t.Run(tc.engine+"/"+tc.chip, func(t *testing.T) {
			t.Parallel()
			const rate, in, out = "0.05", "1000", "200"
			var pl struct {
				Recommended struct {
					Chip, Weights, Layout, Serving string
					KVCache                        string  `json:"kv_cache"`
					Replicas                       int     `json:"replicas"`
					KVTokens                       int     `json:"kv_tokens_per_instance"`
					TTFTS                          float64 `json:"ttft_s"`
					TPOTS                          float64 `json:"tpot_s"`
				}
			}
			runJSON(t, &pl, "plan", "--model", tc.model, "--chip", tc.chip, "--precisions", tc.weights, "--engine", tc.engine,
				"--rate", rate, "--input-tokens", in, "--output-tokens", out, "--ttft-p90", "5s", "--tpot-p90", "200ms", "--verify", "0", "--json")
			p := pl.Recommended
			if p.Serving != "aggregated" || p.Replicas != 1 {
				t.Fatalf("want one aggregated instance at this load, got %+v", p)
			}
			var tp, pp, ep, dp int
			if _, err := fmt.Sscanf(p.Layout, "tp%d pp%d ep%d dp%d", &tp, &pp, &ep, &dp); err != nil {
				t.Fatalf("layout %q: %v", p.Layout, err)
			}
			deploy := []string{"--model", tc.model, "--chip", tc.chip, "--weights", tc.weights,
				"--tp", fmt.Sprint(tp), "--pp", fmt.Sprint(pp), "--ep", fmt.Sprint(ep), "--dp", fmt.Sprint(dp), "--engine", tc.engine}

			var ft struct {
				KV       string `json:"kv_cache_precision"`
				KVTokens int    `json:"kv_tokens"`
			}
			runJSON(t, &ft, append([]string{"fit", "--json", "--context", "1200"}, deploy...)...)

			var pr struct {
				Predictions []struct {
					KVTokens int `json:"kv_tokens_per_instance"`
					Result   struct {
						TTFT, TPOT struct{ Mean, P90 float64 }
					}
				}
			}
			runJSON(t, &pr, append([]string{"predict", "--json", "--rate", rate, "--input-tokens", in, "--output-tokens", out}, deploy...)...)
			pd := pr.Predictions[0]

			var sm struct {
				TTFT, TPOT struct {
					MeanS float64 `json:"mean_s"`
				}
				Deployment struct {
					KV       string `json:"kv_cache_precision"`
					KVTokens int    `json:"kv_tokens_per_replica"`
				}
			}
			runJSON(t, &sm, append([]string{"simulate", "--json", "--rate", rate, "--input-tokens", in, "--output-tokens", out, "--requests", "300"}, deploy...)...)

			if ft.KV != p.KVCache || sm.Deployment.KV != p.KVCache {
				t.Errorf("KV precision: plan %s, fit %s, simulate %s", p.KVCache, ft.KV, sm.Deployment.KV)
			}
			if ft.KVTokens != p.KVTokens || pd.KVTokens != p.KVTokens || sm.Deployment.KVTokens != p.KVTokens {
				t.Errorf("KV tokens: plan %d, fit %d, predict %d, simulate %d", p.KVTokens, ft.KVTokens, pd.KVTokens, sm.Deployment.KVTokens)
			}
			near := func(what string, got, want, tol float64) {
				if math.Abs(got-want) > tol*want {
					t.Errorf("%s: %.4g, want %.4g within %.0f%%", what, got, want, tol*100)
				}
			}
			near("predict TTFT p90 against plan", pd.Result.TTFT.P90, p.TTFTS, 1e-6)
			near("predict TPOT p90 against plan", pd.Result.TPOT.P90, p.TPOTS, 1e-6)
			near("simulated mean TTFT against predict", sm.TTFT.MeanS, pd.Result.TTFT.Mean, tc.simTol)
			near("simulated mean TPOT against predict", sm.TPOT.MeanS, pd.Result.TPOT.Mean, tc.simTol)
		})
	}
}

// TestMemoryUtilization: a smaller memory share leaves a smaller KV cache,
// in every command that sizes one.
func TestMemoryUtilization(t *testing.T) {
	deploy := []string{"--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100", "--chips", "1"}
	kv := func(util string) (fitKV, predictKV int) {
		var ft struct {
			KVTokens int `json:"kv_tokens"`
		}
		runJSON(t, &ft, append([]string{"fit", "--json", "--memory-utilization", util}, deploy...)...)
		var pr struct {
			Predictions []struct {
				KVTokens int `json:"kv_tokens_per_instance"`
			}
		}
		runJSON(t, &pr, append([]string{"predict", "--json", "--memory-utilization", util}, deploy...)...)
		return ft.KVTokens, pr.Predictions[0].KVTokens
	}
	f5, p5 := kv("0.5")
	f9, p9 := kv("0.9")
	if f5 != p5 || f9 != p9 {
		t.Errorf("fit and predict disagree: %d/%d at 0.5, %d/%d at 0.9", f5, p5, f9, p9)
	}
	if !(p5 > 0 && p5 < p9) {
		t.Errorf("KV tokens %d at 0.5, %d at 0.9: want fewer at the smaller share", p5, p9)
	}
}

// TestOpenLoopTPOT: at loads where a fifth to a third of the steps carry a
// prompt, predict's TPOT under Poisson arrivals is the simulator's within
// 3%. Before the steady state counted what a request sees (its size-biased
// batch and the prompts that arrive during its own prefill step) it was
// 1–6% below on these (the MoE case 5.7%) (docs/perf.md).
func TestOpenLoopTPOT(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"dense 8B on H100 at 4/s", []string{"--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100", "--chips", "1", "--rate", "4", "--input-tokens", "1000", "--output-tokens", "200"}},
		{"MoE 30B-A3B on H200 at 2/s", []string{"--model", "Qwen/Qwen3-30B-A3B", "--chip", "h200", "--chips", "1", "--weights", "fp8", "--engine", "sglang", "--rate", "2", "--input-tokens", "1000", "--output-tokens", "200"}},
		{"dense 14B on H100 at 8/s, short outputs", []string{"--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1", "--rate", "8", "--input-tokens", "1024", "--output-tokens", "48"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var pr struct {
				Predictions []struct {
					Result struct{ TPOT struct{ Mean float64 } }
				}
			}
			runJSON(t, &pr, append([]string{"predict", "--json"}, tc.args...)...)
			var sm struct {
				TPOT struct {
					MeanS float64 `json:"mean_s"`
				}
			}
			runJSON(t, &sm, append([]string{"simulate", "--json", "--requests", "1500"}, tc.args...)...)
			got, want := pr.Predictions[0].Result.TPOT.Mean, sm.TPOT.MeanS
			t.Logf("predict %.3f ms, simulate %.3f ms (%+.1f%%)", got*1e3, want*1e3, (got/want-1)*100)
			if math.Abs(got/want-1) > 0.03 {
				t.Errorf("mean TPOT: predict %.4g s, simulate %.4g s; want within 3%%", got, want)
			}
		})
	}
}
