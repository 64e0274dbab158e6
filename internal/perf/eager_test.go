package perf

import (
	"math"
	"testing"
)

// TestEagerLaunchFloor checks when a step runs from a captured graph and
// what an eager step costs, with the engine defaults of params.yaml.
func TestEagerLaunchFloor(t *testing.T) {
	const (
		dense = 0.27e-3 // eager_layer_s
		moe   = 0.77e-3 // eager_moe_layer_s
	)
	qwen30B := llama8B()
	qwen30B.ID, qwen30B.Layers, qwen30B.Hidden, qwen30B.Heads, qwen30B.KVHeads = "Qwen/Qwen3-30B-A3B", 48, 2048, 32, 4
	qwen30B.Experts, qwen30B.ExpertsPerToken, qwen30B.MoEIntermediate, qwen30B.Intermediate = 128, 8, 768, 6144
	decode := func(seqs int) Batch { return Batch{DecodeSeqs: seqs, DecodeTokens: seqs, DecodeKV: seqs * 512} }
	mixed := Batch{DecodeSeqs: 1, DecodeTokens: 1, DecodeKV: 512, PrefillSeqs: 1, PrefillTokens: 16, PrefillKV: 136}
	for _, c := range []struct {
		name   string
		d      Deployment
		b      Batch
		launch float64 // the eager launch time; 0 when graphed
	}{
		// vLLM graphs up to 512 tokens, prefill included (piecewise).
		{"vllm decode 1", Deployment{Model: llama8B(), Engine: VLLM}, decode(1), 0},
		{"vllm mixed 17 tokens", Deployment{Model: llama8B(), Engine: VLLM}, mixed, 0},
		// 600 sequences > 512: 32 dense layers × 0.27 ms = 8.64 ms.
		{"vllm decode 600", Deployment{Model: llama8B(), Engine: VLLM}, decode(600), 32 * dense},
		// --enforce-eager: every step, 8.64 ms.
		{"vllm enforce eager", Deployment{Model: llama8B(), Engine: VLLM, Eager: true}, decode(1), 32 * dense},
		// SGLang and TensorRT-LLM run prefill eagerly: 48 MoE layers × 0.77 ms = 36.96 ms.
		{"sglang mixed", Deployment{Model: qwen30B, Engine: SGLang}, mixed, 48 * moe},
		{"trtllm mixed", Deployment{Model: qwen30B, Engine: TRTLLM}, mixed, 48 * moe},
		// TensorRT-LLM's default graphs stop at 128 sequences; a case may raise it.
		{"trtllm decode 129", Deployment{Model: qwen30B, Engine: TRTLLM}, decode(129), 48 * moe},
		{"trtllm decode 129, graphs to 8192", Deployment{Model: qwen30B, Engine: TRTLLM, GraphMaxBatch: 8192}, decode(129), 0},
		// MindIE runs compiled graphs: never an eager floor.
		{"mindie", Deployment{Model: llama8B(), Engine: MindIE, Eager: true}, decode(1), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.d.Chip, c.d.Node, c.d.TP, c.d.Weights = h100(), hgx(), 1, "fp8"
			in := mustNew(t, c.d)
			got := in.launch(&c.b, 1)
			if math.Abs(got-c.launch) > 1e-12 {
				t.Fatalf("launch = %.4g s, want %.4g s", got, c.launch)
			}
			// The step lasts at least the launches plus what the host adds
			// around them (scheduling, per-sequence work).
			s := in.Step(&c.b)
			host := in.stepFixed + in.perSeq*float64(c.b.DecodeSeqs+c.b.PrefillSeqs)
			if float64(s.Total) < got+host-1e-12 {
				t.Errorf("step %.4g s < launch %.4g s + host %.4g s", float64(s.Total), got, host)
			}
		})
	}
}

// TestEagerUnderDP: with attention DP, one rank's prefill makes every
// rank eager; without prefill the per-rank batch decides.
func TestEagerUnderDP(t *testing.T) {
	d := Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: "fp8", TP: 8, EP: 8, DP: 8, Engine: TRTLLM, GraphMaxBatch: 64}
	in := mustNew(t, d)
	// 8 ranks × 64 decodes: graphed. 61 layers (58 MoE, 3 dense).
	b := Batch{DecodeSeqs: 512, DecodeTokens: 512, DecodeKV: 512 * 1000}
	if got := in.launch(&b, 1); got != 0 {
		t.Errorf("512 decodes over 8 ranks: launch %g, want 0 (graphed)", got)
	}
	b.PrefillSeqs, b.PrefillTokens, b.PrefillKV = 1, 100, 5050
	want := 58*0.77e-3 + 3*0.27e-3
	if got := in.launch(&b, 1); math.Abs(got-want) > 1e-12 {
		t.Errorf("one prefill on one rank: launch %g, want %g", got, want)
	}
}
