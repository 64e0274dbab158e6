package perf

import (
	"errors"
	"fmt"
	"math"

	"ersatz/internal/units"
)

// prefillState is a prefill instance running full chunks back to back.
type prefillState struct {
	step    Step
	tokens  float64 // uncached prompt tokens per step
	reqRate float64 // requests per second at saturation
	single  float64 // seconds to prefill one prompt alone
}

func prefillAt(in *Instance, w Workload) prefillState {
	iEff := math.Max(w.InputTokens*(1-w.PrefixHit), 1)
	keys := w.InputTokens*w.PrefixHit + iEff/2
	// A prefill instance fills each DP rank's token budget; a prompt longer
	// than the budget is chunked, one shorter shares the step.
	budget := math.Max(float64(in.maxBatchTokens*in.d.DP), iEff)
	b := Batch{PrefillTokens: roundUp(budget), PrefillSeqs: roundUp(budget / iEff), PrefillKV: budget * keys}
	st := prefillState{step: in.Step(&b), tokens: budget}
	st.reqRate = budget / iEff / float64(st.step.Total)
	one := Batch{PrefillTokens: roundUp(iEff), PrefillSeqs: 1, PrefillKV: iEff * keys}
	st.single = float64(in.Step(&one).Total)
	return st
}

// decodeAt is a decode instance at batch b: every step decodes, none
// prefills.
func decodeAt(in *Instance, w Workload, b float64) mixedState {
	dw := w
	if dw.ContextTokens <= 0 {
		dw.ContextTokens = w.InputTokens + w.OutputTokens/2
	}
	dw.InputTokens = 0
	return mixedAt(in, dw, b)
}

// kvTransfer is the time to move one prompt's KV cache from a prefill to
// a decode instance over the slower side's scale-out links, all devices
// of the instance sending at once.
func kvTransfer(p, d *Instance, w Workload) float64 {
	bytes := w.InputTokens * p.d.Model.KVBytesPerToken(d.d.KV)
	po, _ := p.scaleOut()
	do, _ := d.scaleOut()
	bw := math.Min(po*float64(p.Devices()), do*float64(d.Devices()))
	return bytes / (bw * p.fam.CommEff.Value)
}

func serveDisagg(sc Scenario) (Result, error) {
	p, d, w := sc.Prefill, sc.Decode, sc.Workload
	np, nd := max(sc.PrefillCount, 1), max(sc.DecodeCount, 1)
	if w.InputTokens <= 0 {
		return Result{}, errors.New("a disaggregated scenario needs input_tokens")
	}
	if _, _, err := p.maxBatch(w.InputTokens, w.InputTokens); err != nil {
		return Result{}, fmt.Errorf("prefill: %w", err)
	}
	bmax, limit, err := d.decodeBatch(w)
	if err != nil {
		return Result{}, fmt.Errorf("decode: %w", err)
	}
	ps := prefillAt(p, w)
	xfer := kvTransfer(p, d, w)
	tau := d.tokensPerStep
	res := Result{Chips: p.Chips()*float64(np) + d.Chips()*float64(nd)}

	var st mixedState
	lambda := 0.0 // requests per second over the deployment
	switch sc.Load.Kind {
	case Offline:
		st = decodeAt(d, w, bmax)
	case BatchPerChip:
		st = decodeAt(d, w, pinned(&res, sc.Load.Batch*d.Chips(), bmax, limit))
		limit = "load"
	case Concurrency:
		st = decodeAt(d, w, math.Min(math.Max(sc.Load.Concurrency/float64(nd), 1), bmax))
		limit = "load"
	case Rate:
		lambda = sc.Load.Rate
		st, res.Saturated = rateState(d, decodeAt, w, lambda/float64(nd), bmax)
		if !res.Saturated {
			limit = "load"
		}
	case SLOOnly:
		slo := sc.Load.SLO
		if slo == nil {
			return Result{}, errors.New("no load and no SLO: nothing to size the batch by")
		}
		ok := func(b float64) bool {
			s := decodeAt(d, w, b)
			return slo.TPOT <= 0 || units.Seconds(s.mean/tau) <= slo.TPOT
		}
		if !ok(1) {
			return Result{}, fmt.Errorf("no decode batch meets TPOT %v", slo.TPOT)
		}
		lo, hi := 1.0, bmax
		if ok(bmax) {
			lo = bmax
		}
		for i := 0; i < 40 && hi-lo > 1e-3; i++ {
			mid := (lo + hi) / 2
			if ok(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		st = decodeAt(d, w, lo)
		limit = "slo"
	}
	decOut := st.b * tau / st.mean * float64(nd) // tokens/s of the decode pool
	preIn := ps.reqRate * w.InputTokens * float64(np)
	// The deployment delivers what its slower pool allows.
	reqs := math.Min(decOut/w.OutputTokens, ps.reqRate*float64(np))
	if lambda > 0 {
		reqs = math.Min(reqs, lambda)
	}
	res.OutputTPS = reqs * w.OutputTokens
	res.InputTPS = reqs * w.InputTokens
	if decOut/w.OutputTokens > ps.reqRate*float64(np)*1.0001 {
		res.Notes = append(res.Notes, fmt.Sprintf("prefill-bound: the prefill pool serves %.3g req/s, the decode pool could take %.3g", ps.reqRate*float64(np), decOut/w.OutputTokens))
	}
	res.TPOT = Latency{units.Seconds(st.mean / tau), units.Seconds(st.mean / tau), units.Seconds(st.mean / tau)}
	res.PerUser = tau / st.mean

	// TTFT: the prefill queue (M/D/1 on full chunks), the prompt's own
	// prefill, the KV transfer and the first decode step.
	rate := lambda
	if rate <= 0 {
		rate = reqs
	}
	chunkT := float64(ps.step.Total)
	rho := math.Min(rate/(ps.reqRate*float64(np)), 0.999)
	wm, w90, w99 := queueWait(rho, chunkT)
	base := ps.single + xfer + st.mean
	res.TTFT = Latency{units.Seconds(base + wm), units.Seconds(base + w90), units.Seconds(base + w99)}

	res.Pools = []Pool{
		{Role: Prefill, Instances: np, Chips: p.Chips() * float64(np), Batch: ps.tokens, BatchLimit: "max_batch_tokens",
			InputTPS: preIn, Step: ps.step, Mixed: ps.step, MixedShare: 1, MeanStep: ps.step.Total},
		{Role: Decode, Instances: nd, Chips: d.Chips() * float64(nd), Batch: st.b, BatchLimit: limit,
			OutputTPS: decOut, InputTPS: decOut * w.InputTokens / w.OutputTokens, Step: st.pure, Mixed: st.pure,
			MeanStep: units.Seconds(st.mean)},
	}
	return res, nil
}
