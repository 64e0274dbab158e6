// Package serving builds a simulated deployment from the performance
// model: it times engine steps with perf, sizes each replica's KV cache
// with fit, takes scheduler defaults from the engine, and hands the whole
// to sim. The simulator itself does not import perf.
package serving

import (
	"fmt"

	"ersatz/internal/perf"
	"ersatz/internal/sim"
)

// Timer adapts a perf.Instance to sim.StepTimer. It is not safe for
// concurrent use (it reuses one batch); each simulation builds its own.
type Timer struct {
	in *perf.Instance
	b  perf.Batch
}

// NewTimer returns a step timer backed by in.
func NewTimer(in *perf.Instance) *Timer { return &Timer{in: in} }

// StepTime implements sim.StepTimer.
func (t *Timer) StepTime(b *sim.Batch) float64 {
	t.b = perf.Batch(*b)
	s := t.in.Step(&t.b)
	return float64(s.Total)
}

var _ sim.StepTimer = (*Timer)(nil)

// Pool is a set of identical replicas of one instance.
type Pool struct {
	Instance *perf.Instance
	Replicas int
	Router   sim.Router
	// Scheduler limits; 0 takes the engine's default from params.
	MaxNumSeqs          int
	MaxNumBatchedTokens int
	BlockTokens         int
	PrefixCaching       bool
}

// Deployment is an aggregated pool, or a prefill pool feeding a decode
// pool over a link when Prefill is set.
type Deployment struct {
	Pool    Pool // the mixed pool, or the decode pool
	Prefill *Pool
	// LinkBytesPerS is the KV-transfer bandwidth from one prefill replica
	// to the decode pool, per direction; LatencyS its fixed cost.
	LinkBytesPerS float64
	LatencyS      float64
	SLO           sim.SLO
}

// Config returns the simulator configuration. maxContext is the longest
// sequence the workload holds (prompt plus output), used to size the KV
// cache as the engine's memory profile would.
func Config(d Deployment, params *perf.Params, maxContext int) (sim.Config, error) {
	if params == nil {
		params = perf.DefaultParams()
	}
	pool, err := simPool("decode", d.Pool, params, maxContext)
	if err != nil {
		return sim.Config{}, err
	}
	cfg := sim.Config{Pool: pool, SLO: d.SLO}
	if d.Prefill == nil {
		return cfg, nil
	}
	pre, err := simPool("prefill", *d.Prefill, params, maxContext)
	if err != nil {
		return sim.Config{}, err
	}
	cfg.Prefill = &pre
	kv := d.Pool.Instance.Deployment()
	kvPerToken := kv.Model.KVBytesPerToken(kv.KV)
	if d.LinkBytesPerS <= 0 {
		return sim.Config{}, fmt.Errorf("disaggregated deployment: KV link bandwidth %g B/s: want a positive number", d.LinkBytesPerS)
	}
	cfg.Transfer = sim.Transfer{KVBytesPerToken: kvPerToken, LinkBytesPerS: d.LinkBytesPerS, LatencyS: d.LatencyS}
	return cfg, nil
}

func simPool(name string, p Pool, params *perf.Params, maxContext int) (sim.Pool, error) {
	if p.Instance == nil {
		return sim.Pool{}, fmt.Errorf("%s pool: no instance", name)
	}
	if p.Replicas < 1 {
		return sim.Pool{}, fmt.Errorf("%s pool: replicas %d: want at least 1", name, p.Replicas)
	}
	d := p.Instance.Deployment()
	cap, err := p.Instance.Capacity(maxContext)
	if err != nil {
		return sim.Pool{}, fmt.Errorf("%s pool: %w", name, err)
	}
	if cap.KVTokens <= 0 {
		return sim.Pool{}, fmt.Errorf("%s pool: %s on %s leaves no KV cache: %s", name, d.Model.ID, d.Chip.ID, cap.Reason)
	}
	eng := params.Engine(d.Engine)
	ec := sim.EngineConfig{
		MaxNumSeqs:          p.MaxNumSeqs,
		MaxNumBatchedTokens: p.MaxNumBatchedTokens,
		BlockTokens:         p.BlockTokens,
		KVTokens:            cap.KVTokens,
		PrefixCaching:       p.PrefixCaching,
	}
	if eng != nil && eng.KVReserve == perf.KVReserveCompletion {
		ec.ReserveCompletion = true
	}
	// Attention data parallelism runs DP schedulers inside one instance;
	// the simulator has one scheduler per replica, so it gets DP times the
	// per-rank limits.
	dp := max(d.DP, 1)
	// The pool's flags come first, then the limits the performance model
	// uses: the deployment's own (a case's engine_args), else the engine's
	// defaults for this device.
	seqs, tokens := p.Instance.Limits()
	if ec.MaxNumSeqs == 0 {
		ec.MaxNumSeqs = seqs * dp
	}
	if ec.MaxNumBatchedTokens == 0 {
		ec.MaxNumBatchedTokens = tokens * dp
	}
	ec.DisableChunkedPrefill = d.NoChunkedPrefill
	if s := d.Speculative; s != nil && s.DraftTokens > 0 {
		ec.SpecTokens = s.DraftTokens
		ec.SpecAcceptance = s.Acceptance
		if s.Acceptance == 0 && s.TokensPerStep > 1 {
			ec.SpecAcceptance = acceptanceFor(s.TokensPerStep, s.DraftTokens)
		}
	}
	return sim.Pool{Replicas: p.Replicas, Engine: ec, Timer: NewTimer(p.Instance), Router: p.Router}, nil
}

// acceptanceFor inverts tokens per step = 1 + a + a² + … + a^k for a, by
// bisection.
func acceptanceFor(tokensPerStep float64, k int) float64 {
	lo, hi := 0.0, 1.0
	for range 60 {
		a := (lo + hi) / 2
		sum, p := 1.0, 1.0
		for range k {
			p *= a
			sum += p
		}
		if sum < tokensPerStep {
			lo = a
		} else {
			hi = a
		}
	}
	return (lo + hi) / 2
}
