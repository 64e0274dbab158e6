package model

import "encoding/json"

// gpt2Keys maps a GPT2LMHeadModel config's names (n_embd, n_layer, n_head,
// n_inner) onto the Llama-style names the common reader takes, so that
// classic GPT configs (GPT-2, and the GPT-3 / Megatron GPT shapes that
// training papers use) load. GPT-2 ties its LM head to the embedding
// unless the config says otherwise (transformers' GPT2Config default).
// Keys the config already has are kept.
func gpt2Keys(c config) {
	mt, _ := c.str("model_type")
	archs, _ := c.strings("architectures")
	if mt != "gpt2" && (len(archs) == 0 || archs[0] != "GPT2LMHeadModel") {
		return
	}
	for from, to := range map[string]string{"n_embd": "hidden_size", "n_layer": "num_hidden_layers", "n_head": "num_attention_heads", "n_inner": "intermediate_size"} {
		if c.has(from) && !c.has(to) {
			c[to] = c[from]
		}
	}
	if !c.has("tie_word_embeddings") {
		c["tie_word_embeddings"] = json.RawMessage("true")
	}
	if !c.has("architectures") {
		c["architectures"] = json.RawMessage(`["GPT2LMHeadModel"]`)
	}
}

// gpt2 reads a classic GPT: multi-head attention, an ungated FFN of
// n_inner (default 4·n_embd, as GPT2Config has it), learned position
// embeddings (n_positions × n_embd: a lookup, not a matmul, so they
// change no FLOPs; their few hundred MB of weights are left out).
func (m *Model) gpt2(c config) error {
	m.UngatedFFN = true
	m.KVHeads = m.Heads
	var err error
	if m.Intermediate, err = c.optional("intermediate_size", 4*m.Hidden, 1); err != nil {
		return err
	}
	return nil
}
