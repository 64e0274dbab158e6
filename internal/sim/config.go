package sim

import (
	"fmt"
	"math"
	"strings"

	"ersatz/internal/kvcache"
)

// Scheduler defaults, as in vLLM V1 on a large GPU.
const (
	DefaultMaxNumBatchedTokens = 8192
	DefaultMaxNumSeqs          = 256
	DefaultAffinitySlack       = 8
)

// EngineConfig is one replica's scheduler and KV cache.
type EngineConfig struct {
	MaxNumBatchedTokens int // token budget per step; 0 means DefaultMaxNumBatchedTokens
	MaxNumSeqs          int // running sequences at most; 0 means DefaultMaxNumSeqs
	BlockTokens         int // KV block size; 0 means kvcache.DefaultBlockTokens
	KVTokens            int // KV capacity in tokens (rounded down to whole blocks); required
	// DisableChunkedPrefill schedules each prompt whole. As vLLM requires
	// max_num_batched_tokens ≥ max_model_len then, requests whose input plus
	// output exceed the budget are rejected (only the input must fit when
	// the engine reserves to completion and so never recomputes).
	DisableChunkedPrefill bool
	PrefixCaching         bool    // share cached prompt blocks named by Request.Hashes
	SpecTokens            int     // draft tokens per decode step; 0 disables speculative decoding
	SpecAcceptance        float64 // probability each draft token is accepted, given the previous were
	// ReserveCompletion admits a request only when the KV blocks for its
	// whole prompt and output are free, and holds them from the start
	// (TensorRT-LLM's GUARANTEED_NO_EVICT): no preemption, fewer running.
	ReserveCompletion bool
}

func (c EngineConfig) normalise(pool string) (EngineConfig, error) {
	if c.MaxNumBatchedTokens == 0 {
		c.MaxNumBatchedTokens = DefaultMaxNumBatchedTokens
	}
	if c.MaxNumSeqs == 0 {
		c.MaxNumSeqs = DefaultMaxNumSeqs
	}
	if c.BlockTokens == 0 {
		c.BlockTokens = kvcache.DefaultBlockTokens
	}
	switch {
	case c.MaxNumBatchedTokens < 1:
		return c, fmt.Errorf("sim: %s pool: max num batched tokens: want ≥ 1 (got %d)", pool, c.MaxNumBatchedTokens)
	case c.MaxNumSeqs < 1:
		return c, fmt.Errorf("sim: %s pool: max num seqs: want ≥ 1 (got %d)", pool, c.MaxNumSeqs)
	case c.BlockTokens < 1:
		return c, fmt.Errorf("sim: %s pool: block tokens: want ≥ 1 (got %d)", pool, c.BlockTokens)
	case c.KVTokens < c.BlockTokens:
		return c, fmt.Errorf("sim: %s pool: KV tokens: want at least one block of %d (got %d)", pool, c.BlockTokens, c.KVTokens)
	case c.SpecTokens < 0:
		return c, fmt.Errorf("sim: %s pool: spec tokens: want ≥ 0 (got %d)", pool, c.SpecTokens)
	case !(c.SpecAcceptance >= 0 && c.SpecAcceptance <= 1):
		return c, fmt.Errorf("sim: %s pool: spec acceptance: want a probability in [0, 1] (got %v)", pool, c.SpecAcceptance)
	}
	return c, nil
}

// Router picks a replica for each request.
type Router int

const (
	// RoundRobin cycles through the replicas.
	RoundRobin Router = iota
	// LeastOutstanding picks the replica with the fewest requests waiting,
	// running or arriving by KV transfer.
	LeastOutstanding
	// LeastKV picks the replica with the least KV load: blocks in use plus
	// blocks its queued requests will need, as a fraction of capacity.
	// Counting the queue keeps a burst from all landing on one replica
	// before any of it is scheduled.
	LeastKV
	// PrefixAffinity sends requests sharing a prompt prefix to the same
	// replica (chosen by hash), so prefix caching hits; requests without
	// hashes, or whose replica is overloaded (AffinitySlack), go to the one
	// with the least outstanding requests.
	PrefixAffinity
)

var routerNames = [...]string{"round-robin", "least-outstanding", "least-kv", "prefix-affinity"}

func (r Router) String() string {
	if r >= 0 && int(r) < len(routerNames) {
		return routerNames[r]
	}
	return fmt.Sprintf("Router(%d)", int(r))
}

// ParseRouter accepts a Router's String form.
func ParseRouter(s string) (Router, error) {
	for i, n := range routerNames {
		if s == n {
			return Router(i), nil
		}
	}
	return 0, fmt.Errorf("sim: router: want one of %s (got %q)", strings.Join(routerNames[:], ", "), s)
}

// Pool is a set of identical replicas behind one router.
type Pool struct {
	Replicas int
	Engine   EngineConfig
	Timer    StepTimer
	Router   Router
	// AffinityBlocks is how many leading prompt blocks PrefixAffinity keys
	// on (0 means 1, the first block). Keying on more blocks separates
	// prompts that all open with the same short system preamble.
	AffinityBlocks int
	// AffinitySlack is how many more outstanding requests the affinity
	// replica may have than the least loaded one before PrefixAffinity
	// falls back to the least loaded; 0 means DefaultAffinitySlack.
	AffinitySlack int
}

func (p Pool) normalise(name string) (Pool, error) {
	if p.Replicas < 1 {
		return p, fmt.Errorf("sim: %s pool: replicas: want ≥ 1 (got %d)", name, p.Replicas)
	}
	if p.Timer == nil {
		return p, fmt.Errorf("sim: %s pool: step timer: want one (got nil)", name)
	}
	if p.Router < RoundRobin || p.Router > PrefixAffinity {
		return p, fmt.Errorf("sim: %s pool: router: want a known policy (got %v)", name, p.Router)
	}
	if p.AffinityBlocks < 0 || p.AffinitySlack < 0 {
		return p, fmt.Errorf("sim: %s pool: affinity blocks %d, slack %d: want both ≥ 0", name, p.AffinityBlocks, p.AffinitySlack)
	}
	if p.AffinityBlocks == 0 {
		p.AffinityBlocks = 1
	}
	if p.AffinitySlack == 0 {
		p.AffinitySlack = DefaultAffinitySlack
	}
	var err error
	p.Engine, err = p.Engine.normalise(name)
	return p, err
}

// Transfer is the link a prefill replica sends KV caches over. Each prefill
// replica has its own link (its NIC), and its transfers use it one at a
// time, first in first out: with equal sizes FIFO finishes the batch no
// later than processor sharing and is simpler to reason about, at the cost
// of a short transfer waiting behind a long one.
type Transfer struct {
	KVBytesPerToken float64 // KV cache bytes per prompt token, all layers
	LinkBytesPerS   float64 // link bandwidth, one direction
	LatencyS        float64 // fixed per-transfer latency, not occupying the link
}

// SLO is a per-request service-level objective for goodput; a zero field
// places no bound.
type SLO struct {
	TTFTS float64
	TPOTS float64
}

// Config is a whole serving deployment.
type Config struct {
	// Pool is the serving replicas, or the decode pool when Prefill is set.
	Pool Pool
	// Prefill, when set, disaggregates serving: prompts run on this pool,
	// which produces each request's first token, then the KV cache goes over
	// Transfer to a replica of Pool for the remaining tokens.
	Prefill  *Pool
	Transfer Transfer
	SLO      SLO
}

func (c Config) normalise() (Config, error) {
	var err error
	name := "serving"
	if c.Prefill != nil {
		name = "decode"
		p, err := c.Prefill.normalise("prefill")
		if err != nil {
			return c, err
		}
		c.Prefill = &p
		t := c.Transfer
		if !(t.LinkBytesPerS > 0) || !(t.KVBytesPerToken >= 0) || !(t.LatencyS >= 0) ||
			math.IsInf(t.KVBytesPerToken+t.LatencyS, 0) {
			return c, fmt.Errorf("sim: transfer: want link bandwidth > 0, KV bytes per token ≥ 0 and latency ≥ 0, finite (got %v B/s, %v B/token, %v s)",
				t.LinkBytesPerS, t.KVBytesPerToken, t.LatencyS)
		}
	}
	if c.Pool, err = c.Pool.normalise(name); err != nil {
		return c, err
	}
	if !(c.SLO.TTFTS >= 0) || !(c.SLO.TPOTS >= 0) {
		return c, fmt.Errorf("sim: SLO: want TTFT and TPOT bounds ≥ 0 (got %v s, %v s)", c.SLO.TTFTS, c.SLO.TPOTS)
	}
	return c, nil
}
