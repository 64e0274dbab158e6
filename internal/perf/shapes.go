package perf

import (
	"math"

	"ersatz/internal/hardware"
)

// setShapes precomputes the per-device, per-layer constants.
func (in *Instance) setShapes(uneven bool) {
	d, m := in.d, in.d.Model
	db := m.DenseBytes(d.Weights) // attention, dense FFN, shared experts
	// Activations between kernels stay 16-bit whatever the matmul
	// precision: 8-bit and 4-bit recipes quantize a GEMM's input inside
	// the kernel before it (fused into the norm) and write 16-bit outputs,
	// and the residual stream and collectives are bf16.
	const ab = 2.0
	atp, tp := float64(in.attnTP), float64(d.TP)
	h := float64(m.Hidden)

	stage := math.Ceil(float64(m.Layers) / float64(d.PP))
	frac := stage / float64(m.Layers)
	in.layers = stage
	in.moeLayers = float64(m.MoELayers()) * frac
	in.denseLayers = float64(m.DenseFFNLayers()) * frac
	if m.SlidingWindow > 0 && m.SlidingLayers > 0 {
		in.slidingLayers = float64(min(m.SlidingLayers, m.Layers)) * frac
		in.window = float64(m.SlidingWindow)
	}

	// Attention projections: MLA keeps its down-projections (q_a, kv_a)
	// whole on every device, as vLLM and SGLang do; the rest splits.
	attn := m.AttnParams()
	var repl float64
	if m.MLA() {
		repl = h * float64(m.QLoraRank+m.KVLoraRank+m.QKRopeHeadDim)
	}
	attnDev := (attn-repl)/atp + repl
	in.attnWBytes = attnDev * db
	in.attnFlopsTok = 2 * attnDev
	// Activations a GEMM group reads and writes per token: its input,
	// its outputs and the inputs of its second matmul.
	var qkv float64 // q, k, v (or MLA's q and latent) widths on this device
	if m.MLA() {
		qkv = float64(m.Heads*(m.QKNopeHeadDim+m.QKRopeHeadDim))/atp + float64(m.KVLoraRank+m.QKRopeHeadDim)
	} else {
		qkv = float64((m.Heads+2*m.KVHeads)*m.HeadDim) / atp
	}
	oIn := float64(m.Heads*max(m.HeadDim, m.VHeadDim)) / atp
	in.attnActTok = (2*h + qkv + oIn) * ab
	ffnI := float64(m.Intermediate) / atp
	in.ffnActTok = (2*h + 3*ffnI) * ab
	sharedI := float64(m.SharedExperts*m.SharedIntermediate) / atp
	in.sharedActTok = (2*h + 3*sharedI) * ab
	moeI := float64(m.MoEIntermediate) / float64(max(in.moeTP, 1))
	in.expertActTok = (2*h + 3*moeI) * ab
	// Element-wise kernels the engines do not fuse into GEMMs stream the
	// 16-bit residual stream: two fused residual-add+norms (read 2h, write
	// h each), rope and the KV-cache write (read and write q, k, v), and
	// the gated activation (read 2I, write I).
	in.elemTok = (6*h + 2*qkv) * 2
	in.elemDense = 3 * ffnI * 2
	in.elemShared = 3 * sharedI * 2
	// Routed tokens are permuted to their experts and back (read and
	// write h each way) around the activation.
	in.elemAssign = (4*h + 3*moeI) * 2

	// The dense FFN and the shared experts split like attention (TP/DP
	// ways): with DP attention they run data-parallel too, as DeepSeek's
	// deployment does, avoiding a gather.
	in.ffnWBytes = m.DenseFFNParams() / atp * db
	in.ffnFlopsTok = 2 * m.DenseFFNParams() / atp
	in.sharedWBytes = m.SharedParams() / atp * db
	in.sharedFlopsTok = 2 * m.SharedParams() / atp
	if m.MoE() {
		in.expertsDev = float64(m.Experts) / float64(d.EP)
		in.expertWBytes = m.ExpertParams() / float64(in.moeTP) * m.ExpertBytes(d.Weights)
		in.expertFlopsTok = 2 * m.ExpertParams() / float64(in.moeTP)
		in.routerFlopsTok = 2 * m.RouterParams()
		in.routeK, in.routeE = float64(m.ExpertsPerToken), float64(m.Experts)
		switch {
		case uneven && d.EP > m.Experts:
			// Each token visits k routed experts and the shared ones, all
			// spread one per device over the EP ranks.
			in.expertsDev = 1
			in.routeK += float64(m.SharedExperts)
			in.routeE = float64(d.EP)
			in.sharedWBytes, in.sharedFlopsTok, in.sharedActTok, in.elemShared = 0, 0, 0, 0
		case uneven:
			// Redundant copies: ceil(E/EP) expert slots per device, the
			// load spread over all of them.
			in.expertsDev = math.Ceil(float64(m.Experts) / float64(d.EP))
			in.routeE = in.expertsDev * float64(d.EP)
		}
	}

	// KV cache and attention scores per layer on one device.
	in.kvBytesTok = m.KVBytesPerTokenPerDevice(in.attnTP, d.KV) / float64(m.Layers)
	in.scoreDecode = m.AttnScoreFLOPs(1, true) / float64(m.Layers) / atp
	in.scorePrefill = m.AttnScoreFLOPs(1, false) / float64(m.Layers) / atp
	in.kvBlockQ = attnQueryTile
	if m.Sparse() {
		// DeepSeek Sparse Attention: the indexer (replicated on every
		// attention rank) scores every cached key from its own fp8 cache;
		// MLA then reads the top-k latents only, in its absorbed (MQA) form.
		in.topK = float64(m.IndexTopK)
		in.idxBytesTok = m.IndexerBytesPerLayerToken()
		in.idxFlops = 2 * float64(m.IndexHeads) * float64(m.IndexHeadDim)
		// Its logits run in fp8 where the chip has it (DeepGEMM's
		// fp8_mqa_logits): counted at the 16-bit attention rate, an fp8
		// FLOP costs the ratio of the two peaks.
		p16, ok16 := d.Chip.Peak(sixteenBit(d.Chip))
		p8, ok8 := d.Chip.Peak(hardware.FP8)
		if ok16 && ok8 && p8 > 0 {
			in.idxFlops *= float64(p16) / float64(p8)
		}
	}

	in.hiddenBytes = h * ab
	// DeepEP-style dispatch sends 8-bit activations when the matmuls run
	// in 8 bit; combine returns 16-bit partial sums.
	in.dispatchBytes = h * math.Min(d.Activations.Bytes(), 2)
	if d.Activations == hardware.FP4 {
		in.dispatchBytes = h
	}
	in.combineBytes = h * 2

	lm := float64(m.Vocab) * h
	in.lmWBytes = lm * 2 / tp
	in.lmFlopsTok = 2 * lm / tp

	// Kernels per layer. GQA attention: norm, qkv, rope and cache write,
	// attention, o. MLA: norm, q_a, q norm, q_b, kv_a, kv norm, rope and
	// cache write, the absorbed q·W_UK, attention, ·W_UV, o. A dense FFN:
	// residual+norm, gate-up, activation, down. An MoE block: router,
	// top-k, permute, two grouped GEMMs, activation, unpermute and reduce,
	// plus gate-up, activation and down of the shared experts.
	attnOps := 5.0
	if m.MLA() {
		attnOps = 11
	}
	moeOps := 8.0
	if m.SharedExperts > 0 {
		moeOps += 3
	}
	in.opsDense = attnOps + 4
	in.opsMoE = attnOps + moeOps

	in.tokensPerStep = 1
	if s := d.Speculative; s != nil && s.DraftTokens > 0 {
		k := float64(s.DraftTokens)
		in.draftTokens = k
		in.draftLayers = 1 // an MTP module or EAGLE head is about one decoder layer
		switch {
		case s.TokensPerStep > 0:
			in.tokensPerStep = math.Min(s.TokensPerStep, k+1)
		case s.Acceptance > 0:
			a := math.Min(s.Acceptance, 0.999)
			in.tokensPerStep = (1 - math.Pow(a, k+1)) / (1 - a)
		default:
			in.tokensPerStep = 1 + 0.7*k/(1+0.3*(k-1)) // no figure given: ≈0.7 acceptance
		}
	}
}
