package model

import (
	"math"
	"testing"
)

func TestParseGPT2(t *testing.T) {
	// GPT-3 175B as Megatron's papers shape it: h 12288, 96 layers, 96
	// heads, vocabulary 51200, tied LM head, 4h GeLU FFN.
	cfg := []byte(`{"architectures": ["GPT2LMHeadModel"], "n_embd": 12288, "n_layer": 96, "n_head": 96, "vocab_size": 51200, "n_positions": 2048}`)
	m, err := Parse(cfg, "gpt3-175b")
	if err != nil {
		t.Fatal(err)
	}
	if !m.UngatedFFN || m.Intermediate != 4*12288 || m.KVHeads != 96 || m.HeadDim != 128 || !m.TiedEmbeddings {
		t.Fatalf("shape %+v", m)
	}
	// Per layer 4h² (attention) + 8h² (FFN, two h×4h matrices) = 12h²:
	// 12 · 96 · 12288² = 173.95e9, plus the tied embedding 51200 · 12288 =
	// 0.629e9: 174.6e9.
	total, _ := m.Params()
	if want := 12*96*12288.0*12288 + 51200*12288.0; math.Abs(total-want) > 1 {
		t.Errorf("params %.4g, want %.4g", total, want)
	}
	// model_type alone, and n_inner given.
	m, err = Parse([]byte(`{"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12, "n_inner": 2048, "vocab_size": 50257}`), "small")
	if err != nil {
		t.Fatal(err)
	}
	if m.Intermediate != 2048 || m.DenseFFNParams() != 2*768*2048 {
		t.Errorf("n_inner: intermediate %d, ffn params %g", m.Intermediate, m.DenseFFNParams())
	}
}
