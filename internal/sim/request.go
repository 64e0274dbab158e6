package sim

import (
	"ersatz/internal/kvcache"
	"ersatz/internal/workload"
)

// request is a request in flight. Requests are pooled: a finished one is
// reset and reused for a later arrival, keeping its slices' capacity.
type request struct {
	workload.Request
	gen         int // tokens generated so far
	computed    int // tokens whose KV is in the current replica's cache
	cached      int // prompt tokens taken from the prefix cache at the last admission
	preemptions int
	firstS      float64 // first token time
	lastS       float64 // latest token time
	kv          kvcache.Seq
	eng         *engine // the replica holding it (waiting, running or receiving)
	prefill     *engine // the prefill replica, when disaggregated
	sched       int     // tokens scheduled this step
	done        bool    // leaves the running list at the end of this step
}

// prefilling reports whether the next step computes prompt (or, after a
// preemption, recomputed) tokens rather than decoding. A sequence one token
// short of its full context is decoding: computing that token and sampling
// the next is exactly a decode step.
func (r *request) prefilling() bool {
	return r.gen == 0 || r.Input+r.gen-r.computed > 1
}

type requestPool struct{ free []*request }

func (p *requestPool) get() *request {
	if n := len(p.free); n > 0 {
		r := p.free[n-1]
		p.free = p.free[:n-1]
		return r
	}
	return new(request)
}

func (p *requestPool) put(r *request) {
	hashes, kv := r.Hashes[:0], r.kv
	*r = request{kv: kv}
	r.Hashes = hashes
	p.free = append(p.free, r)
}
