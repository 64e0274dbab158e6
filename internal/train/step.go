package train

import (
	"math"

	"ersatz/internal/hardware"
	"ersatz/internal/perf"
	"ersatz/internal/units"
)

// Part is one component of a step: its exposed time and what bounds it.
type Part struct {
	Seconds units.Seconds `json:"seconds"`
	Bound   perf.Bound    `json:"bound"`
}

func (p *Part) add(t float64, b perf.Bound) {
	if t <= 0 {
		return
	}
	if t > float64(p.Seconds) {
		p.Bound = b
	}
	p.Seconds += units.Seconds(t)
}

// Step is one optimizer step on the slowest pipeline stage, by component;
// the parts add up to Total. Communication parts are the exposed share
// only (docs/train.md states which collectives hide behind what).
type Step struct {
	// GEMMs: attention projections, dense FFN and shared experts, routed
	// experts, LM head; forward, backward (2× forward) and recompute.
	Projections Part `json:"projections"`
	FFN         Part `json:"ffn"`
	Experts     Part `json:"experts"`
	LMHead      Part `json:"lm_head"`
	// Attention is the score and value products (FlashAttention-style;
	// backward 2.5× forward).
	Attention Part `json:"attention"`
	// Elementwise is norms, activations, residuals, rope, permutes.
	Elementwise Part `json:"elementwise"`
	// Recompute is the forward work re-run in the backward pass.
	Recompute Part `json:"recompute"`
	TPComm    Part `json:"tp_comm"`
	CPComm    Part `json:"cp_comm"`
	EPComm    Part `json:"ep_comm"`
	PPComm    Part `json:"pp_comm"`
	// Bubble is the pipeline's idle time: (pp−1)/vpp micro-batch slots.
	Bubble    Part `json:"bubble"`
	DPComm    Part `json:"dp_comm"`
	Optimizer Part `json:"optimizer"`
	Overhead  Part `json:"overhead"`
	// Stack is the time the training corpus measures beyond the modelled
	// parts (Job.Efficiency): imperfect overlap, stragglers, sustained
	// clocks, framework overheads. Negative where the measured stacks run
	// faster than modelled.
	Stack Part          `json:"stack"`
	Total units.Seconds `json:"total"`
}

// Parts lists the components with their names, in print order (an
// array, so that ranking layouts allocates nothing).
func (s *Step) Parts() [16]NamedPart {
	return [16]NamedPart{
		{"projections", s.Projections}, {"ffn", s.FFN}, {"experts", s.Experts}, {"lm_head", s.LMHead},
		{"attention", s.Attention}, {"elementwise", s.Elementwise}, {"recompute", s.Recompute},
		{"tp_comm", s.TPComm}, {"cp_comm", s.CPComm}, {"ep_comm", s.EPComm}, {"pp_comm", s.PPComm},
		{"bubble", s.Bubble}, {"dp_comm", s.DPComm}, {"optimizer", s.Optimizer}, {"overhead", s.Overhead},
		{"stack", s.Stack},
	}
}

// NamedPart is a Part with its name.
type NamedPart struct {
	Name string
	Part
}

// Backward work relative to forward: a GEMM's backward computes the
// gradients of its input and of its weights, two GEMMs of the forward's
// size; FlashAttention's backward runs five matmuls against the forward's
// two (it recomputes the scores; Dao 2023, arXiv 2307.08691 §3.1), 2.5×.
const (
	gemmBackward = 2.0
	attnBackward = 2.5
	// Kernels per layer in the forward pass (perf's counts: GQA
	// attention 5, MLA 11, dense FFN 4, MoE 8 + 3 for shared experts);
	// the backward launches about twice as many.
	kernelsBackward = 2.0
	// Adam's update streams per parameter: fp32 gradient, master weight,
	// momentum and variance read (16 B), the three states written (12 B)
	// and the 16-bit weight written (2 B).
	adamBytesPerParam = 30.0
	// Gradients are reduced in fp32 (Megatron's main_grad with
	// accumulate_allreduce_grads_in_fp32, the setting of its bf16
	// recipes); parameters are gathered in 16 bit.
	gradReduceBytes  = 4.0
	paramGatherBytes = 2.0
)

// layerWork is the forward work of one layer for one micro-batch on one
// device.
type layerWork struct {
	proj, ffn, experts, attn, elem, overhead float64 // seconds
	projB, ffnB, expB, attnB, elemB          perf.Bound
	tp, cp, ep                               float64 // collective seconds (forward)
	gemm                                     float64 // GEMM seconds that can hide TP traffic
}

func roof(flops, rate, bytes, bw float64) (float64, perf.Bound) {
	tc, tm := flops/rate, bytes/bw
	b := perf.Memory
	if tc >= tm {
		b = perf.Compute
	}
	return math.Sqrt(tc*tc + tm*tm), b
}

// computeBytes is the storage size of a GEMM operand at the job's
// precision: fp8 GEMMs read fp8 copies of weights and activations.
func (t *estimator) computeBytes() float64 {
	if t.job.Precision == hardware.FP8 {
		return 1
	}
	return 2
}

// layer prices one layer's forward pass; moe selects an MoE layer.
func (t *estimator) layer(l *Layout, r *perf.Rates, moe bool) layerWork {
	m := t.job.Model
	var w layerWork
	tp := float64(l.TP)
	tokens := float64(l.MicroBatch) * float64(t.job.SeqLen) / float64(l.CP) // rows of a TP group's GEMMs
	cb := t.computeBytes()
	h := float64(m.Hidden)
	gemm := func(params, rows float64) (float64, perf.Bound) {
		return roof(2*params*rows, r.GEMM, params*cb+2*rows*h*cb, r.Memory)
	}
	w.proj, w.projB = gemm(m.AttnParams()/tp, tokens)
	kernels := 5.0
	if m.MLA() {
		kernels = 11
	}
	elem := (6*h + 2*float64(m.Heads*m.HeadDim+2*m.KVHeads*m.HeadDim)/tp) * 2 * tokens / tp
	if moe {
		own := tokens / tp // tokens each device routes (sequence-parallel shard)
		k := float64(m.ExpertsPerToken)
		expRows := own * k * r.Imbalance
		experts := float64(m.Experts) / float64(l.EP)
		w.experts, w.expB = roof(2*m.ExpertParams()*expRows, r.GEMM, experts*m.ExpertParams()*cb+2*expRows*h*cb, r.Memory)
		router, _ := roof(2*m.RouterParams()*own, r.GEMM, m.RouterParams()*2, r.Memory)
		w.experts += router
		if m.SharedExperts > 0 {
			w.ffn, w.ffnB = gemm(m.SharedParams()/tp, tokens)
			kernels += 3
		}
		elem += (4*h + 3*float64(m.MoEIntermediate)) * 2 * expRows
		elem += 3 * float64(m.SharedExperts*m.SharedIntermediate) / tp * 2 * tokens
		kernels += 8
		// Dispatch and combine: each device sends its own tokens' k
		// copies. Copies bound for another scale-up domain cross
		// scale-out once per distinct remote domain (hierarchical
		// dispatch, as DeepEP and Megatron's flex dispatcher do); every
		// copy crosses scale-up once.
		if l.EP > 1 {
			g := math.Ceil(float64(l.EP) / float64(r.Domain))
			remote := 0.0
			if g > 1 {
				remote = (g - 1) * (1 - math.Pow(1-1/g, k))
			}
			dispatch := cb * h
			combine := 2 * h
			up := t.groupBW(min(l.EP, r.Domain), r)
			intra := own * k * (dispatch + combine) / up
			inter := own * remote * (dispatch + combine) / r.ScaleOut
			w.ep = math.Max(intra, inter) + 4*math.Log2(float64(l.EP))*r.Hop
		}
	} else {
		w.ffn, w.ffnB = gemm(m.DenseFFNParams()/tp, tokens)
		elem += 3 * float64(m.Intermediate) / tp * 2 * tokens
		kernels += 4
	}
	// Attention: causal (query, key) pairs of the micro-batch, per layer
	// on average (sliding layers capped), this device's heads and query
	// shard; FlashAttention-style, compute-bound at attn_eff.
	attnFlops := t.scoreFwdPerSeq * float64(l.MicroBatch) / tp / float64(l.CP)
	kvBytes := 2 * float64(2*m.KVHeads*m.HeadDim) / tp * tokens
	w.attn, w.attnB = roof(attnFlops, r.Attention, kvBytes, r.Memory)
	w.elem, w.elemB = elem/r.Memory, perf.Memory
	w.overhead = kernels * r.Kernel
	w.gemm = w.proj + w.ffn + w.experts
	// Sequence-parallel TP: two all-gathers and two reduce-scatters of
	// the micro-batch's hidden states per layer, each moving (t−1)/t of
	// them over every device's link.
	if l.TP > 1 {
		act := tokens * h * 2
		bw := t.groupBW(l.TP, r)
		w.tp = 4 * ((tp-1)/tp*act/bw + (tp-1)*r.Hop)
	}
	// Context parallelism: a ring passes each rank's K and V around the
	// cp ranks while attention runs.
	if l.CP > 1 {
		cp := float64(l.CP)
		kv := tokens * 2 * float64(m.KVHeads*m.HeadDim) / tp * 2
		if m.MLA() {
			kv = tokens * float64(m.Heads*(m.QKNopeHeadDim+m.QKRopeHeadDim+m.VHeadDim)) / tp * 2
		}
		w.cp = (cp-1)*kv/t.groupBW(l.CP*l.TP, r) + (cp-1)*r.Hop
	}
	return w
}

// groupBW is the per-direction bandwidth a collective over n consecutive
// devices gets: scale-up inside the domain (on a full mesh only the links
// to the group's peers), scale-out beyond.
func (t *estimator) groupBW(n int, r *perf.Rates) float64 {
	if n > r.Domain {
		return r.ScaleOut
	}
	if r.Mesh && r.Domain > 1 && n > 1 {
		return r.ScaleUp * float64(n-1) / float64(r.Domain-1)
	}
	return r.ScaleUp
}

// dpBW is the bandwidth of a data-parallel collective whose members sit
// stride devices apart over n ranks. A group that spans scale-up domains
// with k members in each runs hierarchically (NCCL's rings give every
// member of a domain its own NIC and a 1/k share of the buffer to carry
// across), so the domain's k NICs carry it together: nccl-tests
// all_reduce across nodes of 8 H100 with one 400 Gb/s NIC each reports
// 400-450 GB/s of bus bandwidth for large messages, eight NICs' worth
// (Saturn Cloud, "Validating multi-node GPU clusters with NCCL tests"),
// within the scale-up share each member has.
func (t *estimator) dpBW(n, stride int, r *perf.Rates) float64 {
	if n*stride > r.Domain {
		k := min(max(r.Domain/max(stride, 1), 1), n)
		return math.Min(float64(k)*r.ScaleOut, t.groupBW(k, r))
	}
	return t.groupBW(n, r)
}

// ringTime is a ring all-gather or reduce-scatter of bytes (the whole
// buffer) over n ranks.
func ringTime(bytes float64, n int, bw, hop float64) float64 {
	if n <= 1 || bytes <= 0 {
		return 0
	}
	nf := float64(n)
	return (nf-1)/nf*bytes/bw + (nf-1)*hop
}
