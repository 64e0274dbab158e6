package workload

import (
	"fmt"
	"math/rand/v2"

	"ersatz/internal/kvcache"
)

// GeneratorConfig describes a synthetic workload.
type GeneratorConfig struct {
	Arrivals Arrivals
	Input    Lengths
	Output   Lengths
	// Count caps the requests generated; 0 means until Arrivals ends
	// (never, for the synthetic processes).
	Count int
	// PrefixGroups > 0 gives every prompt a shared prefix of PrefixTokens
	// tokens drawn uniformly from that many groups (a system prompt or a
	// few-shot template per tenant), so prefix caching has something to
	// hit. The rest of each prompt is unique. BlockTokens is the KV block
	// size the hashes are for (0 means kvcache.DefaultBlockTokens).
	PrefixGroups int
	PrefixTokens int
	BlockTokens  int
}

// Generator yields synthetic requests lazily; it holds no per-request state.
type Generator struct {
	cfg GeneratorConfig
	rng *rand.Rand
	n   int64
}

// NewGenerator checks cfg and returns a generator drawing from rng.
func NewGenerator(cfg GeneratorConfig, rng *rand.Rand) (*Generator, error) {
	switch {
	case cfg.Arrivals == nil:
		return nil, fmt.Errorf("workload: generator: arrivals: want a process (got none)")
	case cfg.Input == nil:
		return nil, fmt.Errorf("workload: generator: input lengths: want a distribution (got none)")
	case cfg.Output == nil:
		return nil, fmt.Errorf("workload: generator: output lengths: want a distribution (got none)")
	case cfg.Count < 0:
		return nil, fmt.Errorf("workload: generator: count: want ≥ 0 (got %d)", cfg.Count)
	case cfg.PrefixGroups < 0 || cfg.PrefixTokens < 0 || cfg.BlockTokens < 0:
		return nil, fmt.Errorf("workload: generator: prefix groups %d, prefix tokens %d, block tokens %d: want all ≥ 0",
			cfg.PrefixGroups, cfg.PrefixTokens, cfg.BlockTokens)
	case rng == nil:
		return nil, fmt.Errorf("workload: generator: rng: want a seeded *rand.Rand (got nil)")
	}
	if cfg.BlockTokens == 0 {
		cfg.BlockTokens = kvcache.DefaultBlockTokens
	}
	return &Generator{cfg: cfg, rng: rng}, nil
}

// Next implements Source. IDs count from 1.
func (g *Generator) Next(r *Request) bool {
	if g.cfg.Count > 0 && g.n >= int64(g.cfg.Count) {
		return false
	}
	t, ok := g.cfg.Arrivals.Next(g.rng)
	if !ok {
		return false
	}
	g.n++
	r.ID = g.n
	r.ArrivalS = t
	r.Input = g.cfg.Input.Sample(g.rng)
	r.Output = g.cfg.Output.Sample(g.rng)
	r.Hashes = r.Hashes[:0]
	if g.cfg.PrefixGroups > 0 {
		r.Hashes = g.prefixHashes(r.Hashes, r.Input)
	}
	return true
}

// prefixHashes appends the chained hashes of the prompt's full blocks: the
// first PrefixTokens tokens named by the group, the rest by the request.
func (g *Generator) prefixHashes(dst []uint64, input int) []uint64 {
	group := uint64(g.rng.IntN(g.cfg.PrefixGroups))
	full := input / g.cfg.BlockTokens
	shared := g.cfg.PrefixTokens / g.cfg.BlockTokens
	var h uint64
	for i := range full {
		var content uint64
		if i < shared {
			content = group<<32 | uint64(i) // same for every request in the group
		} else {
			content = 1<<63 | uint64(g.n)<<24 | uint64(i) // unique to this request
		}
		h = kvcache.ChainHash(h, content)
		dst = append(dst, h)
	}
	return dst
}

// Err implements Source; it reports a trace-driven arrival source's error.
func (g *Generator) Err() error {
	if e, ok := g.cfg.Arrivals.(interface{ Err() error }); ok {
		return e.Err()
	}
	return nil
}
