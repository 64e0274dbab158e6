package perf

import (
	"errors"
	"fmt"
	"math"

	"ersatz/internal/units"
)

// Workload is the mean request of a serving scenario.
type Workload struct {
	InputTokens  float64
	OutputTokens float64
	// PrefixHit is the share of prompt tokens already in the KV cache:
	// they are context but need no prefill compute.
	PrefixHit float64
	// ContextTokens, when set, is the KV length every decode sequence holds
	// (decode-only measurements); otherwise input + output/2.
	ContextTokens float64
}

// LoadKind says how the scenario is loaded.
type LoadKind int

// Load kinds. SLOOnly means "the most the deployment delivers while
// meeting the SLO".
const (
	Offline LoadKind = iota
	Concurrency
	Rate
	BatchPerChip
	SLOOnly
)

// Load is the scenario's load: one kind with its number, and an optional
// latency target.
type Load struct {
	Kind LoadKind
	// Concurrency is requests in flight over the whole deployment; Rate
	// Poisson arrivals per second over the whole deployment; Batch decode
	// sequences per chip of the decode (or mixed) pool.
	Concurrency, Rate, Batch float64
	SLO                      *SLO
}

// SLO is a latency target at a percentile (0 = mean).
type SLO struct {
	TTFT, TPOT units.Seconds // 0 = no target
	Percentile float64       // 0, 50, 90, 99 …
}

// Scenario is a deployment under a workload: Mixed instances (aggregated
// serving) or Prefill and Decode pools (disaggregated).
type Scenario struct {
	Mixed                     *Instance
	MixedCount                int
	Prefill, Decode           *Instance
	PrefillCount, DecodeCount int
	Workload                  Workload
	Load                      Load
}

// Latency is a distribution summary.
type Latency struct {
	Mean units.Seconds `json:"mean"`
	P90  units.Seconds `json:"p90"`
	P99  units.Seconds `json:"p99"`
}

// At returns the percentile p (0 means the mean; other values round to
// p90 or p99).
func (l Latency) At(p float64) units.Seconds {
	switch {
	case p <= 0 || p < 75:
		return l.Mean
	case p < 95:
		return l.P90
	}
	return l.P99
}

// Role is what a pool of instances serves.
type Role string

// Roles.
const (
	Mixed   Role = "mixed"   // aggregated serving: prefill and decode together
	Prefill Role = "prefill" // the prefill pool of a disaggregated deployment
	Decode  Role = "decode"  // the decode pool of a disaggregated deployment
)

// Pool is the steady state of one kind of instance.
type Pool struct {
	Role      Role    `json:"role"`
	Instances int     `json:"instances"`
	Chips     float64 `json:"chips"`
	// Batch is the decode sequences in flight per instance (prefill
	// tokens per step for a prefill pool) and BatchLimit what set it.
	Batch      float64 `json:"batch"`
	BatchLimit string  `json:"batch_limit"`
	// Throughput of the whole pool, tokens per second.
	InputTPS  float64 `json:"input_tokens_per_s"`
	OutputTPS float64 `json:"output_tokens_per_s"`
	// Step is the mean step's breakdown; Mixed the step that carries a
	// prefill chunk (aggregated) or the prefill step (prefill pool).
	Step       Step          `json:"step"`
	Mixed      Step          `json:"mixed_step"`
	MixedShare float64       `json:"mixed_share"` // share of steps that carry prefill
	MeanStep   units.Seconds `json:"mean_step"`
}

// Result is the steady-state prediction of a scenario.
type Result struct {
	Pools []Pool `json:"pools"`
	// Deployment-wide throughput, tokens per second.
	InputTPS  float64 `json:"input_tokens_per_s"`
	OutputTPS float64 `json:"output_tokens_per_s"`
	Chips     float64 `json:"chips"`
	TTFT      Latency `json:"ttft"`
	TPOT      Latency `json:"tpot"`
	// PerUser is a user's decode speed, tokens per second (1/TPOT).
	PerUser   float64  `json:"tokens_per_s_per_user"`
	Saturated bool     `json:"saturated"`
	Notes     []string `json:"notes,omitempty"`
}

// Pool returns the pool of a role, or nil.
func (r *Result) Pool(role Role) *Pool {
	for i := range r.Pools {
		if r.Pools[i].Role == role {
			return &r.Pools[i]
		}
	}
	return nil
}

// Serve predicts the steady state of a scenario.
func Serve(sc Scenario) (Result, error) {
	w := sc.Workload
	if w.InputTokens < 0 || w.OutputTokens <= 0 && w.ContextTokens <= 0 {
		return Result{}, errors.New("workload needs output_tokens > 0 (or context_tokens for a decode-only case)")
	}
	if w.PrefixHit < 0 || w.PrefixHit >= 1 {
		return Result{}, fmt.Errorf("prefix_cache_hit %g: want a fraction in [0, 1)", w.PrefixHit)
	}
	if w.OutputTokens <= 0 {
		w.OutputTokens = 1
	}
	sc.Workload = w
	if sc.Mixed != nil {
		return serveMixed(sc)
	}
	if sc.Prefill == nil || sc.Decode == nil {
		return Result{}, errors.New("a disaggregated scenario needs prefill and decode instances")
	}
	return serveDisagg(sc)
}

// z-scores of the normal percentiles used for TPOT spread.
const (
	z90 = 1.2816
	z99 = 2.3263
)

// mixedState is an aggregated instance's steady state at decode batch B.
type mixedState struct {
	b          float64
	pure, mix  Step
	solo       Step    // the prefill chunk alone, no decodes beside it
	share      float64 // steps carrying a prefill chunk
	mean       float64 // mean step, seconds
	chunk      float64 // prefill tokens in a mixed step
	completion float64 // requests finished per second
}

// mixedAt evaluates an aggregated instance at decode batch b. Continuous
// batching with chunked prefill: requests finish at b·τ/O per step, and
// the engine admits a new prompt as each slot frees, so every step needs
// b·τ/O·I' prefill tokens (I' the uncached prompt) on average, spread
// over the steps rather than bunched into full chunks. A share f of steps
// carry a prefill chunk and the rest decode only; the mean step is
// f·T(mixed) + (1−f)·T(decode).
func mixedAt(in *Instance, w Workload, b float64) mixedState {
	tau := in.tokensPerStep
	q := 1 + in.draftTokens
	ctx := w.InputTokens + w.OutputTokens/2
	if w.ContextTokens > 0 {
		ctx = w.ContextTokens
	}
	iEff := w.InputTokens * (1 - w.PrefixHit)
	keysPerPrefillTok := w.InputTokens*w.PrefixHit + iEff/2
	budget := float64(in.maxBatchTokens*in.d.DP) - b*q
	need := b * tau / w.OutputTokens * iEff
	st := mixedState{b: b}
	decode := Batch{
		DecodeSeqs:   roundUp(b),
		DecodeTokens: roundUp(b * q),
		DecodeKV:     int(b * ctx),
	}
	st.pure = in.Step(&decode)
	if need <= 0 || w.ContextTokens > 0 && w.InputTokens == 0 {
		st.mix, st.solo, st.mean = st.pure, st.pure, float64(st.pure.Total)
		st.completion = b * tau / w.OutputTokens / st.mean
		return st
	}
	// Slots free at p = b·τ/O requests per step and the engine admits
	// new prompts as they free, so prefill arrives spread over the steps,
	// not bunched: with p < 1 a share of the steps carry one prompt
	// (split into chunks where it exceeds the budget), with p ≥ 1 every
	// step carries p prompts' tokens.
	budget = math.Max(budget, 1)
	if in.d.NoChunkedPrefill {
		// Without chunked prefill a prompt is prefilled whole in one step.
		budget = math.Max(budget, iEff)
	}
	perPrompt := math.Ceil(iEff / budget) // steps one prompt's prefill spans
	p := need / iEff * perPrompt          // prompt chunks per step
	chunk := iEff / perPrompt
	seqs := 1.0
	if p >= 1 {
		chunk = math.Min(need, budget)
		seqs = p
		st.share = 1
	} else {
		st.share = p
	}
	st.chunk = chunk
	mixed := decode
	mixed.PrefillTokens = roundUp(chunk)
	mixed.PrefillSeqs = roundUp(seqs)
	mixed.PrefillKV = chunk * keysPerPrefillTok
	st.mix = in.Step(&mixed)
	if b < 8 {
		// At low load a prompt often finds the engine idle.
		alone := mixed
		alone.DecodeSeqs, alone.DecodeTokens, alone.DecodeKV = 0, 0, 0
		st.solo = in.Step(&alone)
	} else {
		st.solo = st.mix
	}
	st.mean = st.share*float64(st.mix.Total) + (1-st.share)*float64(st.pure.Total)
	st.completion = b * tau / w.OutputTokens / st.mean
	return st
}

func roundUp(x float64) int { return int(math.Ceil(x - 1e-9)) }

// tpot returns the time-per-output-token distribution at a state: a
// request's mean TPOT averages O/τ steps, of which a Binomial(O/τ, f)
// count carry a prefill chunk.
func tpot(in *Instance, w Workload, st mixedState) Latency {
	tau := in.tokensPerStep
	mean := st.mean / tau
	n := math.Max(w.OutputTokens/tau, 1)
	sd := math.Sqrt(st.share*(1-st.share)/n) * float64(st.mix.Total-st.pure.Total) / tau
	return Latency{
		Mean: units.Seconds(mean),
		P90:  units.Seconds(mean + z90*sd),
		P99:  units.Seconds(mean + z99*sd),
	}
}

// tpotOpen is a request's TPOT under Poisson arrivals of lambda per
// second. The steady state's mean step is a time average; a request sees
// two things the average does not. Its batch is size-biased: itself plus
// the others in flight, about b + 1 sequences where the average holds b.
// And its first decode step follows its own prefill step, a long one, so
// it more often carries the prompts that arrived meanwhile. A request's
// decode time D over n = (O−1)/τ steps counts the prompts that arrive
// from the start of its own prefill step to the start of its last step,
// each adding Δ = T(mixed) − T(decode):
//
//	D = n·T(b+1) + λΔ·(T_own + D − D/n)
//
// where T_own is its prefill step, itself length-biased: it also carries
// the prompts that arrived during the step before it, which an arrival
// finds with the length-biased mean E[T²]/E[T]. Solved for D/n. Only where
// a prompt's prefill is one chunk and not every step carries one; the
// spread is the time-average one, shifted.
func tpotOpen(in *Instance, w Workload, st mixedState, lambda float64) Latency {
	lat := tpot(in, w, st)
	tau := in.tokensPerStep
	n := (w.OutputTokens - 1) / tau
	iEff := w.InputTokens * (1 - w.PrefixHit)
	if lambda <= 0 || n < 1 || st.share <= 0 || st.share >= 1 || st.chunk < iEff {
		return lat
	}
	pure, mix := float64(st.pure.Total), float64(st.mix.Total)
	delta := mix - pure
	x := lambda * delta
	if x >= 1 {
		return lat
	}
	tagged := pure + decodeSlope(in, w, st.b) // the step at b + 1
	m2 := (st.share*mix*mix + (1-st.share)*pure*pure) / st.mean
	own := mix + lambda*m2*delta
	step := (n*tagged + x*own) / (n*(1-x) + x)
	shift := units.Seconds(step/tau) - lat.Mean
	if shift <= 0 {
		return lat
	}
	return Latency{Mean: lat.Mean + shift, P90: lat.P90 + shift, P99: lat.P99 + shift}
}

// decodeSlope is what one more decode sequence adds to the decode step at
// batch b, interpolated between the whole batches around b + 1 (the
// steady state evaluates the step at ⌈b⌉).
func decodeSlope(in *Instance, w Workload, b float64) float64 {
	ctx := w.InputTokens + w.OutputTokens/2
	if w.ContextTokens > 0 {
		ctx = w.ContextTokens
	}
	q := 1 + in.draftTokens
	at := func(seqs float64) float64 {
		return float64(in.Step(&Batch{DecodeSeqs: int(seqs), DecodeTokens: roundUp(seqs * q), DecodeKV: int(seqs * ctx)}).Total)
	}
	lo := math.Floor(b + 1)
	frac := b + 1 - lo
	t := at(lo)
	if frac > 1e-9 {
		t += frac * (at(lo+1) - t)
	}
	base := roundUp(b)
	return t - at(float64(base))
}

// queueWait is the M/D/1 waiting time for work of service time s at
// utilisation rho: mean ρs/(2(1−ρ)); its percentiles use the M/M/1 tail
// P(W>t) = ρ·exp(−(1−ρ)t/s), halved, because a deterministic server waits
// about half as long as an exponential one.
func queueWait(rho, s float64) (mean, p90, p99 float64) {
	if rho <= 0 || s <= 0 {
		return 0, 0, 0
	}
	if rho >= 1 {
		inf := math.Inf(1)
		return inf, inf, inf
	}
	mean = rho * s / (2 * (1 - rho))
	q := func(p float64) float64 {
		if rho <= 1-p {
			return 0
		}
		return s / (1 - rho) * math.Log(rho/(1-p)) / 2
	}
	return mean, q(0.9), q(0.99)
}

// ttftMixed returns TTFT at a state of an aggregated instance with arrivals
// at lambda per second: half a step waiting for the current one, the
// prefill queue (M/D/1 with the mixed steps' share f as utilisation), and
// the steps the prompt's prefill takes.
func ttftMixed(in *Instance, w Workload, st mixedState, lambda float64) Latency {
	iEff := w.InputTokens * (1 - w.PrefixHit)
	mixT := float64(st.mix.Total)
	steps := 1.0
	if st.chunk > 0 {
		steps = math.Max(1, math.Ceil(iEff/st.chunk))
	}
	service := mixT * math.Min(iEff/math.Max(st.chunk, 1), steps)
	rho := st.share
	if lambda > 0 && service > 0 {
		rho = math.Min(lambda*service, 0.999)
	}
	wm, w90, w99 := queueWait(rho, service)
	// A prompt waits for the step in flight and then shares its steps
	// with the decodes, unless it finds the engine idle: with b decodes in
	// flight (Poisson), that happens with chance e^(−b).
	busy := 1 - math.Exp(-st.b)
	base := busy*st.mean/2 + steps*(busy*mixT+(1-busy)*float64(st.solo.Total))
	return Latency{units.Seconds(base + wm), units.Seconds(base + w90), units.Seconds(base + w99)}
}

func serveMixed(sc Scenario) (Result, error) {
	in, w := sc.Mixed, sc.Workload
	count := max(sc.MixedCount, 1)
	bmax, limit, err := in.MaxBatch(w)
	if err != nil {
		return Result{}, err
	}
	res := Result{Chips: in.Chips() * float64(count)}
	var st mixedState
	lambda := 0.0 // arrivals per second per instance; 0 = closed loop
	switch sc.Load.Kind {
	case Offline:
		st = mixedAt(in, w, bmax)
	case BatchPerChip:
		st = mixedAt(in, w, pinned(&res, sc.Load.Batch*in.Chips(), bmax, limit))
		limit = "load"
	case Concurrency:
		st, limit = concurrencyState(in, w, sc.Load.Concurrency/float64(count), bmax, limit)
	case Rate:
		lambda = sc.Load.Rate / float64(count)
		var sat bool
		st, sat = rateState(in, mixedAt, w, lambda, bmax)
		if sat {
			res.Saturated = true
			res.Notes = append(res.Notes, fmt.Sprintf("arrivals of %.3g/s per instance exceed its capacity of %.3g/s; the queue grows without bound", lambda, st.completion))
		} else {
			limit = "load"
		}
	case SLOOnly:
		if sc.Load.SLO == nil {
			return Result{}, errors.New("no load and no SLO: nothing to size the batch by")
		}
		var ok bool
		st, lambda, ok = sloState(in, w, *sc.Load.SLO, bmax)
		if !ok {
			return Result{}, fmt.Errorf("no batch meets the SLO (TTFT %v, TPOT %v at p%g)", sc.Load.SLO.TTFT, sc.Load.SLO.TPOT, sc.Load.SLO.Percentile)
		}
		limit = "slo"
	}
	tau := in.tokensPerStep
	out := st.b * tau / st.mean
	res.OutputTPS = out * float64(count)
	res.InputTPS = res.OutputTPS * w.InputTokens / w.OutputTokens
	if w.ContextTokens > 0 && w.InputTokens == 0 {
		res.InputTPS = 0
	}
	res.TPOT = tpot(in, w, st)
	if sc.Load.Kind == Rate || sc.Load.Kind == SLOOnly {
		res.TPOT = tpotOpen(in, w, st, lambda)
	}
	res.PerUser = 1 / float64(res.TPOT.Mean)
	res.TTFT = ttftMixed(in, w, st, lambda)
	if sc.Load.Kind == Concurrency {
		// Closed loop: requests beyond the batch wait for a slot.
		n := sc.Load.Concurrency / float64(count)
		if n > st.b {
			extra := (n - st.b) / st.completion
			res.TTFT.Mean += units.Seconds(extra)
			res.TTFT.P90 += units.Seconds(extra)
			res.TTFT.P99 += units.Seconds(extra)
		}
	}
	res.Pools = []Pool{{
		Role: Mixed, Instances: count, Chips: res.Chips, Batch: st.b, BatchLimit: limit,
		InputTPS: res.InputTPS, OutputTPS: res.OutputTPS,
		Step: st.pure, Mixed: st.mix, MixedShare: st.share, MeanStep: units.Seconds(st.mean),
	}}
	return res, nil
}
