package model

import (
	"errors"
	"testing"

	"ersatz/internal/hardware"
)

// The context and the checkpoint's precision come from config.json (or the
// catalog entry of a quantized release).
func TestCheckpoint(t *testing.T) {
	cat := hardware.Default()
	chip := func(id string) *hardware.Chip {
		c, err := cat.Chip(id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	h100, b200, a2 := chip("h100-sxm"), chip("b200"), chip("ascend-910b2")
	for _, c := range []struct {
		id      string
		context int
		quant   Checkpoint
		// default weights on H100 (fp8, no fp4), B200 (fp8 and fp4),
		// 910B2 (neither)
		h100, b200, a2 hardware.Precision
	}{
		{"meta-llama/Llama-3.1-70B-Instruct", 131072, Checkpoint{}, "bf16", "bf16", "bf16"},
		// block-wise fp8 in its config: fp8 where the chip computes it,
		// dequantized to 16 bits where it does not.
		{"deepseek-ai/DeepSeek-R1", 163840, Checkpoint{Method: "fp8", Weights: "fp8"}, "fp8", "fp8", "bf16"},
		// MXFP4 experts, self_attn in modules_to_not_convert: 4-bit
		// everywhere, weight-only on H100 and 910B2.
		{"openai/gpt-oss-120b", 131072, Checkpoint{Method: "mxfp4", Weights: "fp4", ExpertsOnly: true}, "fp4", "fp4", "fp4"},
		// A quantized release resolved by alias carries its precision.
		{"Qwen/Qwen3-235B-A22B-FP8", 40960, Checkpoint{Method: "release", Weights: "fp8"}, "fp8", "fp8", "bf16"},
		{"Qwen/Qwen3-235B-A22B-Instruct-2507", 262144, Checkpoint{}, "bf16", "bf16", "bf16"},
	} {
		m, err := Default().Model(c.id)
		if err != nil {
			t.Fatal(err)
		}
		if m.MaxContext != c.context || m.Checkpoint != c.quant {
			t.Errorf("%s: context %d, checkpoint %+v; want %d, %+v", c.id, m.MaxContext, m.Checkpoint, c.context, c.quant)
		}
		for _, k := range []struct {
			chip *hardware.Chip
			want hardware.Precision
		}{{h100, c.h100}, {b200, c.b200}, {a2, c.a2}} {
			if got := m.CheckpointPrecision(k.chip); got != k.want {
				t.Errorf("%s on %s: %s, want %s", c.id, k.chip.ID, got, k.want)
			}
		}
	}
	if !WeightOnly(hardware.FP4, h100) || WeightOnly(hardware.FP4, b200) || WeightOnly(hardware.FP8, a2) {
		t.Error("WeightOnly: want fp4 storage-only on H100, computed on B200; fp8 never")
	}
}

// gpt-oss-120b's memory: routed experts at 4.25 bits (MXFP4 with an e8m0
// scale per 32), attention 16-bit, embeddings and head 16-bit, about the
// 65 GB of the released checkpoint, so one 80 GB H100 holds it.
func TestGPTOSSBytes(t *testing.T) {
	m, err := Default().Model("openai/gpt-oss-120b")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.WeightBytes(hardware.FP4) / 1e9; got < 63 || got > 67 {
		t.Errorf("gpt-oss-120b at its MXFP4: %.1f GB, want about 65", got)
	}
	if m.DenseBytes(hardware.FP4) != 2 || m.DenseBytes(hardware.FP8) != 1 || m.ExpertBytes(hardware.FP4) != 0.5+1.0/32 {
		t.Error("DenseBytes/ExpertBytes: attention 16-bit only at the checkpoint's precision; scales only for MXFP4")
	}
}

func TestCheckContext(t *testing.T) {
	m, _ := Default().Model("meta-llama/Llama-3.1-70B-Instruct")
	if err := m.CheckContext(131000, 72); err != nil {
		t.Errorf("131,072 tokens: %v", err)
	}
	err := m.CheckContext(130000, 2000)
	var ce *ContextError
	if !errors.As(err, &ce) || ce.Context != 131072 {
		t.Fatalf("132,000 tokens: err %v, want a ContextError at 131072", err)
	}
	const want = "prompt 130000 + output 2000 = 132000 tokens exceed the 131072-token context of meta-llama/Llama-3.1-70B-Instruct (max_position_embeddings)"
	if err.Error() != want {
		t.Errorf("got %q\nwant %q", err, want)
	}
	free := &Model{ID: "x"}
	if free.CheckContext(1<<30, 1<<30) != nil {
		t.Error("a model without a context takes any length")
	}
}
