package perf

import (
	"fmt"
	"math"
)

// concurrencyState solves a closed loop of n requests per instance: each
// spends TTFT prefilling and O/τ steps decoding, so the decode batch is
// n·(decode time)/(TTFT + decode time), capped at bmax.
func concurrencyState(in *Instance, w Workload, n, bmax float64, limit string) (mixedState, string) {
	b := math.Min(n, bmax)
	if n > bmax {
		return mixedAt(in, w, bmax), limit
	}
	var st mixedState
	for i := 0; i < 30; i++ {
		st = mixedAt(in, w, math.Max(b, 1))
		dec := w.OutputTokens / in.tokensPerStep * st.mean
		pre := float64(ttftMixed(in, w, st, 0).Mean)
		nb := math.Min(n*dec/(dec+pre), bmax)
		if math.Abs(nb-b) < 1e-3 {
			break
		}
		b = (b + nb) / 2
	}
	return st, "load"
}

// rateState solves Little's law for the decode batch under Poisson
// arrivals: b = λ·(O/τ)·T̄(b), with at evaluating the instance at a batch
// (mixedAt for an aggregated instance, decodeAt for a decode pool's). It
// reports saturation when even the largest batch cannot keep up.
func rateState(in *Instance, at func(*Instance, Workload, float64) mixedState, w Workload, lambda, bmax float64) (mixedState, bool) {
	g := func(b float64) (float64, mixedState) {
		st := at(in, w, b)
		return lambda*w.OutputTokens/in.tokensPerStep*st.mean - b, st
	}
	if v, st := g(bmax); v > 0 {
		return st, true
	}
	lo, hi := 0.0, bmax
	for i := 0; i < 50; i++ {
		mid := (lo + hi) / 2
		if v, _ := g(mid); v > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	_, st := g(math.Max(hi, 1e-3))
	return st, false
}

// sloState finds the largest batch whose TPOT and TTFT (at the arrival
// rate that sustains that batch) meet the target.
func sloState(in *Instance, w Workload, slo SLO, bmax float64) (mixedState, float64, bool) {
	meets := func(b float64) (mixedState, float64, bool) {
		st := mixedAt(in, w, b)
		lambda := st.completion
		if slo.TPOT > 0 && tpotOpen(in, w, st, lambda).At(slo.Percentile) > slo.TPOT {
			return st, lambda, false
		}
		if slo.TTFT > 0 && ttftMixed(in, w, st, lambda).At(slo.Percentile) > slo.TTFT {
			return st, lambda, false
		}
		return st, lambda, true
	}
	if st, l, ok := meets(bmax); ok {
		return st, l, true
	}
	if _, _, ok := meets(1); !ok {
		return mixedState{}, 0, false
	}
	lo, hi := 1.0, bmax
	for i := 0; i < 40; i++ {
		mid := (lo + hi) / 2
		if _, _, ok := meets(mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	st, l, _ := meets(lo)
	return st, l, true
}

// pinned is the decode batch of a batch_per_chip load: b per instance,
// capped (with a note) at the bmax that fit for the reason limit.
func pinned(res *Result, b, bmax float64, limit string) float64 {
	if b > bmax {
		res.Notes = append(res.Notes, fmt.Sprintf("decode batch %.0f per instance exceeds the %.0f that fit (%s); capped", b, bmax, limit))
		b = bmax
	}
	return math.Max(b, 1)
}
