package perf

import (
	"math"

	"ersatz/internal/units"
)

// Batch is what one engine step carries on one instance: decode sequences
// (DecodeTokens is DecodeSeqs × (1 + draft tokens) when speculating) and
// prefill chunks. DecodeKV is the sum of the decode sequences' context
// lengths; PrefillKV the sum over prefill chunks of (query, key) pairs.
// The simulator declares the same fields.
type Batch struct {
	DecodeSeqs, DecodeTokens, DecodeKV int
	PrefillSeqs, PrefillTokens         int
	PrefillKV                          float64
}

// Bound says what limits a part of the step.
type Bound uint8

// Bounds.
const (
	None Bound = iota
	Compute
	Memory
	Network
	Overhead
)

func (b Bound) String() string {
	return [...]string{"none", "compute", "memory", "network", "overhead"}[b]
}

// MarshalText makes a Bound print as its name in JSON.
func (b Bound) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// Part is one component of a step.
type Part struct {
	Seconds units.Seconds `json:"seconds"`
	Bound   Bound         `json:"bound"`
}

// Step is the time of one engine step, by component. The parts add up
// to Total.
type Step struct {
	// Projections are the attention input/output matmuls (q, k, v, o; MLA's
	// q_a, q_b, kv_a, kv_b, o).
	Projections Part `json:"projections"`
	// FFN is the dense FFN and the shared experts.
	FFN Part `json:"ffn"`
	// Experts is the router and the routed experts' grouped matmuls.
	Experts Part `json:"experts"`
	// Attention is QKᵀ and PV over the cached keys (the KV-cache reads).
	Attention Part `json:"attention"`
	// Elementwise is the unfused norms, residual adds, rope, activations
	// and expert permutes: memory traffic outside the GEMMs.
	Elementwise Part `json:"elementwise"`
	LMHead      Part `json:"lm_head"`
	// Draft is the speculative draft model (MTP module, EAGLE head).
	Draft  Part `json:"draft"`
	TPComm Part `json:"tp_comm"`
	EPComm Part `json:"ep_comm"`
	PPComm Part `json:"pp_comm"`
	// Overhead is kernel launch gaps and the engine's per-step host cost.
	Overhead Part          `json:"overhead"`
	Total    units.Seconds `json:"total"`

	dispatch, combine units.Seconds // the EP all-to-all halves, for overlap
}

// roof is the roofline time of work that needs flops at rate and moves
// bytes at bw, with the bound that decides it.
func roof(flops, rate, bytes, bw float64) (float64, Bound) {
	tc, tm := flops/rate, bytes/bw
	b := Memory
	if tc >= tm {
		b = Compute
	}
	return math.Sqrt(tc*tc + tm*tm), b
}

// add accumulates t into p, keeping the bound of the larger share.
func (p *Part) add(t float64, b Bound) {
	if t <= 0 {
		return
	}
	if t > float64(p.Seconds) {
		p.Bound = b
	}
	p.Seconds += units.Seconds(t)
}

// allReduce is the faster of a ring and a tree all-reduce of bytes over
// n devices, as NCCL picks by size. A ring moves 2(n−1)/n of the buffer
// over each device's link each way in 2(n−1) latency steps; a double
// binary tree moves the whole buffer up and down (2× the bytes) in
// 2·log₂n levels. The hop latencies were measured as small all-reduces
// over 8 devices read as rings, so a tree level costs what makes the two
// agree there (7 ring steps over 3 levels): the tree wins only for small
// buffers over more than 8 devices, as it does in NCCL across nodes.
func (in *Instance) allReduce(bytes float64, n int, bw float64) float64 {
	if n <= 1 || bytes <= 0 {
		return 0
	}
	nf := float64(n)
	ring := 2*(nf-1)/nf*bytes/bw + 2*(nf-1)*in.hop
	tree := 2*bytes/bw + 2*math.Ceil(math.Log2(nf))*treeLevel*in.hop
	return math.Min(ring, tree)
}

// treeLevel is the latency of one tree level in ring steps: at 8 devices
// a ring's 14 steps and a tree's 6 levels take the same time.
const treeLevel = 14.0 / 6

// allToAll is one dispatch or combine over the n devices of the EP group:
// each device sends tokens tokens, copies copies each (one per chosen
// expert), of bytes bytes. Copies bound for peers inside the scale-up
// domain cross scale-up links; a token bound for another domain crosses
// the scale-out network once per distinct remote domain and is forwarded
// inside it (DeepEP's and CloudMatrix's hierarchical kernels), so with G
// domains it makes (G−1)(1−(1−1/G)^copies) remote sends. Both kinds of
// link run at once; about log₂ n latency rounds.
func (in *Instance) allToAll(tokens, copies, bytes float64, n int) float64 {
	if n <= 1 || tokens <= 0 {
		return 0
	}
	nf := float64(n)
	local := math.Min(float64(in.domain()), nf)
	intra := tokens * copies * bytes * (local - 1) / nf
	var inter float64
	if g := nf / local; g > 1 {
		inter = tokens * bytes * (g - 1) * (1 - math.Pow(1-1/g, copies))
	}
	return math.Max(intra/in.upBW, inter/in.outBW) + 4*math.Log2(nf)*in.hop
}

// gatherScatter is one all-gather (or reduce-scatter) over the n devices
// of the EP group of every device's tokens tokens, bytes bytes each: every
// device receives (sends) the other n−1 devices' share, over the group's
// links, in n−1 ring steps. TensorRT-LLM's attention-DP MoE gathers the
// quantized tokens before the experts and reduce-scatters their 16-bit
// outputs after, whatever each token's experts.
func (in *Instance) gatherScatter(tokens, bytes float64, n int) float64 {
	if n <= 1 || tokens <= 0 {
		return 0
	}
	nf := float64(n)
	return (nf-1)*tokens*bytes/in.epBW + (nf-1)*in.hop
}

// layerTokens is the work of one pipeline micro-batch.
type layerTokens struct {
	t        float64 // tokens on the instance
	tg       float64 // tokens per attention (DP) group
	decKeys  float64 // cached keys the decode sequences of one group read per layer
	decSeqs  float64 // decode sequences per group
	decQ     float64 // queries per decode sequence (1 + draft tokens)
	preKV    float64 // prefill pairs per group
	preToks  float64 // prefill tokens per group
	seqs     float64 // sequences on the instance
	lmTokens float64 // tokens that need logits
}

// Step returns the time of one engine step of b on the instance. It does
// not allocate.
func (in *Instance) Step(b *Batch) Step {
	s := in.step(b, false)
	// Two-batch overlap (DP attention with EP, where the engine does it)
	// splits the batch in two, so that one half's dispatch and combine
	// hide behind the other's compute; the weights are then read twice.
	// Engines turn it on where it pays (SGLang's wide-EP recipe, DeepSeek
	// and CloudMatrix at large batch), so the faster of the two counts.
	if in.eng.EPOverlap && in.d.DP > 1 && in.d.EP > 1 && b.DecodeSeqs+b.PrefillSeqs >= 2*in.d.DP {
		if t := in.step(b, true); t.Total < s.Total {
			return in.stacked(b, t)
		}
	}
	return in.stacked(b, s)
}

func (in *Instance) step(b *Batch, tbo bool) Step {
	var s Step
	pp := float64(in.d.PP)
	dp := float64(in.d.DP)
	dec := float64(b.DecodeTokens)
	pre := float64(b.PrefillTokens)
	// With pipeline parallelism the engine splits the batch into PP
	// micro-batches that flow through the stages back to back: a step
	// costs PP stage-times of one micro-batch (each stage holds
	// ceil(L/PP) layers), plus the stage-to-stage sends. Two-batch
	// overlap halves the micro-batches again.
	micro := pp
	if tbo {
		micro *= 2
	}
	w := layerTokens{
		t:        (dec + pre) / micro,
		tg:       (dec + pre) / micro / dp,
		decKeys:  float64(b.DecodeKV) / micro / dp,
		decSeqs:  float64(b.DecodeSeqs) / micro / dp,
		preKV:    b.PrefillKV / micro / dp,
		preToks:  pre / micro / dp,
		seqs:     float64(b.DecodeSeqs+b.PrefillSeqs) / micro,
		lmTokens: (float64(b.DecodeTokens) + float64(b.PrefillSeqs)) / micro,
	}
	// Attention data parallelism runs the DP ranks in lock step (they
	// meet at every MoE all-to-all), and a prompt lands whole on one rank:
	// the step waits for the rank with the most prompts. Decodes spread
	// evenly; the routed experts see every rank's tokens either way.
	if dp > 1 && b.PrefillSeqs > 0 {
		perSeq := pre / float64(b.PrefillSeqs)
		busiest := math.Min(math.Ceil(float64(b.PrefillSeqs)/(micro*dp))*perSeq, pre/micro)
		if even := pre / micro / dp; busiest > even {
			w.preKV *= busiest / even
			w.preToks = busiest
			w.tg = dec/micro/dp + busiest
		}
	}
	w.decQ = 1
	if b.DecodeSeqs > 0 {
		w.decQ = dec / float64(b.DecodeSeqs)
	}
	if w.t <= 0 {
		s.Overhead.add(in.stepFixed, Overhead)
		s.Total = s.Overhead.Seconds
		return s
	}
	in.layers1(&s, &w, in.layers, in.denseLayers, in.moeLayers, in.slidingLayers)
	in.lmHead(&s.LMHead, w.lmTokens)

	// Speculative drafting: each draft token runs the draft module (about
	// one decoder layer, MoE for DeepSeek's MTP) and the LM head on one
	// token per decode sequence, sequentially.
	if in.draftTokens > 0 && b.DecodeSeqs > 0 {
		var ds Step
		n := float64(b.DecodeSeqs) / micro
		dw := layerTokens{
			t: n, tg: n / dp, decKeys: w.decKeys, decSeqs: w.decSeqs, decQ: 1,
			seqs: n, lmTokens: n,
		}
		moe := 0.0
		if in.moeLayers > 0 {
			moe = in.draftLayers
		}
		in.layers1(&ds, &dw, in.draftLayers, in.draftLayers-moe, moe, 0)
		in.lmHead(&ds.LMHead, n)
		t := float64(ds.Projections.Seconds + ds.FFN.Seconds + ds.Experts.Seconds + ds.Attention.Seconds + ds.Elementwise.Seconds +
			ds.LMHead.Seconds + ds.TPComm.Seconds + ds.EPComm.Seconds + ds.Overhead.Seconds)
		s.Draft.add(t*in.draftTokens, Memory)
	}

	// Stage-time × micro-batches for every component.
	for _, p := range [...]*Part{&s.Projections, &s.FFN, &s.Experts, &s.Attention, &s.Elementwise, &s.LMHead,
		&s.Draft, &s.TPComm, &s.EPComm, &s.Overhead} {
		p.Seconds *= units.Seconds(micro)
	}
	s.dispatch *= units.Seconds(micro)
	s.combine *= units.Seconds(micro)
	if in.d.PP > 1 {
		send := w.t*in.hiddenBytes/in.ppBW + in.hop
		s.PPComm.add((pp-1)*send, Network)
	}
	// Each DP rank schedules its own sequences, in parallel.
	host := in.stepFixed + in.perSeq*float64(b.DecodeSeqs+b.PrefillSeqs)/dp
	if tbo {
		// Only the communication beyond the other half's compute shows.
		// Each layer alternates the halves: one half's dispatch runs
		// beside the other's attention side (projections, attention,
		// shared experts, element-wise work), its combine beside the
		// other's routed experts. What the partner phase cannot cover
		// shows.
		if in.eng.OverlapSMShare > 0 {
			// The communication kernels hold some compute units while
			// they run beside the compute (DeepEP's kernels poll on SMs).
			k := units.Seconds(1 / (1 - in.eng.OverlapSMShare))
			for _, p := range [...]*Part{&s.Projections, &s.FFN, &s.Experts, &s.Attention, &s.Elementwise} {
				p.Seconds *= k
			}
		}
		side := s.Projections.Seconds + s.FFN.Seconds + s.Attention.Seconds + s.Elementwise.Seconds
		s.EPComm.Seconds = max(s.dispatch-side, 0) + max(s.combine-s.Experts.Seconds, 0)
	}
	s.Total = s.Projections.Seconds + s.FFN.Seconds + s.Experts.Seconds + s.Attention.Seconds + s.Elementwise.Seconds +
		s.LMHead.Seconds + s.Draft.Seconds + s.TPComm.Seconds + s.EPComm.Seconds + s.PPComm.Seconds +
		s.Overhead.Seconds
	// An eager step's kernels are launched one by one from Python; the
	// device runs behind the launches, so the step lasts at least as long
	// as they take. With the host preparing the next step while the
	// device runs this one (TensorRT-LLM's overlap scheduler), scheduling
	// and launching share the host and only their excess over the device
	// time shows; otherwise scheduling comes on top.
	launch := in.launch(b, micro)
	cpu := units.Seconds(launch)
	if in.eng.HostOverlap {
		cpu += units.Seconds(host)
	}
	if extra := cpu - s.Total; extra > 0 {
		s.Overhead.add(float64(extra), Overhead)
		s.Total += extra
	}
	if !in.eng.HostOverlap {
		s.Overhead.add(host, Overhead)
		s.Total += units.Seconds(host)
	}
	return s
}

// launch is the host time to launch the kernels of b's step when it runs
// eagerly, or 0 when the engine replays it from a captured graph. Each
// DP rank launches its own layers in parallel; every pipeline
// micro-batch launches its stage's layers again.
func (in *Instance) launch(b *Batch, micro float64) float64 {
	if in.eagerDense == 0 && in.eagerMoE == 0 {
		return 0
	}
	dp := float64(in.d.DP)
	if !in.d.Eager && in.graphMax > 0 {
		if b.PrefillTokens == 0 && float64(b.DecodeSeqs)/dp <= in.graphMax {
			return 0
		}
		if b.PrefillTokens > 0 && !in.eng.GraphDecodeOnly && float64(b.DecodeTokens+b.PrefillTokens)/dp <= in.graphMax {
			return 0
		}
	}
	t := (in.layers-in.moeLayers)*in.eagerDense + in.moeLayers*in.eagerMoE
	if in.draftTokens > 0 && b.DecodeSeqs > 0 {
		per := in.eagerDense
		if in.moeLayers > 0 {
			per = in.eagerMoE
		}
		t += in.draftTokens * in.draftLayers * per
	}
	return t * micro
}

// layers1 adds one stage's worth of decoder layers (n in all, dense of
// them with a dense FFN, moe with routed experts, sliding of them with a
// sliding window) for micro-batch w into s.
func (in *Instance) layers1(s *Step, w *layerTokens, n, dense, moe, sliding float64) {
	// Attention projections.
	// GEMM rows are padded to the kernel's row tile: half a tile wasted
	// on average.
	rows := w.tg + gemmTile/2
	t, bd := roof(rows*in.attnFlopsTok, in.gemmRate, in.attnWBytes+w.tg*in.attnActTok, in.memBW)
	s.Projections.add(n*t, bd)
	s.Elementwise.add(n*w.tg*in.elemTok/in.memBW, Memory)

	// Dense FFN layers.
	if dense > 0 {
		t, bd = roof(rows*in.ffnFlopsTok, in.gemmRate, in.ffnWBytes+w.tg*in.ffnActTok, in.memBW)
		s.FFN.add(dense*t, bd)
		s.Elementwise.add(dense*w.tg*in.elemDense/in.memBW, Memory)
	}

	// MoE layers: shared experts like a dense FFN, routed experts as
	// grouped GEMMs over the experts this device holds.
	if moe > 0 {
		if in.sharedFlopsTok > 0 {
			t, bd = roof(rows*in.sharedFlopsTok, in.gemmRate, in.sharedWBytes+w.tg*in.sharedActTok, in.memBW)
			s.FFN.add(moe*t, bd)
			s.Elementwise.add(moe*w.tg*in.elemShared/in.memBW, Memory)
		}
		k, e := in.routeK, in.routeE
		ep := float64(in.d.EP)
		// Each expert is hit by a token with chance k/E, so the expected
		// distinct experts one device touches is E_dev·(1−(1−k/E)^T).
		touched := in.expertsDev * (1 - math.Pow(1-k/e, w.t))
		assign := w.t * k / ep
		imb := 1.0
		if in.d.EP > 1 {
			imb = 1 + (in.imbalance-1)*(1-1/ep)
		}
		// Kernels size the row tile to the rows each touched expert gets
		// (16 … 128): few tokens per expert waste a small tile, not a
		// large one.
		erows := assign * imb
		if touched > 0 {
			tile := math.Min(math.Max(erows/touched, minExpertTile), expertTile)
			erows += touched * tile / 2
		}
		flops := erows*in.expertFlopsTok + w.tg*in.routerFlopsTok
		// Grouped GEMMs stream their experts' weights slower than a dense
		// GEMM streams one matrix (groupedStream).
		bytes := touched*in.expertWBytes/groupedStream + assign*imb*in.expertActTok
		t, bd = roof(flops, in.gemmRate, bytes, in.memBW)
		s.Experts.add(moe*t, bd)
		s.Elementwise.add(moe*assign*imb*in.elemAssign/in.memBW, Memory)
	}

	// Attention scores. Decode reads each sequence's cached keys once for
	// all its queries; sliding layers read at most a window per sequence.
	full := n - sliding
	if w.decKeys > 0 {
		kv := full * w.decKeys
		if sliding > 0 {
			kv += sliding * math.Min(w.decKeys, w.decSeqs*in.window)
		}
		flops, bytes := kv*w.decQ*in.scoreDecode, kv*in.kvBytesTok
		if in.topK > 0 {
			// The indexer scans every cached key; attention reads at
			// most top-k latents per sequence.
			sel := full * math.Min(w.decKeys, w.decSeqs*in.topK)
			flops = sel*w.decQ*in.scoreDecode + kv*w.decQ*in.idxFlops
			bytes = sel*(in.kvBytesTok-in.idxBytesTok) + kv*in.idxBytesTok
		}
		t, bd = roof(flops, in.attnRate, bytes, in.memBW)
		s.Attention.add(t, bd)
	}
	if w.preKV > 0 {
		pairs := full * w.preKV
		if sliding > 0 {
			pairs += sliding * math.Min(w.preKV, w.preToks*in.window)
		}
		// Flash attention re-reads the keys once per query tile and
		// writes the new tokens' KV.
		bytes := (pairs/in.kvBlockQ + n*w.preToks) * in.kvBytesTok
		flops := pairs * in.scorePrefill
		if in.topK > 0 && w.preKV > w.preToks*in.topK {
			// Past top-k keys per query, sparse MLA runs in its absorbed
			// (MQA) form over the selected keys, after the indexer has
			// scored them all; shorter prompts run dense (DeepSeek-V3.2's
			// masked-MHA prefill).
			sel := full * w.preToks * in.topK
			flops = sel*in.scoreDecode + pairs*in.idxFlops
			bytes = (sel/in.kvBlockQ+n*w.preToks)*(in.kvBytesTok-in.idxBytesTok) +
				(pairs/in.kvBlockQ+n*w.preToks)*in.idxBytesTok
		}
		t, bd = roof(flops, in.attnRate, bytes, in.memBW)
		s.Attention.add(t, bd)
	}

	// Communication.
	d := in.d
	hb := in.hiddenBytes
	if in.attnTP > 1 {
		// Attention output all-reduce in every layer, FFN output in dense
		// layers.
		s.TPComm.add((n+dense)*in.allReduce(w.tg*hb, in.attnTP, in.linkBW), Network)
	}
	if moe > 0 {
		if d.DP == 1 || d.EP == 1 {
			// Experts replicate the tokens (TP attention) or split by TP:
			// their partial outputs are summed over the whole TP group.
			s.TPComm.add(moe*in.allReduce(w.t*hb, d.TP, in.linkBW), Network)
		} else {
			// DP attention + EP: each device dispatches its tokens' k
			// copies to the experts' ranks and combines them back; or,
			// with an all-gather engine, gathers every EP rank's tokens
			// and reduce-scatters the expert outputs.
			tok := w.t / float64(d.TP)
			var disp, comb float64
			if in.allGather {
				disp = moe * in.gatherScatter(tok, in.dispatchBytes, d.EP)
				comb = moe * in.gatherScatter(tok, in.combineBytes, d.EP)
			} else {
				k := in.routeK * float64(in.moeTP)
				disp = moe * in.allToAll(tok, k, in.dispatchBytes, d.EP)
				comb = moe * in.allToAll(tok, k, in.combineBytes, d.EP)
			}
			s.dispatch += units.Seconds(disp)
			s.combine += units.Seconds(comb)
			s.EPComm.add(disp+comb, Network)
		}
	}

	// Kernel launch gaps and tails.
	ops := (n-moe)*in.opsDense + moe*in.opsMoE
	s.Overhead.add(ops*in.kernel, Overhead)
}

// lmHead adds the logits matmul for tokens that sample.
func (in *Instance) lmHead(p *Part, tokens float64) {
	if tokens <= 0 {
		return
	}
	m := in.d.Model
	logits := tokens * float64(m.Vocab) / float64(in.d.TP) * 4
	t, bd := roof(tokens*in.lmFlopsTok, in.gemmRate, in.lmWBytes+logits, in.memBW)
	p.add(t, bd)
}
