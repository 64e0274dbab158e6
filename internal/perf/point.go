package perf

import "math"

// Point is an aggregated instance's steady state at one decode batch: the
// unit the planner screens. (Written for internal/plan; Serve solves for
// the batch, At evaluates a given one.)
type Point struct {
	Batch      float64
	TPOT, TTFT Latency
	// Rate is the requests per second the instance completes at this
	// batch; OutputTPS the output tokens per second.
	Rate, OutputTPS float64
	// Step is the decode-only step, Mixed the step that carries a prefill
	// chunk, MixedShare the share of steps that do.
	Step, Mixed Step
	MixedShare  float64
}

// MaxBatch is the largest decode batch an aggregated instance holds for w,
// and what limits it: KV capacity, the engine's sequence cap, or the token
// budget every step needs for its share of prefill.
func (in *Instance) MaxBatch(w Workload) (float64, string, error) {
	bmax, limit, err := in.decodeBatch(w)
	if err != nil {
		return 0, "", err
	}
	iEff := w.InputTokens * (1 - w.PrefixHit)
	if w.ContextTokens <= 0 && iEff > 0 && w.OutputTokens > 0 {
		q := 1 + in.draftTokens
		bb := float64(in.maxBatchTokens*in.d.DP) / (in.tokensPerStep*iEff/w.OutputTokens + q)
		if bb < bmax {
			bmax, limit = bb, "prefill budget"
		}
	}
	return bmax, limit, nil
}

// At evaluates an aggregated instance at decode batch b with Poisson
// arrivals of lambda requests per second (0: the rate batch b sustains).
func (in *Instance) At(w Workload, b, lambda float64) Point {
	if w.OutputTokens <= 0 {
		w.OutputTokens = 1
	}
	st := mixedAt(in, w, math.Max(b, 1))
	if lambda <= 0 {
		lambda = st.completion
	}
	return Point{
		Batch:      st.b,
		TPOT:       tpotOpen(in, w, st, lambda),
		TTFT:       ttftMixed(in, w, st, lambda),
		Rate:       st.completion,
		OutputTPS:  st.b * in.tokensPerStep / st.mean,
		Step:       st.pure,
		Mixed:      st.mix,
		MixedShare: st.share,
	}
}

// decodeBatch is the largest decode batch the KV cache and the sequence
// cap allow for w: sequences hold input + output/2 tokens on average (all
// of input + output where the scheduler reserves to completion, or the
// given context of a decode-only workload).
func (in *Instance) decodeBatch(w Workload) (float64, string, error) {
	peak := w.InputTokens + w.OutputTokens
	mean := w.InputTokens + w.OutputTokens/2
	if w.ContextTokens > 0 {
		peak, mean = w.ContextTokens, w.ContextTokens
	}
	if in.eng.KVReserve == KVReserveCompletion {
		// The scheduler reserves each request's blocks to completion at
		// admission, so the cache holds every sequence at its full length.
		mean = peak
	}
	return in.maxBatch(mean, peak)
}
