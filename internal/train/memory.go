package train

import (
	"fmt"

	"ersatz/internal/hardware"
	"ersatz/internal/units"
)

// Memory is one device's memory on the fullest pipeline stage, by term.
type Memory struct {
	Weights     units.Bytes `json:"weights"`
	Gradients   units.Bytes `json:"gradients"`
	Optimizer   units.Bytes `json:"optimizer"`
	Activations units.Bytes `json:"activations"`
	// Logits are the last stage's fp32 logits for the loss.
	Logits units.Bytes `json:"logits"`
	Total  units.Bytes `json:"total"`
	// Usable is the device memory the job may fill (UsableShare of it).
	Usable units.Bytes `json:"usable"`
	// Stage says which stage is the fullest: first (most activations in
	// flight) or last (LM head and logits).
	Stage string `json:"stage"`
	// InFlight is the micro-batches whose activations the stage holds.
	InFlight float64 `json:"in_flight"`
}

// UsableShare is the share of a device's memory a training job can fill:
// the rest goes to the runtime context, communication buffers and the
// caching allocator's fragmentation. An ersatz estimate (PyTorch jobs
// report 1-3 GiB of context and NCCL buffers on an 80 GB part, and
// fragmentation of a few per cent).
const UsableShare = 0.95

// OverflowError is a layout whose memory does not fit: the term that
// overflows (the largest) and the totals.
type OverflowError struct {
	Term          string
	Need, Usable  units.Bytes
	TermBytes     units.Bytes
	Layout        Layout
	PerDeviceDesc string
}

func (e *OverflowError) Error() string {
	return fmt.Sprintf("does not fit: %.1f GB per device against %.1f GB usable; the largest term is %s (%.1f GB)",
		e.Need.GB(), e.Usable.GB(), e.Term, e.TermBytes.GB())
}

// StateBytesPerParam is the bytes of weights, gradients and Adam states
// one parameter costs on a device under ZeRO stage z over n data-parallel
// ranks, with gradients of gradBytes: 16-bit weights (2 B) and K = 12 B of
// fp32 master weights, momentum and variance (Rajbhandari et al. 2020,
// ZeRO §3). Stage 0 keeps everything; stage 1 shards the 12; stage 2 the
// gradients too; stage 3 the weights as well. With 16-bit gradients this
// is the ZeRO paper's 16, 4 + 12/n, 2 + 14/n, 16/n; with Megatron's fp32
// gradient buffers (main_grad) it is its distributed-optimizer table's
// 18 and 6 + 12/n for bf16 training.
func StateBytesPerParam(zero, n int, gradBytes float64) (weights, grads, optim float64) {
	nf := float64(max(n, 1))
	weights, grads, optim = 2, gradBytes, 12
	if zero >= 1 {
		optim /= nf
	}
	if zero >= 2 {
		grads /= nf
	}
	if zero >= 3 {
		weights /= nf
	}
	return weights, grads, optim
}

// gradBufferBytes is the bytes of a gradient as the frameworks keep it:
// fp32 (Megatron accumulates into fp32 main_grad buffers in its bf16
// recipes, and reduces them in fp32, gradReduceBytes; FSDP2 reduces in
// fp32 by default).
const gradBufferBytes = gradReduceBytes

// actShape is what one layer's stored activations depend on, in elements
// per token: the part outside the tensor-parallel regions (replicated
// across TP ranks unless sequence parallelism splits it), the part inside
// (split by TP), and the attention scores' elements per token per key.
type actShape struct {
	outside, inside float64 // bytes per token per layer
	scorePerKey     float64 // bytes per token per key (0 with FlashAttention)
	input           float64 // bytes per token of the layer's input (what full recompute keeps)
}

// layerActivations gives the bytes one layer stores per token, following
// Korthikanti et al. 2022 (arXiv 2205.05198, §4.1) term by term, so that
// for their model (multi-head attention, a 4h GeLU FFN, dropout, no
// FlashAttention) it is exactly sbh(34 + 5as/h) = outside 10h + inside
// 24h + 5a·s per token:
//
//	attention: two layer-norm inputs 4h, QKV input 2h, Q and K 2(h_q + h_kv),
//	V 2h_kv, softmax output 2a·s, its dropout mask a·s and output 2a·s,
//	output-projection input 2h_q, dropout mask h;
//	FFN: input 2h, GeLU input 2I and output 2I (a gated FFN: gate, up and
//	product, 6I), dropout mask h.
//
// Without dropout the masks and the dropped copy go; with FlashAttention
// the scores are never stored (the kernel keeps one fp32 log-sum-exp per
// head). An MoE layer stores, per routed copy, the permuted input 2h and
// its expert's 6I_moe, and the shared experts' 6I_sh per token.
func (t *estimator) layerActivations() actShape {
	m, j := t.job.Model, t.job
	h := float64(m.Hidden)
	hq := float64(m.Heads * m.HeadDim)
	hkv := float64(m.KVHeads * m.HeadDim)
	if m.MLA() {
		hq = float64(m.Heads * (m.QKNopeHeadDim + m.QKRopeHeadDim))
		hkv = hq
	}
	hv := hkv
	if m.MLA() {
		hv = float64(m.Heads * m.VHeadDim)
	}
	drop := 0.0
	if j.Dropout {
		drop = 1
	}
	// With fp8 GEMMs Transformer Engine keeps the quantized copy of each
	// GEMM input for the weight gradient, 1 byte an element
	// (pytorch/module/linear.py: saved_inputmat is the fp8 inputmat):
	// the QKV and FFN inputs and the FFN's second GEMM input shrink, and
	// the attention output is kept twice, in 16 bit for the attention
	// backward and in fp8 for the output projection's.
	in := 2.0
	if j.Precision == hardware.FP8 {
		in = 1
	}
	var a actShape
	a.input = 2 * h
	a.outside = 4*h + in*h + drop*h + in*h + drop*h
	if m.MLA() {
		a.outside += 2 * float64(m.QLoraRank+m.KVLoraRank+m.QKRopeHeadDim) // the down-projections' latents
	}
	attn := 2*hq + 2*hkv + 2*hv + 2*float64(m.Heads*m.HeadDim)
	if m.MLA() {
		attn = 2*hq + 2*hkv + 2*hv + 2*hv
	}
	if in < 2 {
		attn += in * hq
		if m.MLA() {
			attn += in*hv - in*hq
		}
	}
	a.inside = attn
	if j.FlashAttention {
		a.inside += 4 * float64(m.Heads)
	} else {
		a.scorePerKey = float64(m.Heads) * (2 + 3*drop)
	}
	a.inside += t.ffnActivations()
	return a
}

// ffnActivations is the FFN part inside the TP region, per token, of the
// stage's heaviest layer kind.
func (t *estimator) ffnActivations() float64 {
	m := t.job.Model
	// A gated FFN keeps gate and up (4I) and the product (2I, the second
	// GEMM's input, 1 byte an element in fp8); an ungated one the
	// activation's input and output.
	in := 2.0
	if t.job.Precision == hardware.FP8 {
		in = 1
	}
	if m.MoE() && t.stageMoE > 0 {
		k := float64(m.ExpertsPerToken)
		routed := k * (in*float64(m.Hidden) + (4+in)*float64(m.MoEIntermediate)) * t.rates.Imbalance
		return routed + (4+in)*float64(m.SharedExperts*m.SharedIntermediate)
	}
	if m.UngatedFFN {
		return (2 + in) * float64(m.Intermediate)
	}
	return (4 + in) * float64(m.Intermediate)
}

// ActivationBytesPerLayer is one layer's stored activations for one
// micro-batch of b sequences of s tokens on one device, under tensor
// parallelism tp (with sequence parallelism sp), context parallelism cp
// and the recompute policy. Korthikanti et al. 2022, Table 2:
//
//	no parallelism, none          sbh(34 + 5as/h)
//	TP, none                      sbh(10 + 24/t + 5as/(ht))
//	TP + SP, none                 sbh(34/t + 5as/(ht))
//	TP + SP, selective            sbh(34/t)
//	full                          2sbh (the layer input; /t under SP,
//	                              where the input is the SP shard)
func (t *estimator) ActivationBytesPerLayer(b, s, tp, cp int, sp bool, r Recompute) float64 {
	a := t.layerActivations()
	tokens := float64(b) * float64(s) / float64(cp)
	tf := float64(tp)
	out := a.outside
	if sp {
		out /= tf
	}
	switch r {
	case RecomputeFull:
		in := a.input
		if sp {
			in /= tf
		}
		return tokens * in
	case RecomputeSelective:
		return tokens * (out + a.inside/tf)
	}
	// Each query stores a score per key it attends to: s/cp local keys
	// in the ring's last step is the most held at once per CP rank.
	keys := float64(s) / float64(cp)
	return tokens * (out + a.inside/tf + a.scorePerKey*keys/tf)
}
