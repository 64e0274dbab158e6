package model

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func shipped(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	err := fs.WalkDir(embedded, "configs", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "config.json" {
			return err
		}
		data, err := embedded.ReadFile(p)
		out[p] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// edit returns the Llama-3.1-8B config with fields set (nil deletes).
func edit(t *testing.T, set map[string]any) []byte {
	data, _ := embedded.ReadFile("configs/meta-llama/Llama-3.1-8B-Instruct/config.json")
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	out, _ := json.Marshal(c)
	return out
}

// editFile returns a shipped config with fields set (nil deletes), inside
// text_config when the file has one (Llama 4).
func editFile(t *testing.T, file string, set map[string]any) []byte {
	data, err := embedded.ReadFile("configs/" + file + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	fields := c
	if tc, ok := c["text_config"].(map[string]any); ok {
		fields = tc
	}
	for k, v := range set {
		if v == nil {
			delete(fields, k)
		} else {
			fields[k] = v
		}
	}
	out, _ := json.Marshal(c)
	return out
}

const (
	scoutFile    = "meta-llama/Llama-4-Scout-17B-16E-Instruct"
	maverickFile = "meta-llama/Llama-4-Maverick-17B-128E-Instruct"
	minimaxFile  = "MiniMaxAI/MiniMax-M2"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		field string
		want  string // substring of the message
	}{
		{"malformed", []byte(`{"hidden_size": 4096,,}`), "", "malformed JSON at byte offset 22"},
		{"truncated", []byte(`{"hidden_size": 40`), "", "malformed JSON"},
		{"empty", []byte(``), "", "malformed JSON"},
		{"not an object", []byte(`[1, 2]`), "", "want a JSON object"},
		{"null", []byte(`null`), "", "want a JSON object"},
		{"unsupported", []byte(`{"architectures": ["BertForMaskedLM"]}`), "architectures",
			`config.json: architectures: unsupported "BertForMaskedLM" (supported: LlamaForCausalLM, Qwen2ForCausalLM`},
		{"no architecture", []byte(`{"hidden_size": 1}`), "architectures", "missing"},
		{"unknown model_type", []byte(`{"model_type": "bert"}`), "model_type", `unsupported "bert"`},
		{"architectures not a list", []byte(`{"architectures": "LlamaForCausalLM"}`), "architectures", "want a list of strings"},
		{"zero hidden", edit(t, map[string]any{"hidden_size": 0}), "hidden_size",
			"config.json: hidden_size: want a positive integer (got 0)"},
		{"negative layers", edit(t, map[string]any{"num_hidden_layers": -3}), "num_hidden_layers", "(got -3)"},
		{"missing vocab", edit(t, map[string]any{"vocab_size": nil}), "vocab_size", "missing (want a positive integer)"},
		{"missing intermediate", edit(t, map[string]any{"intermediate_size": nil}), "intermediate_size", "missing"},
		{"string hidden", edit(t, map[string]any{"hidden_size": "4096"}), "hidden_size", `want an integer (got "4096")`},
		{"fractional heads", edit(t, map[string]any{"num_attention_heads": 32.5}), "num_attention_heads", "want an integer (got 32.5)"},
		{"huge", edit(t, map[string]any{"hidden_size": 1e300}), "hidden_size", "want an integer"},
		{"kv not dividing", edit(t, map[string]any{"num_key_value_heads": 5}), "num_key_value_heads", "divisor of num_attention_heads 32 (got 5)"},
		{"head_dim indivisible", edit(t, map[string]any{"num_attention_heads": 3, "num_key_value_heads": nil}), "head_dim", "not a multiple"},
		{"tie not bool", edit(t, map[string]any{"tie_word_embeddings": "yes"}), "tie_word_embeddings", "want true or false"},
		{"text_config not object", edit(t, map[string]any{"text_config": 3}), "text_config", "want a JSON object"},
		{"layer_types length", edit(t, map[string]any{"layer_types": []string{"full_attention"}}), "layer_types", "want 32 entries"},
		{"moe missing experts", []byte(`{"architectures":["MixtralForCausalLM"],"hidden_size":8,"num_hidden_layers":2,"vocab_size":10,"num_attention_heads":2,"intermediate_size":16,"num_experts_per_tok":2}`),
			"num_local_experts", "missing"},
		{"top-k above experts", []byte(`{"architectures":["MixtralForCausalLM"],"hidden_size":8,"num_hidden_layers":2,"vocab_size":10,"num_attention_heads":2,"intermediate_size":16,"num_local_experts":2,"num_experts_per_tok":3}`),
			"num_experts_per_tok", "want at most num_local_experts = 2 (got 3)"},
		{"mla missing rope", []byte(`{"architectures":["DeepseekV3ForCausalLM"],"hidden_size":8,"num_hidden_layers":2,"vocab_size":10,"num_attention_heads":2,"intermediate_size":16,"kv_lora_rank":4,"qk_nope_head_dim":2,"v_head_dim":2}`),
			"qk_rope_head_dim", "missing"},
		// Maverick's 24 dense layers need their width; Scout has none.
		{"llama4 missing dense width", editFile(t, maverickFile, map[string]any{"intermediate_size_mlp": nil}),
			"intermediate_size_mlp", "missing (want a positive integer)"},
		{"llama4 missing experts", editFile(t, scoutFile, map[string]any{"num_local_experts": nil}),
			"num_local_experts", "missing"},
		{"llama4 no_rope_layers length", editFile(t, scoutFile, map[string]any{"no_rope_layers": []int{1, 0}}),
			"no_rope_layers", "want 48 entries"},
		{"llama4 moe_layers out of range", editFile(t, maverickFile, map[string]any{"moe_layers": []int{1, 48}}),
			"moe_layers", "(got 48)"},
		{"llama4 unknown layer type", editFile(t, scoutFile, map[string]any{"layer_types": make([]string, 48)}),
			"layer_types", `entry 0: want "chunked_attention" or "full_attention"`},
		{"minimax missing experts", editFile(t, minimaxFile, map[string]any{"num_local_experts": nil}),
			"num_local_experts", "missing (want a positive integer)"},
		{"minimax missing expert width", editFile(t, minimaxFile, map[string]any{"intermediate_size": nil}),
			"intermediate_size", "missing"},
		{"minimax linear attention", editFile(t, minimaxFile, map[string]any{"attn_type_list": append([]int{0}, make([]int, 61)...)}),
			"attn_type_list", "entry 0: want 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.data, "x")
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", m)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			if ce.Field != tt.field {
				t.Errorf("Field = %q, want %q (%v)", ce.Field, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

func TestParseOffset(t *testing.T) {
	_, err := Parse([]byte(`{"a": 1, "b": ?}`), "x")
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Offset != 15 {
		t.Fatalf("err = %v, offset %d", err, ce.Offset)
	}
}

func TestParseDialects(t *testing.T) {
	// num_key_value_heads absent means MHA; head_dim absent is Hidden/Heads.
	m, err := Parse(edit(t, map[string]any{"num_key_value_heads": nil}), "x")
	if err != nil || m.KVHeads != 32 || m.HeadDim != 128 {
		t.Fatalf("absent kv heads: %+v %v", m, err)
	}
	// tie_word_embeddings drops the LM head.
	m, _ = Parse(edit(t, map[string]any{"tie_word_embeddings": true}), "x")
	if !m.TiedEmbeddings || m.LMHeadParams() != 0 {
		t.Errorf("tied: %+v", m)
	}
	// Integral floats are accepted.
	if m, err := Parse(edit(t, map[string]any{"hidden_size": 4096.0}), "x"); err != nil || m.Hidden != 4096 {
		t.Errorf("4096.0: %v", err)
	}
	// A nested text_config supplies the text model.
	inner, _ := embedded.ReadFile("configs/Qwen/Qwen3-8B/config.json")
	wrapped := []byte(`{"architectures": ["Qwen3ForCausalLM"], "model_type": "wrapper", "text_config": ` + string(inner) + `}`)
	m, err = Parse(wrapped, "x")
	if err != nil || m.Layers != 36 || m.Hidden != 4096 {
		t.Errorf("text_config: %+v %v", m, err)
	}
	// model_type alone selects the architecture (Kimi K2 configs say kimi_k2).
	kimi, _ := embedded.ReadFile("configs/moonshotai/Kimi-K2-Instruct/config.json")
	var c map[string]any
	_ = json.Unmarshal(kimi, &c)
	delete(c, "architectures")
	noArch, _ := json.Marshal(c)
	m, err = Parse(noArch, "kimi")
	if err != nil || m.Architecture != "DeepseekV3ForCausalLM" || !m.MLA() {
		t.Errorf("kimi_k2 model_type: %+v %v", m, err)
	}
	// MLA without q_lora_rank (DeepSeek-V2-Lite style: null).
	c["q_lora_rank"] = nil
	noQ, _ := json.Marshal(c)
	if m, err := Parse(noQ, "x"); err != nil || m.QLoraRank != 0 {
		t.Errorf("q_lora_rank null: %v", err)
	}
	// Qwen2 with use_sliding_window: layers from max_window_layers slide.
	q, _ := embedded.ReadFile("configs/Qwen/Qwen2.5-72B-Instruct/config.json")
	_ = json.Unmarshal(q, &c)
	c["use_sliding_window"], c["sliding_window"] = true, 4096
	slide, _ := json.Marshal(c)
	if m, err := Parse(slide, "x"); err != nil || m.SlidingLayers != 10 || m.SlidingWindow != 4096 {
		t.Errorf("qwen2 sliding: %+v %v", m, err)
	}
	// Mistral: a non-null sliding_window (v0.1's 4096) slides every
	// layer; model_type mistral alone selects the architecture.
	mi, _ := embedded.ReadFile("configs/mistralai/Mistral-7B-Instruct-v0.3/config.json")
	var mc map[string]any
	_ = json.Unmarshal(mi, &mc)
	mc["sliding_window"] = 4096
	delete(mc, "architectures")
	v01, _ := json.Marshal(mc)
	if m, err := Parse(v01, "x"); err != nil || m.Architecture != "MistralForCausalLM" || m.SlidingLayers != 32 || m.SlidingWindow != 4096 || m.Intermediate != 14336 {
		t.Errorf("mistral v0.1 window: %+v %v", m, err)
	}
	// DeepSeek moe_layer_freq 2 with first_k_dense_replace 3 over 61
	// layers: MoE at 4, 6, ..., 60 = 29 layers.
	d, _ := embedded.ReadFile("configs/deepseek-ai/DeepSeek-V3/config.json")
	_ = json.Unmarshal(d, &c)
	c["moe_layer_freq"] = 2
	freq, _ := json.Marshal(c)
	if m, err := Parse(freq, "x"); err != nil || m.MoELayers() != 29 {
		t.Errorf("moe_layer_freq 2: %d %v", m.MoELayers(), err)
	}
	// Qwen3-MoE mlp_only_layers and decoder_sparse_step 2 over 48
	// layers: MoE at 1, 3, ..., 47 (24), less layer 3 → 23.
	q3, _ := embedded.ReadFile("configs/Qwen/Qwen3-30B-A3B/config.json")
	_ = json.Unmarshal(q3, &c)
	c["decoder_sparse_step"], c["mlp_only_layers"] = 2, []int{0, 3, 3, 99}
	sparse, _ := json.Marshal(c)
	if m, err := Parse(sparse, "x"); err != nil || m.MoELayers() != 23 || m.DenseLayers != 25 {
		t.Errorf("qwen3 sparse step: %+v %v", m, err)
	}
}

// TestParseLlama4 checks the ways a Llama 4 config says which layers are
// MoE and which attend in chunks.
func TestParseLlama4(t *testing.T) {
	parse := func(file string, set map[string]any) *Model {
		t.Helper()
		m, err := Parse(editFile(t, file, set), "x")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Explicit moe_layers win over interleave_moe_layer_step; duplicates
	// count once.
	if m := parse(scoutFile, map[string]any{"moe_layers": []int{0, 4, 4, 8}}); m.MoELayers() != 3 || m.DenseLayers != 45 || m.Intermediate != 16384 {
		t.Errorf("moe_layers: %d MoE, %d dense of %d", m.MoELayers(), m.DenseLayers, m.Intermediate)
	}
	// interleave_moe_layer_step 4 over 48 layers: MoE at 3, 7, ..., 47.
	if m := parse(maverickFile, map[string]any{"interleave_moe_layer_step": 4}); m.MoELayers() != 12 {
		t.Errorf("step 4: %d MoE layers", m.MoELayers())
	}
	// Scout has no dense layers, so intermediate_size_mlp may be absent.
	if m := parse(scoutFile, map[string]any{"intermediate_size_mlp": nil}); m.DenseFFNLayers() != 0 {
		t.Errorf("scout without intermediate_size_mlp: %+v", *m)
	}
	// no_rope_layers as transformers writes it after loading: 1 = RoPE
	// (chunked), 0 = NoPE (global); here every other layer.
	flags := make([]int, 48)
	for i := range flags {
		flags[i] = i % 2
	}
	if m := parse(scoutFile, map[string]any{"no_rope_layers": flags}); m.SlidingLayers != 24 || m.SlidingWindow != 8192 {
		t.Errorf("no_rope_layers: %d chunked of %d", m.SlidingLayers, m.SlidingWindow)
	}
	// no_rope_layer_interval 2 (the field absent above defaults to 4).
	if m := parse(scoutFile, map[string]any{"no_rope_layers": nil, "no_rope_layer_interval": 2}); m.SlidingLayers != 24 {
		t.Errorf("interval 2: %d chunked", m.SlidingLayers)
	}
	// layer_types wins; a null chunk size turns chunking off; an absent
	// one is transformers' default, 8192.
	types := make([]string, 48)
	for i := range types {
		types[i] = "full_attention"
	}
	types[5] = "chunked_attention"
	if m := parse(scoutFile, map[string]any{"layer_types": types, "attention_chunk_size": 1024}); m.SlidingLayers != 1 || m.SlidingWindow != 1024 {
		t.Errorf("layer_types: %d chunked of %d", m.SlidingLayers, m.SlidingWindow)
	}
	if m := parse(scoutFile, map[string]any{"attention_chunk_size": json.RawMessage("null")}); m.SlidingLayers != 0 {
		t.Errorf("null chunk: %d chunked", m.SlidingLayers)
	}
	if m := parse(scoutFile, map[string]any{"attention_chunk_size": nil}); m.SlidingWindow != 8192 {
		t.Errorf("absent chunk: %d", m.SlidingWindow)
	}
	// A text-only Llama4ForCausalLM config, and one with only model_type.
	data, _ := embedded.ReadFile("configs/" + maverickFile + "/config.json")
	var c map[string]any
	_ = json.Unmarshal(data, &c)
	text := c["text_config"].(map[string]any)
	text["architectures"] = []string{"Llama4ForCausalLM"}
	flat, _ := json.Marshal(text)
	if m, err := Parse(flat, "x"); err != nil || m.Architecture != "Llama4ForConditionalGeneration" || m.MoELayers() != 24 {
		t.Errorf("Llama4ForCausalLM: %+v %v", m, err)
	}
	delete(text, "architectures")
	flat, _ = json.Marshal(text)
	if m, err := Parse(flat, "x"); err != nil || m.Experts != 128 {
		t.Errorf("model_type llama4_text: %+v %v", m, err)
	}
}

func TestShippedParse(t *testing.T) {
	for p, data := range shipped(t) {
		if _, err := Parse(data, p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, data := range shipped(f) {
		f.Add(data)
	}
	f.Add([]byte(`{"architectures":["DeepseekV3ForCausalLM"],"text_config":{"hidden_size":1}}`))
	f.Add([]byte(`{"architectures":["LlamaForCausalLM"],"hidden_size":64,"num_hidden_layers":2,"vocab_size":10,"num_attention_heads":8,"intermediate_size":128,"max_position_embeddings":-3,"quantization_config":{"quant_method":"gptq","bits":4,"modules_to_not_convert":["self_attn"]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "fuzz")
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *ConfigError: %v", err, err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Parse returned an invalid model: %v", err)
		}
		// The arithmetic must not panic or go negative on anything Parse accepts.
		total, active := m.Params()
		if total < 0 || active < 0 || active > total {
			t.Fatalf("params %v %v", total, active)
		}
		_ = m.KVBytes(1<<20, "bf16")
		_ = m.PrefillFLOPs(4096).Total()
		_ = m.DecodeFLOPs(4096).Total()
		_ = m.KVHeadsPerDevice(8)
		if m.MaxContext < 0 || m.WeightBytes(m.Checkpoint.Weights+"") < 0 {
			t.Fatalf("context %d, checkpoint %+v", m.MaxContext, m.Checkpoint)
		}
	})
}
