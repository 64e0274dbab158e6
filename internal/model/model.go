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

	// DeepSeek Sparse Attention (DeepSeek-V3.2), used when IndexTopK > 0:
	// a lightning indexer of IndexHeads heads of IndexHeadDim scores every
	// cached token from its own fp8 key cache, and MLA then attends to the
	// IndexTopK best only.
	IndexTopK    int `json:"index_topk,omitempty"`
	IndexHeads   int `json:"index_heads,omitempty"`
	IndexHeadDim int `json:"index_head_dim,omitempty"`

	// SlidingWindow is the window of the layers that use one; SlidingLayers
	// counts them (gpt-oss alternates sliding and full layers; Llama 4's
	// chunked layers are read as windows of the chunk size).
	SlidingWindow int `json:"sliding_window,omitempty"`
	SlidingLayers int `json:"sliding_layers,omitempty"`

	// Intermediate is the FFN width of dense layers. Every supported
	// architecture but classic GPT uses a gated FFN (three matrices).
	Intermediate int `json:"intermediate"`
	// UngatedFFN marks a two-matrix FFN (up, activation, down), as GPT-2,
	// GPT-3 and Megatron's GPT models have.
	UngatedFFN bool `json:"ungated_ffn,omitempty"`

	// Mixture of experts; Experts == 0 means dense.
	Experts            int `json:"experts,omitempty"`
	ExpertsPerToken    int `json:"experts_per_token,omitempty"`
	MoEIntermediate    int `json:"moe_intermediate,omitempty"`
	SharedExperts      int `json:"shared_experts,omitempty"`
	SharedIntermediate int `json:"shared_intermediate,omitempty"` // width of one shared expert
	// DenseLayers counts the layers with a dense FFN in an MoE model,
	// wherever they sit (DeepSeek's first k, Llama 4 Maverick's every other
	// layer); MoE layers are Layers-DenseLayers.
	DenseLayers int `json:"dense_layers,omitempty"`
	// MTPLayers counts multi-token-prediction layers (not in Params).
	MTPLayers int `json:"mtp_layers,omitempty"`

	// MaxContext is the longest sequence, prompt plus output, the model
	// takes (max_position_embeddings); 0 if the config does not say.
	MaxContext int `json:"max_context,omitempty"`
	// Checkpoint is the precision of the released weights.
	Checkpoint Checkpoint `json:"checkpoint"`
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
//
// GQA: q Hidden×Heads·HeadDim, k and v Hidden×KVHeads·HeadDim, o
// Heads·HeadDim×Hidden. MLA: q_a Hidden×QLoraRank and q_b
// QLoraRank×Heads·(nope+rope) (or q Hidden×Heads·(nope+rope) when
// QLoraRank is 0), kv_a Hidden×(KVLoraRank+rope), kv_b
// KVLoraRank×Heads·(nope+v), o Heads·v×Hidden.
func (m *Model) AttnParams() float64 {
	h := float64(m.Hidden)
	heads := float64(m.Heads)
	if m.MLA() {
		qk := float64(m.QKNopeHeadDim + m.QKRopeHeadDim)
		var q float64
		if m.QLoraRank > 0 {
			q = h*float64(m.QLoraRank) + float64(m.QLoraRank)*heads*qk
		} else {
			q = h * heads * qk
		}
		kvA := h * float64(m.KVLoraRank+m.QKRopeHeadDim)
		kvB := float64(m.KVLoraRank) * heads * float64(m.QKNopeHeadDim+m.VHeadDim)
		o := heads * float64(m.VHeadDim) * h
		return q + kvA + kvB + o
	}
	hd := float64(m.HeadDim)
	q := h * heads * hd
	kv := 2 * h * float64(m.KVHeads) * hd
	o := heads * hd * h
	return q + kv + o
}

// DenseFFNParams is the weight count of one dense FFN (gate, up, down;
// up and down when ungated).
func (m *Model) DenseFFNParams() float64 {
	return float64(m.FFNMatrices()) * float64(m.Hidden) * float64(m.Intermediate)
}

// FFNMatrices is 3 for a gated dense FFN, 2 for a classic one.
func (m *Model) FFNMatrices() int {
	if m.UngatedFFN {
		return 2
	}
	return 3
}

// ExpertParams is the weight count of one routed expert.
func (m *Model) ExpertParams() float64 {
	if !m.MoE() {
		return 0
	}
	return 3 * float64(m.Hidden) * float64(m.MoEIntermediate)
}

// SharedParams is the weight count of one MoE layer's shared experts.
func (m *Model) SharedParams() float64 {
	if !m.MoE() {
		return 0
	}
	return float64(m.SharedExperts) * 3 * float64(m.Hidden) * float64(m.SharedIntermediate)
}

// RouterParams is the weight count of one MoE layer's router.
func (m *Model) RouterParams() float64 {
	if !m.MoE() {
		return 0
	}
	return float64(m.Hidden) * float64(m.Experts)
}

// EmbeddingParams is the input embedding's weight count.
func (m *Model) EmbeddingParams() float64 { return float64(m.Vocab) * float64(m.Hidden) }

// LMHeadParams is the output head's weight count (0 when tied).
func (m *Model) LMHeadParams() float64 {
	if m.TiedEmbeddings {
		return 0
	}
	return float64(m.Vocab) * float64(m.Hidden)
}

// layerParams sums the decoder layers' weights with active routed experts
// per MoE layer (Experts for the total, ExpertsPerToken for the active).
func (m *Model) layerParams(routed int) float64 {
	p := float64(m.Layers)*m.AttnParams() + float64(m.DenseFFNLayers())*m.DenseFFNParams()
	if m.MoE() {
		perLayer := float64(routed)*m.ExpertParams() + m.SharedParams() + m.RouterParams()
		p += float64(m.MoELayers()) * perLayer
	}
	return p
}

// Params returns the total and the per-token active parameter counts,
// embeddings and LM head included, MTP layers excluded, as model cards
// count them. A tied embedding counts once.
//
// Model cards differ on what "active" includes: Qwen3 and Mixtral count
// the embedding, gpt-oss counts the LM head but not the embedding lookup
// ([Model.ComputeParams]), GLM-4.5 counts neither
// ([Model.NonEmbeddingParams]).
func (m *Model) Params() (total, active float64) {
	emb := m.EmbeddingParams() + m.LMHeadParams()
	routed := 0
	if m.MoE() {
		routed = m.ExpertsPerToken
	}
	return emb + m.layerParams(m.Experts), emb + m.layerParams(routed)
}

// ComputeParams is the weight count one token multiplies by: the active
// parameters less the input embedding, which is a row lookup, not a
// matmul (with tied embeddings the shared matrix counts once, as the LM
// head). DecodeFLOPs' linear terms are 2 × ComputeParams.
func (m *Model) ComputeParams() float64 {
	_, active := m.Params()
	return active - m.EmbeddingParams() + m.tiedHead()
}

// tiedHead is the LM head's weight count when it shares the embedding.
func (m *Model) tiedHead() float64 {
	if m.TiedEmbeddings {
		return m.EmbeddingParams()
	}
	return 0
}

// NonEmbeddingParams is Params less the embedding and LM head, the
// "non-embedding" count of the Qwen model cards.
func (m *Model) NonEmbeddingParams() (total, active float64) {
	total, active = m.Params()
	emb := m.EmbeddingParams() + m.LMHeadParams()
	return total - emb, active - emb
}

// linearParams is the weight count of the linear layers that a quantized
// checkpoint stores in its weight precision: attention, dense FFN, shared
// and routed experts (routers, embeddings and LM head excluded).
func (m *Model) linearParams() float64 {
	p := float64(m.Layers)*m.AttnParams() + float64(m.DenseFFNLayers())*m.DenseFFNParams()
	if m.MoE() {
		p += float64(m.MoELayers()) * (float64(m.Experts)*m.ExpertParams() + m.SharedParams())
	}
	return p
}

// WeightBytes is the memory the weights take when the linear layers are
// stored in p; embeddings, LM head, norms and routers stay 16-bit, as
// fp8/int8/int4 checkpoints keep them.
func (m *Model) WeightBytes(p hardware.Precision) float64 {
	const sixteenBit = 2
	other := m.EmbeddingParams() + m.LMHeadParams() + float64(m.MoELayers())*m.RouterParams()
	experts := 0.0
	if m.MoE() {
		experts = float64(m.MoELayers()) * float64(m.Experts) * m.ExpertParams()
	}
	return experts*m.ExpertBytes(p) + (m.linearParams()-experts)*m.DenseBytes(p) + other*sixteenBit
}

// KVElementsPerLayerToken is the number of cached elements one token adds
// to one layer: 2·KVHeads·HeadDim (K and V) for GQA, KVLoraRank+rope (the
// compressed latent and the shared rope key) for MLA.
func (m *Model) KVElementsPerLayerToken() float64 {
	if m.MLA() {
		return float64(m.KVLoraRank + m.QKRopeHeadDim)
	}
	return 2 * float64(m.KVHeads) * float64(m.HeadDim)
}

// KVBytesPerToken is the KV-cache size of one token over all layers in
// p, for a full-attention context (sliding layers count as full here; use
// KVBytes for the capped figure). MLA stores the latent and rope key; a
// sparse-attention indexer adds its own key cache.
func (m *Model) KVBytesPerToken(p hardware.Precision) float64 {
	return float64(m.Layers) * m.KVBytesPerLayerToken(p)
}

// KVBytesPerLayerToken is one token's cache in one layer, in p: the
// attention keys and values plus the indexer's key.
func (m *Model) KVBytesPerLayerToken(p hardware.Precision) float64 {
	return m.KVElementsPerLayerToken()*p.Bytes() + m.IndexerBytesPerLayerToken()
}

// IndexerBytesPerLayerToken is the indexer key one token caches in one
// layer: IndexHeadDim fp8 values and a 4-byte scale (the layout vLLM's
// and SGLang's DeepSeek-V3.2 kernels use, whatever the KV precision);
// 0 without sparse attention.
func (m *Model) IndexerBytesPerLayerToken() float64 {
	if m.IndexTopK <= 0 {
		return 0
	}
	return float64(m.IndexHeadDim) + 4
}

// Sparse reports whether attention reads only the indexer's top-k keys.
func (m *Model) Sparse() bool { return m.IndexTopK > 0 }

// slidingLayers is SlidingLayers when a window is set, clamped to Layers.
func (m *Model) slidingLayers() int {
	if m.SlidingWindow <= 0 || m.SlidingLayers <= 0 {
		return 0
	}
	return min(m.SlidingLayers, m.Layers)
}

// KVBytes is the KV-cache size of one sequence holding context tokens:
// sliding-window layers hold at most SlidingWindow tokens.
func (m *Model) KVBytes(context int, p hardware.Precision) float64 {
	if context <= 0 {
		return 0
	}
	sl := m.slidingLayers()
	full := m.Layers - sl
	tokens := float64(full)*float64(context) + float64(sl)*float64(min(context, m.SlidingWindow))
	return tokens * m.KVBytesPerLayerToken(p)
}

// KVHeadsPerDevice is the number of KV heads each of tp tensor-parallel
// devices caches: KVHeads/tp rounded up, at least one (when tp exceeds
// KVHeads the heads are replicated). MLA's latent is shared by all heads
// and every device keeps the whole of it, so it counts as one head.
func (m *Model) KVHeadsPerDevice(tp int) int {
	if m.MLA() {
		return 1
	}
	if tp <= 1 {
		return m.KVHeads
	}
	return max(1, (m.KVHeads+tp-1)/tp)
}

// KVBytesPerTokenPerDevice is KVBytesPerToken for one of tp
// tensor-parallel devices: GQA splits the KV heads (replicating them when
// tp exceeds KVHeads), MLA replicates its latent on every device.
func (m *Model) KVBytesPerTokenPerDevice(tp int, p hardware.Precision) float64 {
	if m.MLA() {
		return m.KVBytesPerToken(p)
	}
	return float64(m.Layers) * 2 * float64(m.KVHeadsPerDevice(tp)) * float64(m.HeadDim) * p.Bytes()
}

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

// Scale multiplies every kind by k.
func (f FLOPs) Scale(k float64) FLOPs {
	return FLOPs{f.Attention * k, f.Score * k, f.FFN * k, f.Experts * k, f.LMHead * k}
}

// Add sums two splits kind by kind.
func (f FLOPs) Add(g FLOPs) FLOPs {
	return FLOPs{f.Attention + g.Attention, f.Score + g.Score, f.FFN + g.FFN, f.Experts + g.Experts, f.LMHead + g.LMHead}
}

// scoreMACsPerKey is the multiply-adds one query token spends per cached
// key in one layer, QKᵀ plus PV, over all query heads.
//
// GQA: Heads·HeadDim for QKᵀ plus Heads·HeadDim for PV.
//
// MLA absorbed (decode, as vLLM/SGLang run it): W_UK is folded into the
// query and W_UV into the output, so each head scores against the cached
// latent directly: QKᵀ over KVLoraRank+rope, PV over KVLoraRank. The
// folding moves kv_b's multiply-adds onto the query (one token), so the
// projection count stays AttnParams.
//
// MLA naive (prefill): kv_b expands the latent to per-head keys and
// values, and attention is ordinary MHA: QKᵀ over nope+rope, PV over v.
func (m *Model) scoreMACsPerKey(absorbed bool) float64 {
	heads := float64(m.Heads)
	if m.MLA() {
		if absorbed {
			return heads * float64(2*m.KVLoraRank+m.QKRopeHeadDim)
		}
		return heads * float64(m.QKNopeHeadDim+m.QKRopeHeadDim+m.VHeadDim)
	}
	return heads * 2 * float64(m.HeadDim)
}

// AttnScoreFLOPs is the QKᵀ and PV work of one query token attending to
// context cached keys, summed over the layers (sliding layers attend to at
// most SlidingWindow keys). absorbed selects MLA's weight-absorbed form
// (see DecodeFLOPs); it does not matter for GQA.
func (m *Model) AttnScoreFLOPs(context int, absorbed bool) float64 {
	if context <= 0 {
		return 0
	}
	sl := m.slidingLayers()
	keys := float64(m.Layers-sl)*float64(context) + float64(sl)*float64(min(context, m.SlidingWindow))
	return 2 * keys * m.scoreMACsPerKey(absorbed)
}

// perToken is the context-independent work of one token.
func (m *Model) perToken() FLOPs {
	f := FLOPs{
		Attention: 2 * float64(m.Layers) * m.AttnParams(),
		FFN:       2 * (float64(m.DenseFFNLayers())*m.DenseFFNParams() + float64(m.MoELayers())*m.SharedParams()),
		LMHead:    2 * float64(m.Vocab) * float64(m.Hidden),
	}
	if m.MoE() {
		f.Experts = 2 * float64(m.MoELayers()) * (float64(m.ExpertsPerToken)*m.ExpertParams() + m.RouterParams())
	}
	return f
}

// DecodeFLOPs is the work to generate one token that attends to context
// earlier tokens (2 FLOPs per multiply-add).
//
// The linear terms are 2 × ActiveParams split by kind. The score term is
// AttnScoreFLOPs(context, true): MLA decodes in the weight-absorbed form,
// 2·Heads·(KVLoraRank+rope) per key for QKᵀ and 2·Heads·KVLoraRank for PV.
func (m *Model) DecodeFLOPs(context int) FLOPs {
	f := m.perToken()
	f.Score = m.AttnScoreFLOPs(context, true)
	return f
}

// PrefillFLOPs is the work to prefill a prompt of n tokens (causal
// attention: token i attends to i earlier tokens), LM head for the last
// token only.
//
// Token i (1-based) attends to i keys, itself included, so the score term
// is Σ AttnScoreFLOPs(i) = n(n+1)/2 key visits per full layer and
// Σ min(i, window) per sliding layer. MLA prefills in the naive MHA form:
// 2·Heads·(nope+rope) per key for QKᵀ and 2·Heads·v for PV.
func (m *Model) PrefillFLOPs(n int) FLOPs {
	if n <= 0 {
		return FLOPs{}
	}
	f := m.perToken()
	lm := f.LMHead
	f = f.Scale(float64(n))
	f.LMHead = lm
	f.Score = 2 * m.prefillKeys(n) * m.scoreMACsPerKey(false)
	return f
}

// prefillKeys counts the (query, key) pairs of a causal prefill of n
// tokens over all layers.
func (m *Model) prefillKeys(n int) float64 {
	tri := func(k float64) float64 { return k * (k + 1) / 2 }
	nf := float64(n)
	sl := m.slidingLayers()
	keys := float64(m.Layers-sl) * tri(nf)
	if sl > 0 {
		w := float64(m.SlidingWindow)
		var s float64
		if nf <= w {
			s = tri(nf)
		} else {
			s = tri(w) + (nf-w)*w
		}
		keys += float64(sl) * s
	}
	return keys
}
