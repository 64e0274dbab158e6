// Package model describes LLM architectures as the performance model needs
// them: layer shapes, parameter counts, KV-cache size and FLOPs per token.
//
// A Model is read from a Hugging Face config.json ([Parse]); the shipped
// configs are embedded ([Default]). The package does no I/O of its own.
package model

import "ersatz/internal/hardware"

// Model is one decoder-only architecture, normalised across the Hugging
// Face config dialects. Counts are per model, widths in elements.
type Model struct {
	ID           string `json:"id"`           // e.g. "deepseek-ai/DeepSeek-V3"
	Architecture string `json:"architecture"` // the config's architectures[0]
	Layers       int    `json:"layers"`       // decoder layers, MTP layers excluded
	Hidden       int    `json:"hidden"`
	Vocab        int    `json:"vocab"`
	// TiedEmbeddings shares the input embedding with the LM head.
	TiedEmbeddings bool `json:"tied_embeddings"`

	// Attention. Heads and KVHeads count query and key/value heads.
	Heads   int `json:"heads"`
	KVHeads int `json:"kv_heads"`
	HeadDim int `json:"head_dim"`

	// Multi-head latent attention (DeepSeek-V2/V3, Kimi K2); used when
	// KVLoraRank > 0. QLoraRank 0 means q is projected directly.
	QLoraRank     int `json:"q_lora_rank,omitempty"`
	KVLoraRank    int `json:"kv_lora_rank,omitempty"`
	QKNopeHeadDim int `json:"qk_nope_head_dim,omitempty"`
	QKRopeHeadDim int `json:"qk_rope_head_dim,omitempty"`
	VHeadDim      int `json:"v_head_dim,omitempty"`

	// SlidingWindow is the window of the layers that use one; SlidingLayers
	// counts them (gpt-oss alternates sliding and full layers).
	SlidingWindow int `json:"sliding_window,omitempty"`
	SlidingLayers int `json:"sliding_layers,omitempty"`

	// Intermediate is the FFN width of dense layers. Every supported
	// architecture uses a gated FFN (three matrices).
	Intermediate int `json:"intermediate"`

	// Mixture of experts; Experts == 0 means dense.
	Experts            int `json:"experts,omitempty"`
	ExpertsPerToken    int `json:"experts_per_token,omitempty"`
	MoEIntermediate    int `json:"moe_intermediate,omitempty"`
	SharedExperts      int `json:"shared_experts,omitempty"`
	SharedIntermediate int `json:"shared_intermediate,omitempty"` // width of one shared expert
	// DenseLayers counts the layers with a dense FFN in an MoE model
	// (DeepSeek's first_k_dense_replace); MoE layers are Layers-DenseLayers.
	DenseLayers int `json:"dense_layers,omitempty"`
	// MTPLayers counts multi-token-prediction layers (not in Params).
	MTPLayers int `json:"mtp_layers,omitempty"`
}

// MoE reports whether the model routes tokens to experts.
func (m *Model) MoE() bool { return m.Experts > 0 }

// MLA reports whether the model uses multi-head latent attention.
func (m *Model) MLA() bool { return m.KVLoraRank > 0 }

// MoELayers counts the layers with routed experts.
func (m *Model) MoELayers() int {
	if !m.MoE() {
		return 0
	}
	return m.Layers - m.DenseLayers
}

// DenseFFNLayers counts the layers with a dense FFN.
func (m *Model) DenseFFNLayers() int { return m.Layers - m.MoELayers() }

// AttnParams is the weight count of one layer's attention projections
// (q, k, v, o; for MLA q_a, q_b, kv_a, kv_b, o), norms and biases excluded.
func (m *Model) AttnParams() float64 { return 0 }

// DenseFFNParams is the weight count of one dense FFN (gate, up, down).
func (m *Model) DenseFFNParams() float64 { return 0 }

// ExpertParams is the weight count of one routed expert.
func (m *Model) ExpertParams() float64 { return 0 }

// SharedParams is the weight count of one MoE layer's shared experts.
func (m *Model) SharedParams() float64 { return 0 }

// RouterParams is the weight count of one MoE layer's router.
func (m *Model) RouterParams() float64 { return 0 }

// EmbeddingParams is the input embedding's weight count.
func (m *Model) EmbeddingParams() float64 { return 0 }

// LMHeadParams is the output head's weight count (0 when tied).
func (m *Model) LMHeadParams() float64 { return 0 }

// Params returns the total and the per-token active parameter counts,
// embeddings and LM head included, MTP layers excluded, as model cards
// count them.
func (m *Model) Params() (total, active float64) { return 0, 0 }

// WeightBytes is the memory the weights take when the linear layers are
// stored in p; embeddings, LM head, norms and routers stay 16-bit, as
// fp8/int8/int4 checkpoints keep them.
func (m *Model) WeightBytes(p hardware.Precision) float64 { return 0 }

// KVBytesPerToken is the KV-cache size of one token over all layers in
// p, for a full-attention context (sliding layers count as full here; use
// KVBytes for the capped figure). MLA stores the latent and rope key.
func (m *Model) KVBytesPerToken(p hardware.Precision) float64 { return 0 }

// KVBytes is the KV-cache size of one sequence holding context tokens:
// sliding-window layers hold at most SlidingWindow tokens.
func (m *Model) KVBytes(context int, p hardware.Precision) float64 { return 0 }

// FLOPs splits the operations of a forward pass by kind of op.
type FLOPs struct {
	Attention float64 `json:"attention"` // q/k/v/o (or MLA) projections
	Score     float64 `json:"score"`     // QKᵀ and PV over the context
	FFN       float64 `json:"ffn"`       // dense FFN and shared experts
	Experts   float64 `json:"experts"`   // routed experts (active only) and routers
	LMHead    float64 `json:"lm_head"`
}

// Total sums every kind.
func (f FLOPs) Total() float64 { return f.Attention + f.Score + f.FFN + f.Experts + f.LMHead }

// DecodeFLOPs is the work to generate one token that attends to context
// earlier tokens (2 FLOPs per multiply-add).
func (m *Model) DecodeFLOPs(context int) FLOPs { return FLOPs{} }

// PrefillFLOPs is the work to prefill a prompt of n tokens (causal
// attention: token i attends to i earlier tokens), LM head for the last
// token only.
func (m *Model) PrefillFLOPs(n int) FLOPs { return FLOPs{} }
