package sim

import "math"

// pool is the runtime state of a Pool.
type pool struct {
	name    string
	cfg     Pool
	engines []*engine
	rr      int
}

// route picks the replica for r.
func (p *pool) route(r *request) *engine {
	switch p.cfg.Router {
	case RoundRobin:
		e := p.engines[p.rr]
		p.rr = (p.rr + 1) % len(p.engines)
		return e
	case LeastKV:
		best, bestLoad := p.engines[0], math.Inf(1)
		for _, e := range p.engines {
			load := float64(e.kv.Used()+e.queuedBlock) / float64(e.kv.Capacity())
			if load < bestLoad || (load == bestLoad && e.outstanding() < best.outstanding()) {
				best, bestLoad = e, load
			}
		}
		return best
	case PrefixAffinity:
		least := p.leastOutstanding()
		if len(r.Hashes) == 0 {
			return least
		}
		k := min(p.cfg.AffinityBlocks, len(r.Hashes)) - 1
		e := p.engines[r.Hashes[k]%uint64(len(p.engines))]
		if e.outstanding() > least.outstanding()+p.cfg.AffinitySlack {
			return least
		}
		return e
	default:
		return p.leastOutstanding()
	}
}

// leastOutstanding returns the replica with the fewest outstanding
// requests, the lowest index among equals.
func (p *pool) leastOutstanding() *engine {
	best := p.engines[0]
	for _, e := range p.engines[1:] {
		if e.outstanding() < best.outstanding() {
			best = e
		}
	}
	return best
}
