package model

import "bytes"

// llama4 reads the text model of Llama 4 (Scout, Maverick), which Parse
// has lifted out of text_config. The vision tower (vision_config) is
// ignored: ersatz models the decoder, and an image enters it as tokens.
//
// MoE layers have num_local_experts routed experts and one always-on
// shared expert, all of width intermediate_size; the other layers have a
// dense FFN of width intermediate_size_mlp. Which layers are MoE:
// moe_layers when given, else every interleave_moe_layer_step-th layer
// (1 for Scout: all 48; 2 for Maverick: layers 1, 3, ..., 47).
func (m *Model) llama4(c config) error {
	if err := m.localExperts(c); err != nil {
		return err
	}
	m.SharedExperts, m.SharedIntermediate = 1, m.MoEIntermediate
	moe, err := m.llama4MoELayers(c)
	if err != nil {
		return err
	}
	m.DenseLayers = m.Layers - moe
	if err := m.denseWidth(c, "intermediate_size_mlp"); err != nil {
		return err
	}
	return m.chunkedAttention(c)
}

// llama4MoELayers counts the MoE layers: the distinct in-range entries of
// moe_layers, else the layers i with (i+1) % interleave_moe_layer_step == 0.
func (m *Model) llama4MoELayers(c config) (int, error) {
	if c.has("moe_layers") {
		list, err := c.ints("moe_layers")
		if err != nil {
			return 0, err
		}
		seen := map[int]bool{}
		for _, i := range list {
			if i < 0 || i >= m.Layers {
				return 0, fieldErr("moe_layers", "want layer indices below num_hidden_layers %d (got %d)", m.Layers, i)
			}
			seen[i] = true
		}
		return len(seen), nil
	}
	step, err := c.optional("interleave_moe_layer_step", 1, 1)
	if err != nil {
		return 0, err
	}
	return m.Layers / step, nil
}

// chunkedAttention reads Llama 4's chunked local attention: the layers
// with RoPE attend only within their chunk of attention_chunk_size tokens
// (positions [⌊p/C⌋·C, p]); the NoPE layers, one in four, attend globally.
// The RoPE layers are the 1s of no_rope_layers (a per-layer flag, 1 = use
// RoPE, despite its name), else every layer but each
// no_rope_layer_interval-th (default 4); an explicit layer_types says
// "chunked_attention" or "full_attention" per layer and wins.
//
// A chunk is approximated by a sliding window of the same size: both
// cache at most C keys per layer, so KV capacity is right, but a chunked
// layer attends to 1..C keys, about C/2 on average over a long context,
// where a window attends to C, so attention-score work in those layers is
// overstated up to twice for contexts well past C.
//
// attention_chunk_size defaults to 8192 (transformers' default) when
// absent; null turns chunking off.
func (m *Model) chunkedAttention(c config) error {
	if raw, ok := c["attention_chunk_size"]; ok && string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	size, err := c.optional("attention_chunk_size", 8192, 1)
	if err != nil {
		return err
	}
	chunked, err := m.llama4ChunkedLayers(c)
	if err != nil || chunked == 0 {
		return err
	}
	m.SlidingWindow, m.SlidingLayers = size, chunked
	return nil
}

// llama4ChunkedLayers counts the layers with chunked attention.
func (m *Model) llama4ChunkedLayers(c config) (int, error) {
	if c.has("layer_types") {
		return m.countLayerTypes(c, "chunked_attention")
	}
	flags, err := c.ints("no_rope_layers")
	if err != nil {
		return 0, err
	}
	if len(flags) > 0 { // an empty list means "derive from the interval", as in transformers
		if len(flags) != m.Layers {
			return 0, fieldErr("no_rope_layers", "want %d entries, one per num_hidden_layers (got %d)", m.Layers, len(flags))
		}
		n := 0
		for i, f := range flags {
			if f != 0 && f != 1 {
				return 0, fieldErr("no_rope_layers", "entry %d: want 0 (NoPE, global) or 1 (RoPE, chunked) (got %d)", i, f)
			}
			n += f
		}
		return n, nil
	}
	every, err := c.optional("no_rope_layer_interval", 4, 1)
	if err != nil {
		return 0, err
	}
	return m.Layers - m.Layers/every, nil
}
