package train

import (
	"math"

	"ersatz/internal/hardware"
	"ersatz/internal/perf"
	"ersatz/internal/units"
)

// estimator holds what does not change between layouts of one job: the
// rates at nominal, pessimistic and optimistic inputs and the model's
// per-sequence constants.
type estimator struct {
	job   *Job
	rates perf.Rates // the variant being evaluated
	all   [3]perf.Rates
	// frac is the share of layers recomputed whole (see
	// Result.RecomputedShare) for the layout being evaluated.
	frac float64
	// scoreFwdPerSeq is the forward score and value FLOPs of one causal
	// sequence per layer (sliding layers capped), heads summed.
	scoreFwdPerSeq float64
	stageMoE       int // MoE layers on the layout's fullest stage (for activations)
}

// Estimator prices layouts of one job.
type Estimator struct{ e estimator }

// New validates the job and computes its rates from the perf parameters.
func New(j Job, p *perf.Params) (*Estimator, error) {
	if err := checkJob(&j); err != nil {
		return nil, err
	}
	if p == nil {
		p = perf.DefaultParams()
	}
	est := &Estimator{e: estimator{job: &j}}
	compute := j.Precision
	if compute == hardware.FP16 && !j.Chip.Runs(hardware.FP16) {
		compute = hardware.BF16
	}
	if compute == hardware.BF16 && !j.Chip.Runs(hardware.BF16) && j.Chip.Runs(hardware.FP16) {
		compute = hardware.FP16
	}
	for i, v := range []int{0, -1, 1} {
		r, err := perf.DeviceRates(j.Chip, j.Node, j.DevicesPerChip, compute, p, v)
		if err != nil {
			return nil, err
		}
		est.e.all[i] = r
	}
	m := j.Model
	est.e.scoreFwdPerSeq = m.PrefillFLOPs(j.SeqLen).Score / float64(m.Layers)
	return est, nil
}

// Domain is the scale-up domain in devices.
func (e *Estimator) Domain() int { return e.e.all[0].Domain }

// Job returns the validated job.
func (e *Estimator) Job() Job { return *e.e.job }

// Result is one layout of a job, evaluated.
type Result struct {
	Layout Layout `json:"layout"`
	Step   Step   `json:"step"`
	Memory Memory `json:"memory"`
	// MicroBatches is the micro-batches per data-parallel rank per step.
	MicroBatches int `json:"micro_batches"`
	// RecomputedShare is the share of each stage's layers whose forward
	// pass reruns in the backward (1 for full, 0 for none and selective,
	// the fewest whole layers that fit for block).
	RecomputedShare float64 `json:"recomputed_share"`
	// TokensPerSecond is the whole cluster's training throughput.
	TokensPerSecond float64 `json:"tokens_per_s"`
	// ModelTFLOPSPerChip counts model FLOPs (6 × the active matmul
	// parameters per token, plus causal attention; recompute not counted).
	ModelTFLOPSPerChip float64 `json:"model_tflops_per_chip"`
	// MFU divides them by the chip's dense peak at the GEMM precision.
	MFU float64 `json:"mfu"`
	// Low and High bound the step time from the spreads of the chip's
	// numbers and the efficiency parameters (High is the slow end).
	StepLow  units.Seconds `json:"step_low"`
	StepHigh units.Seconds `json:"step_high"`
	// Binding names what limits the step most (its largest component).
	Binding string `json:"binding"`
}

// Evaluate prices one layout: step time, memory per device and the band.
// A layout that does not divide is a *LayoutError; one whose memory does
// not fit is an *OverflowError (the result's Memory is filled, so the
// caller can show the terms; its step is not timed).
func (e *Estimator) Evaluate(l Layout) (Result, error) {
	res, err := e.nominal(l)
	if res.Step.Total > 0 {
		e.band(&res)
	}
	return res, err
}

// nominal is Evaluate without the band (what a search ranks by).
func (e *Estimator) nominal(l Layout) (Result, error) {
	t := &e.e
	if err := check(t.job, &l); err != nil {
		return Result{Layout: l}, err
	}
	res := Result{Layout: l}
	res.MicroBatches = t.job.GlobalBatch / (l.DP * l.MicroBatch)
	t.rates = t.all[0]
	res.Memory, t.frac = t.memory(&l, res.MicroBatches)
	res.RecomputedShare = t.frac
	if res.Memory.Total > res.Memory.Usable {
		// Refused before it is timed: most layouts a search rejects fail
		// here, and their step would not be shown.
		return res, overflow(&res.Memory, l)
	}
	res.Step = t.step(&l, res.MicroBatches)
	tokens := float64(t.job.GlobalBatch) * float64(t.job.SeqLen)
	res.TokensPerSecond = tokens / float64(res.Step.Total)
	flops := ModelFLOPsPerToken(t.job.Model, t.job.SeqLen, Causal) * tokens
	res.ModelTFLOPSPerChip = flops / float64(res.Step.Total) / float64(t.job.Chips) / 1e12
	if pk, ok := t.job.Chip.Peak(t.job.Precision); ok {
		res.MFU = res.ModelTFLOPSPerChip * 1e12 / float64(pk)
	}
	return res, nil
}

// band fills the step's low and high from the pessimistic and optimistic
// rates, and names what binds.
func (e *Estimator) band(res *Result) {
	t := &e.e
	l := res.Layout
	t.frac = res.RecomputedShare
	res.Binding = binding(&res.Step)
	t.rates = t.all[1]
	res.StepHigh = t.step(&l, res.MicroBatches).Total
	t.rates = t.all[2]
	res.StepLow = t.step(&l, res.MicroBatches).Total
	t.rates = t.all[0]
}

func binding(s *Step) string {
	best, name := units.Seconds(-1), ""
	for _, p := range s.Parts() {
		if p.Seconds > best && p.Name != "stack" { // what binds is a modelled part
			best, name = p.Seconds, p.Name+" ("+p.Bound.String()+"-bound)"
		}
	}
	return name
}

func overflow(m *Memory, l Layout) error {
	terms := []struct {
		n string
		b units.Bytes
	}{{"weights", m.Weights}, {"gradients", m.Gradients}, {"optimizer states", m.Optimizer}, {"activations", m.Activations}, {"logits", m.Logits}}
	big := terms[0]
	for _, x := range terms[1:] {
		if x.b > big.b {
			big = x
		}
	}
	return &OverflowError{Term: big.n, Need: m.Total, Usable: m.Usable, TermBytes: big.b, Layout: l}
}

// stage is the layer mix of one pipeline stage.
type stage struct {
	moe, dense float64
	head       bool
}

// stages returns the fullest middle (or first) stage and the last stage:
// ceil(L/pp) layers per stage, the remainder and the LM head (and any MTP
// layers, which DeepSeek places with the head) on the last.
func (t *estimator) stages(l *Layout) (first, last stage) {
	m := t.job.Model
	ls := (m.Layers + l.PP - 1) / l.PP
	moeOf := func(n int) stage {
		mo := min(n, m.MoELayers())
		return stage{moe: float64(mo), dense: float64(n - mo)}
	}
	first = moeOf(ls)
	lastN := m.Layers - (l.PP-1)*ls
	if l.PP == 1 {
		lastN = m.Layers
		first = moeOf(m.Layers)
	}
	last = moeOf(max(lastN, 0))
	if m.MoE() {
		last.moe += float64(m.MTPLayers)
	} else {
		last.dense += float64(m.MTPLayers)
	}
	last.head = true
	if l.PP == 1 {
		first = last
	}
	return first, last
}

// step prices one optimizer step at t.rates.
func (t *estimator) step(l *Layout, micro int) Step {
	r := &t.rates
	first, last := t.stages(l)
	a, b := t.stageStep(l, r, first), t.stageStep(l, r, last)
	s := a
	if b.Total > a.Total {
		s = b
	}
	// One micro-batch slot on the slowest stage; the pipeline runs
	// micro + (pp−1)/vpp slots (1F1B; interleaving divides the bubble by
	// vpp; Narayanan et al. 2021 §2.2).
	slot := float64(s.Total)
	mf := float64(micro)
	s.scale(mf)
	if l.PP > 1 {
		s.Bubble.add(float64(l.PP-1)/float64(l.VPP)*slot, perf.Overhead)
	}
	one := a
	if l.PP > 1 {
		one = b
	}
	t.dataParallel(l, r, &s, micro, first, last, &one)
	s.sum()
	if e := t.job.Efficiency; e > 0 && e != 1 {
		s.Stack = Part{Seconds: s.Total * units.Seconds(1/e-1), Bound: perf.Overhead}
		s.Total += s.Stack.Seconds
	}
	return s
}

func (s *Step) scale(k float64) {
	for _, p := range []*Part{&s.Projections, &s.FFN, &s.Experts, &s.LMHead, &s.Attention, &s.Elementwise, &s.Recompute,
		&s.TPComm, &s.CPComm, &s.EPComm, &s.PPComm, &s.Overhead} {
		p.Seconds *= units.Seconds(k)
	}
}

func (s *Step) sum() {
	s.Total = s.Projections.Seconds + s.FFN.Seconds + s.Experts.Seconds + s.LMHead.Seconds + s.Attention.Seconds +
		s.Elementwise.Seconds + s.Recompute.Seconds + s.TPComm.Seconds + s.CPComm.Seconds + s.EPComm.Seconds +
		s.PPComm.Seconds + s.Bubble.Seconds + s.DPComm.Seconds + s.Optimizer.Seconds + s.Overhead.Seconds
}

// stageStep is one micro-batch's forward and backward through a stage.
func (t *estimator) stageStep(l *Layout, r *perf.Rates, st stage) Step {
	var s Step
	m := t.job.Model
	do := func(n float64, w layerWork) {
		if n <= 0 {
			return
		}
		g := 1 + gemmBackward
		s.Projections.add(n*g*w.proj, w.projB)
		s.FFN.add(n*g*w.ffn, w.ffnB)
		s.Experts.add(n*g*w.experts, w.expB)
		s.Attention.add(n*(1+attnBackward)*w.attn, w.attnB)
		s.Elementwise.add(n*(1+gemmBackward)*w.elem, w.elemB)
		s.Overhead.add(n*(1+kernelsBackward)*w.overhead, perf.Overhead)
		// Forward and backward each run the layer's collectives, and so
		// does a recomputed forward.
		passes := 2 + t.frac
		s.Recompute.add(t.frac*n*(w.proj+w.ffn+w.experts+w.attn+w.elem+w.overhead), perf.Compute)
		if l.Recompute == RecomputeSelective {
			s.Recompute.add(n*w.attn, w.attnB)
		}
		tp := w.tp
		if l.TPOverlap && l.TP <= r.Domain {
			tp = math.Max(0, w.tp-w.gemm)
		}
		s.TPComm.add(n*passes*tp, perf.Network)
		s.CPComm.add(n*passes*math.Max(0, w.cp-w.attn), perf.Network)
		// EP overlap (DualPipe, 1F1B A2A overlap) runs one micro-batch's
		// dispatch and combine under another's forward or backward
		// compute: the layer's all-to-alls of every pass hide behind the
		// compute of every pass, and only the excess shows.
		ep := passes * w.ep
		if l.EPOverlap {
			compute := (w.gemm+w.attn)*(1+gemmBackward) + w.attn*(attnBackward-gemmBackward)
			compute += t.frac * (w.gemm + w.attn)
			ep = math.Max(0, ep-compute)
		}
		s.EPComm.add(n*ep, perf.Network)
	}
	if st.moe > 0 {
		t.stageMoE = int(st.moe)
		do(st.moe, t.layer(l, r, true))
	}
	if st.dense > 0 {
		do(st.dense, t.layer(l, r, false))
	}
	if st.head {
		tokens := float64(l.MicroBatch) * float64(t.job.SeqLen) / float64(l.CP)
		hp := float64(m.Vocab) * float64(m.Hidden) / float64(l.TP)
		th, b := roof(2*hp*tokens, r.GEMM, hp*t.computeBytes()+tokens*float64(m.Vocab)/float64(l.TP)*4, r.Memory)
		s.LMHead.add((1+gemmBackward)*th, b)
	}
	// Activations (the sequence-parallel shard) to the next stage and
	// gradients back, once per virtual stage: exposed.
	if l.PP > 1 {
		tokens := float64(l.MicroBatch) * float64(t.job.SeqLen) / float64(l.CP) / float64(l.TP)
		send := tokens*float64(m.Hidden)*2/r.ScaleOut + r.Hop
		s.PPComm.add(2*float64(l.VPP)*send, perf.Network)
	}
	s.sum()
	return s
}

// stageParams is the parameters one device of a stage holds: the dense
// part (replicated over dp·cp) and the routed experts (over dp·cp·tp/ep).
func (t *estimator) stageParams(l *Layout, st stage, first bool) (dense, experts float64) {
	m := t.job.Model
	tp := float64(l.TP)
	n := st.moe + st.dense
	dense = n*m.AttnParams() + st.dense*m.DenseFFNParams() + st.moe*(m.SharedParams()+m.RouterParams())
	if first {
		dense += m.EmbeddingParams()
	}
	if st.head {
		dense += m.LMHeadParams()
		if !first { // a tied head is a second copy on the last stage
			dense += m.EmbeddingParams() * b2f(m.TiedEmbeddings)
		}
	}
	dense /= tp
	experts = st.moe * float64(m.Experts) / float64(l.EP) * m.ExpertParams()
	return dense, experts
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// dataParallel adds the gradient reduce-scatter (all-reduce at ZeRO 0),
// the parameter all-gather and the optimizer update. Megatron overlaps
// the reduce-scatter with the last micro-batch's backward and the
// all-gather with the first micro-batch's forward (--overlap-grad-reduce,
// --overlap-param-gather); ZeRO-2 reduce-scatters after every
// micro-batch and ZeRO-3/FSDP gathers parameters for every forward and
// backward, each hidden behind that micro-batch's compute. Only what
// exceeds the compute it hides behind is exposed.
func (t *estimator) dataParallel(l *Layout, r *perf.Rates, s *Step, micro int, first, last stage, one *Step) {
	pd, pe := t.stageParams(l, first, true)
	if l.PP > 1 {
		if d2, e2 := t.stageParams(l, last, false); d2+e2 > pd+pe {
			pd, pe = d2, e2
		}
	}
	nd := l.DP * l.CP
	ne := l.DP * l.CP * l.TP / l.EP
	rs := ringTime(pd*gradReduceBytes, nd, t.dpBW(nd, l.TP, r), r.Hop) + ringTime(pe*gradReduceBytes, ne, t.dpBW(ne, l.EP, r), r.Hop)
	ag := ringTime(pd*paramGatherBytes, nd, t.dpBW(nd, l.TP, r), r.Hop) + ringTime(pe*paramGatherBytes, ne, t.dpBW(ne, l.EP, r), r.Hop)
	fwd := float64(one.Projections.Seconds+one.FFN.Seconds+one.Experts.Seconds+one.LMHead.Seconds) / (1 + gemmBackward)
	bwd := float64(one.Total) - fwd
	mf := float64(micro)
	var exposed float64
	switch l.ZeRO {
	case 0:
		exposed = math.Max(0, 2*rs-bwd)
	case 1:
		exposed = math.Max(0, rs-bwd) + math.Max(0, ag-fwd)
	case 2:
		exposed = mf*math.Max(0, rs-bwd) + math.Max(0, ag-fwd)
	default:
		exposed = mf * math.Max(0, 2*ag+rs-(fwd+bwd))
	}
	s.DPComm.add(exposed, perf.Network)
	shard := pd + pe
	if l.ZeRO >= 1 {
		shard = pd/float64(nd) + pe/float64(ne)
	}
	s.Optimizer.add(adamBytesPerParam*shard/r.Memory, perf.Memory)
}

// memory is the fullest device's memory, and the share of layers
// recomputed whole: 1 for full, 0 for none and selective, and for block
// the fewest whole layers of each stage that bring it under the usable
// memory (all of them if even that does not).
func (t *estimator) memory(l *Layout, micro int) (Memory, float64) {
	first, last := t.stages(l)
	usable := units.Bytes(t.job.Chip.Memory()) / units.Bytes(t.job.dpc()) * UsableShare
	inflight := float64(min(micro, l.PP))
	if l.VPP > 1 {
		// Megatron's theoretical_memory_usage.py: interleaving keeps
		// (1 + (pp−1)/(pp·vpp)) times more in flight.
		inflight *= 1 + float64(l.PP-1)/float64(l.PP*l.VPP)
	}
	all := [2]stage{first, last}
	stages := all[:]
	if l.PP == 1 {
		stages = all[:1]
	}
	frac := 0.0
	switch l.Recompute {
	case RecomputeFull:
		frac = 1
	case RecomputeBlock:
		for i, st := range stages {
			m0 := t.stageMemory(l, st, i, inflight, 0, usable)
			if m0.Total <= usable {
				continue
			}
			m1 := t.stageMemory(l, st, i, inflight, 1, usable)
			n := st.moe + st.dense
			// Memory falls linearly in the recomputed share from its value
			// just above 0 (the recomputed layer's working set appears)
			// to m1 at 1.
			w := t.stageMemory(l, st, i, inflight, 1/n, usable)
			f := 1.0
			if w.Total > m1.Total && n > 1 {
				slope := float64(w.Total-m1.Total) / (1 - 1/n)
				f = 1/n + float64(w.Total-usable)/slope
			}
			f = math.Min(1, math.Ceil(math.Max(f, 0)*n-1e-9)/n)
			frac = math.Max(frac, f)
		}
	}
	var mem Memory
	mem.Usable = usable
	for i, st := range stages {
		if m := t.stageMemory(l, st, i, inflight, frac, usable); m.Total > mem.Total {
			mem = m
		}
	}
	return mem, frac
}

// layerBytes is one layer's stored activations for one micro-batch, of
// an MoE or a dense layer.
func (t *estimator) layerBytes(l *Layout, sp, moe bool, r Recompute) float64 {
	t.stageMoE = 0
	if moe {
		t.stageMoE = 1
	}
	return t.ActivationBytesPerLayer(l.MicroBatch, t.job.SeqLen, l.TP, l.CP, sp, r)
}

// stageMemory is one stage's device memory with frac of its layers
// recomputed whole.
func (t *estimator) stageMemory(l *Layout, st stage, i int, inflight, frac float64, usable units.Bytes) Memory {
	sp := l.TP > 1
	pd, pe := t.stageParams(l, st, i == 0)
	wd, gd, od := StateBytesPerParam(l.ZeRO, l.DP*l.CP, gradBufferBytes)
	we, ge, oe := StateBytesPerParam(l.ZeRO, l.DP*l.CP*l.TP/l.EP, gradBufferBytes)
	m := Memory{Usable: usable}
	m.Weights = units.Bytes(pd*wd + pe*we)
	m.Gradients = units.Bytes(pd*gd + pe*ge)
	m.Optimizer = units.Bytes(pd*od + pe*oe)
	fl := inflight
	if i == 1 && l.VPP == 1 {
		fl = 1 // the last stage of 1F1B holds one micro-batch
	}
	m.InFlight = fl
	stored := l.Recompute
	if stored == RecomputeFull || stored == RecomputeBlock {
		stored = RecomputeNone
	}
	var act float64
	if st.moe > 0 {
		act += st.moe * ((1-frac)*t.layerBytes(l, sp, true, stored) + frac*t.layerBytes(l, sp, true, RecomputeFull))
	}
	if st.dense > 0 {
		act += st.dense * ((1-frac)*t.layerBytes(l, sp, false, stored) + frac*t.layerBytes(l, sp, false, RecomputeFull))
	}
	act *= fl
	if frac > 0 {
		// The layer being recomputed holds its whole set once.
		act += t.layerBytes(l, sp, st.moe > 0, RecomputeNone)
	}
	m.Activations = units.Bytes(act)
	if st.head {
		m.Logits = units.Bytes(4 * float64(l.MicroBatch) * float64(t.job.SeqLen) / float64(l.CP) * float64(t.job.Model.Vocab) / float64(l.TP))
	}
	m.Total = m.Weights + m.Gradients + m.Optimizer + m.Activations + m.Logits
	m.Stage = [...]string{"first", "last"}[i]
	if l.PP == 1 {
		m.Stage = "only"
	}
	return m
}
