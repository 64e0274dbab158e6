package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Supported lists the architectures (a config.json's architectures[0])
// that Parse reads, in the order error messages print them.
var Supported = []string{
	"LlamaForCausalLM",
	"Qwen2ForCausalLM",
	"Qwen3ForCausalLM",
	"Qwen3MoeForCausalLM",
	"MistralForCausalLM",
	"MixtralForCausalLM",
	"DeepseekV3ForCausalLM",
	"DeepseekV32ForCausalLM",
	"Glm4MoeForCausalLM",
	"GptOssForCausalLM",
	"Llama4ForConditionalGeneration",
	"MiniMaxM2ForCausalLM",
	"GPT2LMHeadModel",
}

// modelTypeArch maps a config's model_type to an architecture, for
// configs without architectures (kimi_k2 is DeepSeek-V3's layout;
// llama4_text is the model_type inside Llama 4's text_config, which Parse
// reads over the top level).
var modelTypeArch = map[string]string{
	"llama":        "LlamaForCausalLM",
	"qwen2":        "Qwen2ForCausalLM",
	"qwen3":        "Qwen3ForCausalLM",
	"qwen3_moe":    "Qwen3MoeForCausalLM",
	"mistral":      "MistralForCausalLM",
	"mixtral":      "MixtralForCausalLM",
	"deepseek_v3":  "DeepseekV3ForCausalLM",
	"kimi_k2":      "DeepseekV3ForCausalLM",
	"deepseek_v32": "DeepseekV32ForCausalLM",
	"glm4_moe":     "Glm4MoeForCausalLM",
	"gpt_oss":      "GptOssForCausalLM",
	"llama4":       "Llama4ForConditionalGeneration",
	"llama4_text":  "Llama4ForConditionalGeneration",
	"minimax_m2":   "MiniMaxM2ForCausalLM",
}

// maxDim bounds every integer field: larger values are not real models and
// would overflow products in int on 32-bit platforms.
const maxDim = 1 << 31

// ConfigError is a config.json that Parse cannot read: malformed JSON, an
// unsupported architecture, or a field with a missing or impossible value.
type ConfigError struct {
	// Field is the JSON key at fault ("" for the document as a whole).
	Field string
	// Msg says what was wrong and what was expected.
	Msg string
	// Offset is the byte offset of a JSON syntax error, else 0.
	Offset int64
	// Err is the underlying error, if any.
	Err error
}

func (e *ConfigError) Error() string {
	if e.Field == "" {
		return "config.json: " + e.Msg
	}
	return "config.json: " + e.Field + ": " + e.Msg
}

func (e *ConfigError) Unwrap() error { return e.Err }

// config is a config.json as a bag of raw fields.
type config map[string]json.RawMessage

func fieldErr(field, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// show renders a raw JSON value for an error message, shortened.
func show(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

func (c config) has(key string) bool {
	raw, ok := c[key]
	return ok && string(bytes.TrimSpace(raw)) != "null"
}

// integer reads an integer field; ok is false when it is absent or null.
// An integral float (4096.0) is accepted.
func (c config) integer(key string) (v int, ok bool, err error) {
	if !c.has(key) {
		return 0, false, nil
	}
	raw := c[key]
	var n json.Number
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] == '"' || json.Unmarshal(t, &n) != nil {
		return 0, true, fieldErr(key, "want an integer (got %s)", show(raw))
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		if i < -maxDim || i > maxDim {
			return 0, true, fieldErr(key, "want an integer of at most %d (got %s)", maxDim, n)
		}
		return int(i), true, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > maxDim {
		return 0, true, fieldErr(key, "want an integer (got %s)", n)
	}
	return int(f), true, nil
}

// positive reads a required positive integer.
func (c config) positive(key string) (int, error) {
	v, ok, err := c.integer(key)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fieldErr(key, "missing (want a positive integer)")
	}
	if v <= 0 {
		return 0, fieldErr(key, "want a positive integer (got %d)", v)
	}
	return v, nil
}

// positives reads required positive integers into their destinations,
// in order, stopping at the first missing or bad one.
func (c config) positives(fields ...field) error {
	for _, f := range fields {
		v, err := c.positive(f.key)
		if err != nil {
			return err
		}
		*f.dst = v
	}
	return nil
}

// field names a config key and where its value goes.
type field struct {
	key string
	dst *int
}

// optional reads an optional integer that must be at least lo when
// present, returning def when absent or null.
func (c config) optional(key string, def, lo int) (int, error) {
	v, ok, err := c.integer(key)
	if err != nil {
		return 0, err
	}
	if !ok {
		return def, nil
	}
	if v < lo {
		if lo == 1 {
			return 0, fieldErr(key, "want a positive integer (got %d)", v)
		}
		return 0, fieldErr(key, "want an integer of at least %d (got %d)", lo, v)
	}
	return v, nil
}

// first returns the first of keys present, or "".
func (c config) first(keys ...string) string {
	for _, k := range keys {
		if c.has(k) {
			return k
		}
	}
	return ""
}

func (c config) boolean(key string, def bool) (bool, error) {
	if !c.has(key) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(c[key], &b); err != nil {
		return false, fieldErr(key, "want true or false (got %s)", show(c[key]))
	}
	return b, nil
}

func (c config) str(key string) (string, error) {
	if !c.has(key) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(c[key], &s); err != nil {
		return "", fieldErr(key, "want a string (got %s)", show(c[key]))
	}
	return s, nil
}

func (c config) strings(key string) ([]string, error) {
	if !c.has(key) {
		return nil, nil
	}
	var s []string
	if err := json.Unmarshal(c[key], &s); err != nil {
		return nil, fieldErr(key, "want a list of strings (got %s)", show(c[key]))
	}
	return s, nil
}

func (c config) ints(key string) ([]int, error) {
	if !c.has(key) {
		return nil, nil
	}
	var s []int
	if err := json.Unmarshal(c[key], &s); err != nil {
		return nil, fieldErr(key, "want a list of integers (got %s)", show(c[key]))
	}
	return s, nil
}

// decode reads the document, reporting syntax errors with their offset.
func decode(data []byte) (config, error) {
	var c config
	if err := json.Unmarshal(data, &c); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, &ConfigError{Msg: fmt.Sprintf("malformed JSON at byte offset %d: %v", syn.Offset, syn), Offset: syn.Offset, Err: err}
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, &ConfigError{Msg: fmt.Sprintf("want a JSON object (got %s)", typ.Value), Offset: typ.Offset, Err: err}
		}
		return nil, &ConfigError{Msg: "malformed JSON: " + err.Error(), Err: err}
	}
	if c == nil {
		return nil, &ConfigError{Msg: "want a JSON object (got null)"}
	}
	return c, nil
}

// Parse reads a Hugging Face config.json. id names the model (e.g.
// "deepseek-ai/DeepSeek-V3"); it is stored, not interpreted. A nested
// text_config (multimodal wrappers) is read over the top-level fields.
// Parse never panics; every failure is a *ConfigError.
func Parse(data []byte, id string) (*Model, error) {
	c, err := decode(data)
	if err != nil {
		return nil, err
	}
	gpt2Keys(c)
	if c.has("text_config") {
		var tc config
		if err := json.Unmarshal(c["text_config"], &tc); err != nil || tc == nil {
			return nil, fieldErr("text_config", "want a JSON object (got %s)", show(c["text_config"]))
		}
		for k, v := range tc {
			if k == "architectures" && c.has("architectures") {
				continue
			}
			c[k] = v
		}
	}
	arch, err := architecture(c)
	if err != nil {
		return nil, err
	}
	m := &Model{ID: id, Architecture: arch}
	if err := m.common(c); err != nil {
		return nil, err
	}
	switch arch {
	case "LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM":
		err = m.dense(c)
	case "Qwen3MoeForCausalLM":
		err = m.qwen3MoE(c)
	case "MistralForCausalLM":
		err = m.mistral(c)
	case "MixtralForCausalLM":
		err = m.mixtral(c)
	case "DeepseekV3ForCausalLM", "DeepseekV32ForCausalLM", "Glm4MoeForCausalLM":
		err = m.deepseek(c)
	case "GptOssForCausalLM":
		err = m.gptOSS(c)
	case "Llama4ForConditionalGeneration":
		err = m.llama4(c)
	case "MiniMaxM2ForCausalLM":
		err = m.minimaxM2(c)
	case "GPT2LMHeadModel":
		err = m.gpt2(c)
	}
	if err != nil {
		return nil, err
	}
	if err := m.readLimits(c); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func architecture(c config) (string, error) {
	archs, err := c.strings("architectures")
	if err != nil {
		return "", err
	}
	if len(archs) > 0 {
		for _, s := range Supported {
			if archs[0] == s {
				return s, nil
			}
		}
		if a, ok := knownAlias[archs[0]]; ok {
			return a, nil
		}
		return "", fieldErr("architectures", "unsupported %q (supported: %s)", archs[0], strings.Join(Supported, ", "))
	}
	mt, err := c.str("model_type")
	if err != nil {
		return "", err
	}
	if a, ok := modelTypeArch[mt]; ok {
		return a, nil
	}
	if mt != "" {
		return "", fieldErr("model_type", "unsupported %q and no architectures (supported: %s)", mt, strings.Join(Supported, ", "))
	}
	return "", fieldErr("architectures", "missing (want one of %s)", strings.Join(Supported, ", "))
}

// knownAlias maps other spellings of a supported layout. Llama4ForCausalLM
// is a text-only Llama 4 checkpoint: the same decoder, no vision tower.
var knownAlias = map[string]string{
	"KimiK2ForCausalLM": "DeepseekV3ForCausalLM",
	"Llama4ForCausalLM": "Llama4ForConditionalGeneration",
}

// common reads the fields every architecture has.
func (m *Model) common(c config) error {
	err := c.positives(field{"hidden_size", &m.Hidden}, field{"num_hidden_layers", &m.Layers},
		field{"vocab_size", &m.Vocab}, field{"num_attention_heads", &m.Heads})
	if err != nil {
		return err
	}
	if m.KVHeads, err = c.optional("num_key_value_heads", m.Heads, 1); err != nil {
		return err
	}
	if m.HeadDim, err = c.optional("head_dim", 0, 1); err != nil {
		return err
	}
	if m.HeadDim == 0 {
		if m.Hidden%m.Heads != 0 {
			return fieldErr("head_dim", "missing, and hidden_size %d is not a multiple of num_attention_heads %d", m.Hidden, m.Heads)
		}
		m.HeadDim = m.Hidden / m.Heads
	}
	if m.TiedEmbeddings, err = c.boolean("tie_word_embeddings", false); err != nil {
		return err
	}
	if m.MTPLayers, err = c.optional("num_nextn_predict_layers", 0, 0); err != nil {
		return err
	}
	return nil
}

// dense reads Llama and Qwen2/Qwen3 (dense, optional sliding window).
func (m *Model) dense(c config) error {
	var err error
	if m.Intermediate, err = c.positive("intermediate_size"); err != nil {
		return err
	}
	return m.sliding(c)
}

// mistral reads Mistral: Llama's dense layout, except that a non-null
// sliding_window applies to every layer (Mistral-7B-v0.1's 4096; v0.2
// and v0.3 write null: full attention). It is not an alias of
// LlamaForCausalLM because Llama's dense reader ignores sliding_window.
func (m *Model) mistral(c config) error {
	var err error
	if m.Intermediate, err = c.positive("intermediate_size"); err != nil {
		return err
	}
	return m.windowAll(c)
}

// sliding reads layer_types, or Qwen2's use_sliding_window and
// max_window_layers (layers from max_window_layers on slide).
func (m *Model) sliding(c config) error {
	if c.has("layer_types") {
		return m.layerTypes(c)
	}
	use, err := c.boolean("use_sliding_window", false)
	if err != nil || !use {
		return err
	}
	w, ok, err := c.integer("sliding_window")
	if err != nil || !ok || w <= 0 {
		return err
	}
	from, err := c.optional("max_window_layers", 0, 0)
	if err != nil {
		return err
	}
	m.SlidingWindow = w
	m.SlidingLayers = max(0, m.Layers-from)
	return nil
}

// layerTypes counts the sliding_attention entries of layer_types.
func (m *Model) layerTypes(c config) error {
	n, err := m.countLayerTypes(c, "sliding_attention")
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	w, err := c.positive("sliding_window")
	if err != nil {
		return err
	}
	m.SlidingWindow, m.SlidingLayers = w, n
	return nil
}

// experts reads the routed-expert count and top-k from the first key of
// each list present.
func (m *Model) experts(c config, countKeys, topKeys []string) error {
	key := c.first(countKeys...)
	if key == "" {
		return fieldErr(countKeys[0], "missing (want a positive integer)")
	}
	var err error
	if m.Experts, err = c.positive(key); err != nil {
		return err
	}
	key = c.first(topKeys...)
	if key == "" {
		return fieldErr(topKeys[0], "missing (want a positive integer)")
	}
	if m.ExpertsPerToken, err = c.positive(key); err != nil {
		return err
	}
	if m.ExpertsPerToken > m.Experts {
		return fieldErr(key, "want at most %s = %d (got %d)", countKeys[0], m.Experts, m.ExpertsPerToken)
	}
	return nil
}

// qwen3MoE reads Qwen3-MoE: num_experts, decoder_sparse_step and
// mlp_only_layers (dense layers), no shared experts.
func (m *Model) qwen3MoE(c config) error {
	if err := m.experts(c, []string{"num_experts"}, []string{"num_experts_per_tok"}); err != nil {
		return err
	}
	var err error
	if m.MoEIntermediate, err = c.positive("moe_intermediate_size"); err != nil {
		return err
	}
	step, err := c.optional("decoder_sparse_step", 1, 1)
	if err != nil {
		return err
	}
	only, err := c.ints("mlp_only_layers")
	if err != nil {
		return err
	}
	// Layer i has experts when it is not in mlp_only_layers and
	// (i+1) % step == 0.
	moe := m.Layers / step
	seen := map[int]bool{}
	for _, i := range only {
		if i >= 0 && i < m.Layers && !seen[i] && (i+1)%step == 0 {
			moe--
		}
		seen[i] = true
	}
	m.DenseLayers = m.Layers - moe
	if err := m.denseWidth(c, "intermediate_size"); err != nil {
		return err
	}
	return m.sliding(c)
}

// countLayerTypes counts the local entries of layer_types, one per
// layer, each local or "full_attention".
func (m *Model) countLayerTypes(c config, local string) (int, error) {
	types, err := c.strings("layer_types")
	if err != nil {
		return 0, err
	}
	if len(types) != m.Layers {
		return 0, fieldErr("layer_types", "want %d entries, one per num_hidden_layers (got %d)", m.Layers, len(types))
	}
	n := 0
	for i, t := range types {
		switch t {
		case local:
			n++
		case "full_attention":
		default:
			return 0, fieldErr("layer_types", "entry %d: want %q or \"full_attention\" (got %q)", i, local, t)
		}
	}
	return n, nil
}

// windowAll reads a sliding_window that, when not null, applies to every
// layer (Mistral, Mixtral, MiniMax-M2).
func (m *Model) windowAll(c config) error {
	w, ok, err := c.integer("sliding_window")
	if err != nil {
		return err
	}
	if ok && w > 0 {
		m.SlidingWindow, m.SlidingLayers = w, m.Layers
	}
	return nil
}

// localExperts reads num_local_experts experts of width
// intermediate_size, num_experts_per_tok of them per token: Mixtral's
// spelling, which MiniMax-M2 and Llama 4 keep.
func (m *Model) localExperts(c config) error {
	if err := m.experts(c, []string{"num_local_experts"}, []string{"num_experts_per_tok"}); err != nil {
		return err
	}
	return c.positives(field{"intermediate_size", &m.MoEIntermediate})
}

// denseWidth reads the dense FFN width from key: required when some
// layers are dense, optional (0) when every layer is MoE.
func (m *Model) denseWidth(c config, key string) (err error) {
	if m.DenseLayers > 0 {
		return c.positives(field{key, &m.Intermediate})
	}
	m.Intermediate, err = c.optional(key, 0, 0)
	return err
}

// mixtral reads Mixtral: every layer has num_local_experts experts of
// width intermediate_size; a non-null sliding_window applies to all.
func (m *Model) mixtral(c config) error {
	if err := m.localExperts(c); err != nil {
		return err
	}
	m.Intermediate = m.MoEIntermediate
	return m.windowAll(c)
}

// deepseek reads DeepSeek-V3 (MLA; also Kimi K2 and DeepSeek-V3.2, whose
// indexer is left out) and GLM-4.5 (GQA with DeepSeek's MoE layout).
// Layer i has experts when i >= first_k_dense_replace and
// i % moe_layer_freq == 0.
func (m *Model) deepseek(c config) error {
	var err error
	if m.Architecture != "Glm4MoeForCausalLM" {
		if err := m.mla(c); err != nil {
			return err
		}
	}
	if m.Architecture == "DeepseekV32ForCausalLM" {
		if err := m.sparseIndexer(c); err != nil {
			return err
		}
	}
	if m.Intermediate, err = c.positive("intermediate_size"); err != nil {
		return err
	}
	if !c.has("n_routed_experts") {
		return nil // dense
	}
	if err := m.experts(c, []string{"n_routed_experts"}, []string{"num_experts_per_tok"}); err != nil {
		return err
	}
	if m.MoEIntermediate, err = c.positive("moe_intermediate_size"); err != nil {
		return err
	}
	if m.SharedExperts, err = c.optional("n_shared_experts", 0, 0); err != nil {
		return err
	}
	if m.SharedExperts > 0 {
		m.SharedIntermediate = m.MoEIntermediate
	}
	k, err := c.optional("first_k_dense_replace", 0, 0)
	if err != nil {
		return err
	}
	freq, err := c.optional("moe_layer_freq", 1, 1)
	if err != nil {
		return err
	}
	// MoE layers: multiples of freq in [k, Layers).
	moe := 0
	if k < m.Layers {
		moe = (m.Layers-1)/freq - (k-1+freq)/freq + 1
		if k == 0 {
			moe = (m.Layers-1)/freq + 1
		}
	}
	m.DenseLayers = m.Layers - moe
	return nil
}

// sparseIndexer reads DeepSeek Sparse Attention's lightning indexer
// (DeepSeek-V3.2): index_n_heads heads of index_head_dim score every
// cached token, and attention reads the index_topk best.
func (m *Model) sparseIndexer(c config) error {
	return c.positives(field{"index_topk", &m.IndexTopK}, field{"index_n_heads", &m.IndexHeads},
		field{"index_head_dim", &m.IndexHeadDim})
}

// mla reads the multi-head latent attention fields.
func (m *Model) mla(c config) error {
	var err error
	if m.KVLoraRank, err = c.positive("kv_lora_rank"); err != nil {
		return err
	}
	if m.QLoraRank, err = c.optional("q_lora_rank", 0, 0); err != nil {
		return err
	}
	if m.QKNopeHeadDim, err = c.positive("qk_nope_head_dim"); err != nil {
		return err
	}
	if m.QKRopeHeadDim, err = c.positive("qk_rope_head_dim"); err != nil {
		return err
	}
	if m.VHeadDim, err = c.positive("v_head_dim"); err != nil {
		return err
	}
	// Every head has its own query; keys and values come from the shared
	// latent, so KVHeads = Heads and HeadDim is the q/k width.
	m.KVHeads = m.Heads
	m.HeadDim = m.QKNopeHeadDim + m.QKRopeHeadDim
	return nil
}

// gptOSS reads gpt-oss: num_local_experts experts of width
// intermediate_size in every layer, layer_types alternating sliding and
// full attention.
func (m *Model) gptOSS(c config) error {
	if err := m.experts(c, []string{"num_local_experts", "num_experts"}, []string{"experts_per_token", "num_experts_per_tok"}); err != nil {
		return err
	}
	var err error
	if m.MoEIntermediate, err = c.positive("intermediate_size"); err != nil {
		return err
	}
	m.Intermediate = m.MoEIntermediate
	return m.sliding(c)
}

// minimaxM2 reads MiniMax-M2: num_local_experts experts of width
// intermediate_size in every layer, GQA softmax attention in every layer
// (attn_type_list all 1; MiniMax-01's 0, lightning linear attention, is
// not modelled, so it is refused), no shared expert
// (shared_intermediate_size 0). Its multi-token-prediction modules
// (num_mtp_modules) are not read, so not counted.
func (m *Model) minimaxM2(c config) error {
	if err := m.localExperts(c); err != nil {
		return err
	}
	m.Intermediate = m.MoEIntermediate
	shared, err := c.optional("shared_intermediate_size", 0, 0)
	if err != nil {
		return err
	}
	if shared > 0 {
		m.SharedExperts, m.SharedIntermediate = 1, shared
	}
	types, err := c.ints("attn_type_list")
	if err != nil {
		return err
	}
	if len(types) > 0 && len(types) != m.Layers {
		return fieldErr("attn_type_list", "want %d entries, one per num_hidden_layers (got %d)", m.Layers, len(types))
	}
	for i, t := range types {
		if t != 1 {
			return fieldErr("attn_type_list", "entry %d: want 1, softmax attention (got %d; linear attention is not supported)", i, t)
		}
	}
	// As in Mixtral, a non-null sliding_window applies to every layer.
	return m.windowAll(c)
}

// Validate checks that the shape is consistent: positive widths, KV heads
// dividing the query heads, expert fields of an MoE model, dense layers
// within the layer count. Parse calls it; call it on a Model built by
// hand.
func (m *Model) Validate() error {
	pos := []struct {
		name string
		v    int
	}{
		{"hidden_size", m.Hidden}, {"num_hidden_layers", m.Layers}, {"vocab_size", m.Vocab},
		{"num_attention_heads", m.Heads}, {"num_key_value_heads", m.KVHeads}, {"head_dim", m.HeadDim},
	}
	for _, p := range pos {
		if p.v <= 0 || p.v > maxDim {
			return fieldErr(p.name, "want a positive integer (got %d)", p.v)
		}
	}
	if m.KVHeads > m.Heads || m.Heads%m.KVHeads != 0 {
		return fieldErr("num_key_value_heads", "want a divisor of num_attention_heads %d (got %d)", m.Heads, m.KVHeads)
	}
	if m.DenseLayers < 0 || m.DenseLayers > m.Layers {
		return fieldErr("first_k_dense_replace", "want at most num_hidden_layers %d dense layers (got %d)", m.Layers, m.DenseLayers)
	}
	if m.DenseFFNLayers() > 0 && m.Intermediate <= 0 {
		return fieldErr("intermediate_size", "want a positive integer (got %d)", m.Intermediate)
	}
	if m.MoE() {
		if m.ExpertsPerToken <= 0 || m.ExpertsPerToken > m.Experts {
			return fieldErr("num_experts_per_tok", "want 1 to %d (got %d)", m.Experts, m.ExpertsPerToken)
		}
		if m.MoEIntermediate <= 0 {
			return fieldErr("moe_intermediate_size", "want a positive integer (got %d)", m.MoEIntermediate)
		}
		if m.SharedExperts < 0 || (m.SharedExperts > 0 && m.SharedIntermediate <= 0) {
			return fieldErr("n_shared_experts", "want a non-negative count with a positive width (got %d of width %d)", m.SharedExperts, m.SharedIntermediate)
		}
	}
	if m.SlidingLayers < 0 || m.SlidingLayers > m.Layers || (m.SlidingLayers > 0 && m.SlidingWindow <= 0) {
		return fieldErr("sliding_window", "want a positive window for %d sliding layers of %d (got %d)", m.SlidingLayers, m.Layers, m.SlidingWindow)
	}
	if m.MLA() && (m.QKNopeHeadDim < 0 || m.QKRopeHeadDim <= 0 || m.VHeadDim <= 0 || m.QLoraRank < 0) {
		return fieldErr("kv_lora_rank", "MLA needs positive qk_rope_head_dim and v_head_dim")
	}
	if m.IndexTopK < 0 || (m.IndexTopK > 0 && (!m.MLA() || m.IndexHeads <= 0 || m.IndexHeadDim <= 0 || m.IndexHeadDim > maxDim)) {
		return fieldErr("index_topk", "sparse attention needs MLA and positive index_n_heads and index_head_dim (got top-k %d, %d heads of %d)", m.IndexTopK, m.IndexHeads, m.IndexHeadDim)
	}
	return nil
}
