package fit

import (
	"errors"
	"math"
	"strings"
	"testing"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
)

// toy is a dense GQA model with round numbers so the arithmetic below can
// be done by hand:
//
//	attention per layer: q 1000×1000 + k 1000×250 + v 1000×250 + o 1000×1000 = 2.5e6
//	FFN per layer: 3 × 1000 × 4000 = 12e6
//	10 layers: 145e6; embedding 10e6; LM head 10e6
//	KV per token (bf16): 10 layers × 2 heads × 125 × 2 (K, V) × 2 B = 10,000 B
var toy = &model.Model{ID: "toy", Layers: 10, Hidden: 1000, Vocab: 10000, Heads: 8, KVHeads: 2, HeadDim: 125, Intermediate: 4000}

func TestDeviceWeights(t *testing.T) {
	tests := []struct {
		name string
		l    Layout
		p    hardware.Precision
		want float64
	}{
		// 145e6 × 2 B + (10e6 + 10e6) × 2 B = 330e6
		{"tp1 bf16", Layout{1, 1, 1, 1}, hardware.BF16, 330e6},
		// 145e6/2 × 2 B + 20e6 × 2 B / 2 = 165e6
		{"tp2 bf16", Layout{2, 1, 1, 1}, hardware.BF16, 165e6},
		// 5 layers × 14.5e6 × 2 B + max(embedding, head) 10e6 × 2 B = 165e6
		{"pp2 bf16", Layout{1, 2, 1, 1}, hardware.BF16, 165e6},
		// linear at 1 B, embedding and head stay 16-bit: 145e6 + 40e6 = 185e6
		{"tp1 fp8", Layout{1, 1, 1, 1}, hardware.FP8, 185e6},
		// attention replicated over dp 2 (attention tp 1): 10 × 2.5e6 × 2 B = 50e6;
		// FFN split tp 2: 10 × 12e6 × 2 B / 2 = 120e6; embeddings 20e6 → 190e6
		{"tp2 dp2 bf16", Layout{2, 1, 1, 2}, hardware.BF16, 190e6},
	}
	for _, tt := range tests {
		if got := DeviceWeights(toy, tt.l, tt.p); math.Abs(got-tt.want) > 1 {
			t.Errorf("%s: DeviceWeights = %.0f, want %.0f", tt.name, got, tt.want)
		}
	}
}

func TestKVShard(t *testing.T) {
	for _, tt := range []struct {
		l    Layout
		want int
	}{
		{Layout{1, 1, 1, 1}, 1},
		{Layout{2, 1, 1, 1}, 2},
		{Layout{8, 1, 1, 1}, 2}, // 2 KV heads: replicated 4 ways beyond tp 2
		{Layout{8, 1, 1, 4}, 2}, // attention tp 2
		{Layout{8, 1, 1, 8}, 1}, // attention tp 1
	} {
		if got := KVShard(toy, tt.l); got != tt.want {
			t.Errorf("KVShard(%v) = %d, want %d", tt.l, got, tt.want)
		}
	}
}

func TestCheckLlama70BOnH100(t *testing.T) {
	cat := hardware.Default()
	h100, err := cat.Chip("h100-sxm")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Default().Model("meta-llama/Llama-3.1-70B-Instruct")
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions
	o.Weights, o.KV = hardware.FP8, hardware.FP8

	// One H100: 80 GiB = 85.90 GB, 90% usable = 77.31 GB. Weights at fp8:
	// 68.45e9 linear × 1 B + 2 × 1.0507e9 (embedding, head) × 2 B = 72.65 GB.
	// Activations for 8192 tokens: 8192 × (6×8192 + 3×28672) × 2 B = 2.21 GB,
	// plus logits 256 × 128256 × 4 B = 0.13 GB; runtime 1.07 GB.
	// KV free = 77.31 − 72.65 − 2.34 − 1.07 = 1.25 GB; fp8 KV per token =
	// 80 × 8 × 128 × 2 × 1 B = 163,840 B → 7.6k tokens, less than one
	// 8,192-token sequence: it does not fit.
	r, err := Check(m, h100, Layout{1, 1, 1, 1}, o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Weights.GB(), 72.65; math.Abs(got-want) > 0.05 {
		t.Errorf("weights = %.2f GB, want %.2f", got, want)
	}
	if r.KVPerToken != 163840 {
		t.Errorf("KV per token = %.0f, want 163840", float64(r.KVPerToken))
	}
	if r.KVTokens < 7000 || r.KVTokens > 8200 {
		t.Errorf("KV tokens = %d, want about 7.6k", r.KVTokens)
	}
	if r.Fits {
		t.Errorf("fits with %d sequences of 8192; want no full sequence", r.Sequences)
	}

	// Two H100s, tp 2: weights 36.33 GB per device; KV per token 81,920 B;
	// KV free ≈ 77.31 − 36.33 − (8192 × (49152 + 43008) × 2 + 0.07e9 = 1.58) − 1.07 = 38.3 GB
	// → ≈ 468k tokens for the instance, 57 sequences of 8192.
	r, err = Check(m, h100, Layout{2, 1, 1, 1}, o)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Fits || r.Sequences < 55 || r.Sequences > 59 {
		t.Errorf("tp2: fits=%v sequences=%d, want fits with about 57", r.Fits, r.Sequences)
	}
}

func TestCheckLayoutErrors(t *testing.T) {
	moe := &model.Model{ID: "moe", Layers: 4, Hidden: 64, Vocab: 100, Heads: 8, KVHeads: 8, HeadDim: 8, Intermediate: 128, Experts: 6, ExpertsPerToken: 2, MoEIntermediate: 32}
	tests := []struct {
		m     *model.Model
		l     Layout
		field string
		msg   string
	}{
		{toy, Layout{3, 1, 1, 1}, "tp", "must divide the 8 attention heads"},
		{toy, Layout{0, 1, 1, 1}, "tp", "positive"},
		{toy, Layout{2, 11, 1, 1}, "pp", "more stages than the 10 layers"},
		{toy, Layout{2, 1, 2, 1}, "ep", "is dense"},
		{toy, Layout{4, 1, 1, 3}, "dp", "must divide tp 4"},
		{moe, Layout{4, 1, 3, 1}, "ep", "must divide tp 4"},
		{moe, Layout{2, 1, 3, 1}, "ep", "want ep ≤ tp"},
	}
	for _, tt := range tests {
		err := CheckLayout(tt.m, tt.l)
		var le *LayoutError
		if !errors.As(err, &le) {
			t.Errorf("%v: err = %v, want a LayoutError", tt.l, err)
			continue
		}
		if le.Field != tt.field || !strings.Contains(le.Error(), tt.msg) {
			t.Errorf("%v: err = %q, want field %s and %q", tt.l, le, tt.field, tt.msg)
		}
	}
}

func TestSmallest(t *testing.T) {
	cat := hardware.Default()
	c, err := cat.Chip("ascend-910b2")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Default().Model("deepseek-ai/DeepSeek-R1")
	if err != nil {
		t.Fatal(err)
	}
	// bf16 weights are 1,342 GB; a 910B holds 64 GiB × 0.9 = 61.8 GB, less
	// 2.6 GB of workspace: at least 1342/59.2 = 22.7 devices, and the layout
	// must divide 128 heads and 256 experts across tp, so 24 (tp8 pp3).
	r, ok := Smallest(m, c, DefaultOptions)
	if !ok || r.Chips != 24 {
		t.Errorf("smallest = %d chips (%v, ok=%v), want 24", r.Chips, r.Layout, ok)
	}
}
