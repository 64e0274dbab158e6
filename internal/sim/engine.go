package sim

import (
	"ersatz/internal/kvcache"
)

// engine is one replica: a vLLM-V1-style scheduler over a paged KV cache.
type engine struct {
	pool   *pool
	index  int // within the pool
	cfg    EngineConfig
	timer  StepTimer
	kv     *kvcache.Cache
	prefix bool // prefix caching on

	waiting queue
	running []*request // admission order, oldest first
	step    []*request // scheduled this step, a subsequence of running
	batch   Batch
	busy    bool
	dirty   bool // queued for a scheduling attempt at the end of this instant

	incoming    int // requests routed here whose KV is still in transfer
	queuedBlock int // blocks the waiting and incoming requests' contexts need (LeastKV)

	// Statistics.
	stepStartS  float64
	busyS       float64
	steps       int64
	served      int64
	preemptions int64
	kvLastS     float64
	kvFrac      float64
	kvIntegral  float64
	kvMax       float64
	link        link // this replica's outgoing KV link, in a prefill pool
}

// link is a FIFO transfer link: it is busy until freeS.
type link struct{ freeS float64 }

func (e *engine) outstanding() int { return e.waiting.len() + len(e.running) + e.incoming }

// kvMark integrates KV use up to now and samples the current use.
func (e *engine) kvMark(now float64) {
	e.kvIntegral += e.kvFrac * (now - e.kvLastS)
	e.kvLastS = now
	e.kvFrac = float64(e.kv.Used()) / float64(e.kv.Capacity())
	if e.kvFrac > e.kvMax {
		e.kvMax = e.kvFrac
	}
}

// enqueue puts a routed request in the waiting queue.
func (e *engine) enqueue(s *simulation, r *request) {
	e.waiting.pushBack(r)
	e.queuedBlock += e.kv.BlocksFor(r.Input + r.gen)
	s.waitingDelta(1)
	s.markDirty(e)
}

// want returns the tokens r would compute this step within budget > 0, or
// 0 if it cannot be scheduled whole when chunking is off.
func (e *engine) want(r *request, budget int) int {
	if r.prefilling() {
		n := r.Input + r.gen - r.computed
		if n > budget {
			if e.cfg.DisableChunkedPrefill {
				return 0
			}
			n = budget
		}
		return n
	}
	// One token to decode plus drafts, never drafting past the output.
	n := 1 + min(e.cfg.SpecTokens, r.Output-r.gen-1)
	return min(n, budget)
}

// schedule fills e.batch and e.step for a step starting now, as vLLM V1's
// scheduler does: running requests first in admission order (decodes and
// unfinished chunked prefills alike), preempting the newest running request
// whenever KV blocks run out, then, if nothing was preempted, waiting
// requests in order while budget, sequence slots and blocks last.
func (e *engine) schedule(s *simulation) bool {
	budget := e.cfg.MaxNumBatchedTokens
	e.batch = Batch{}
	e.step = e.step[:0]
	preempted := false
	for i := 0; i < len(e.running) && budget > 0; i++ {
		r := e.running[i]
		n := e.want(r, budget)
		for n > 0 && !e.kv.Allocate(&r.kv, r.computed+n) {
			victim := e.running[len(e.running)-1]
			e.preempt(s, victim)
			preempted = true
			if victim == r {
				n = 0
			}
		}
		if n == 0 {
			break
		}
		e.add(r, n)
		budget -= n
	}
	for !preempted && e.waiting.len() > 0 && len(e.running) < e.cfg.MaxNumSeqs && budget > 0 {
		r := e.waiting.front()
		var n int
		if r.computed > 0 {
			// KV arrived by transfer: the request decodes at once.
			n = e.want(r, budget)
			if !e.kv.Allocate(&r.kv, e.reserve(r, r.computed+n)) {
				break
			}
		} else {
			total := r.Input + r.gen
			var hashes []uint64
			hit := 0
			if e.prefix {
				hashes = r.Hashes
				// Keep one token to compute: its logits give the next token.
				hit = min(e.kv.Lookup(hashes), (total-1)/e.cfg.BlockTokens)
			}
			r.computed = hit * e.cfg.BlockTokens
			n = e.want(r, budget)
			if n == 0 {
				r.computed = 0
				break
			}
			if _, ok := e.kv.Start(&r.kv, hashes, hit, e.reserve(r, r.computed+n)); !ok {
				r.computed = 0
				break
			}
			r.cached = r.computed
		}
		e.waiting.popFront()
		e.queuedBlock -= e.kv.BlocksFor(r.Input + r.gen)
		s.waitingDelta(-1)
		e.running = append(e.running, r)
		e.add(r, n)
		budget -= n
	}
	return len(e.step) > 0
}

// reserve is the tokens of KV to hold for r on admission when it needs
// tokens now: all it can ever reach (prompt plus output) when the engine
// reserves to completion, so that it is never preempted.
func (e *engine) reserve(r *request, tokens int) int {
	if e.cfg.ReserveCompletion {
		return max(tokens, r.Input+r.Output)
	}
	return tokens
}

// add puts n tokens of r into this step's batch.
func (e *engine) add(r *request, n int) {
	r.sched = n
	e.step = append(e.step, r)
	b := &e.batch
	if r.prefilling() {
		b.PrefillSeqs++
		b.PrefillTokens += n
		b.PrefillKV += float64(n)*float64(r.computed) + float64(n)*float64(n)/2
	} else {
		b.DecodeSeqs++
		b.DecodeTokens += n
		b.DecodeKV += r.computed + n
	}
}

// preempt evicts r (the newest running request) back to the front of the
// waiting queue, freeing its blocks: vLLM V1's preemption by recompute.
func (e *engine) preempt(s *simulation, r *request) {
	e.running = e.running[:len(e.running)-1]
	e.kv.Free(&r.kv)
	r.computed = 0
	r.preemptions++
	e.preemptions++
	s.preemptions++
	e.waiting.pushFront(r)
	e.queuedBlock += e.kv.BlocksFor(r.Input + r.gen)
	s.waitingDelta(1)
}

// start tries to begin a step at now.
func (e *engine) start(s *simulation, now float64) {
	if e.schedule(s) {
		dt := e.timer.StepTime(&e.batch)
		if !(dt > 0) || dt > 1e12 {
			s.failStep(e, dt)
			return
		}
		e.busy = true
		e.stepStartS = now
		e.steps++
		s.events.push(event{t: now + dt, seq: s.nextSeq(), kind: evStepDone, eng: e})
	}
	e.kvMark(now)
}

// finish completes the step at now: prompt chunks advance, decodes emit
// their accepted tokens, finished and handed-off requests leave.
func (e *engine) finish(s *simulation, now float64) {
	e.busy = false
	e.busyS += now - e.stepStartS
	leaving := false
	for _, r := range e.step {
		n := r.sched
		r.sched = 0
		if r.prefilling() {
			r.computed += n
			if r.computed == r.Input+r.gen {
				s.emit(e, r, 1, now)
			}
		} else {
			// Drafts are accepted in order until the first rejection; the
			// target model's own token comes on top (the bonus token).
			accepted := 0
			switch acc := e.cfg.SpecAcceptance; {
			case acc >= 1:
				accepted = n - 1
			case acc > 0:
				for accepted < n-1 && s.rng.Float64() < acc {
					accepted++
				}
			}
			r.computed += 1 + accepted
			s.emit(e, r, 1+accepted, now)
		}
		if e.prefix {
			// Full prompt blocks become shareable once computed, also for
			// requests leaving now: their blocks stay cached after Free.
			e.kv.Commit(&r.kv, r.computed)
		}
		leaving = leaving || r.done
	}
	if leaving {
		kept := e.running[:0]
		for _, r := range e.running {
			if !r.done {
				kept = append(kept, r)
			}
		}
		clear(e.running[len(kept):])
		e.running = kept
	}
	for _, r := range e.step {
		if r.done {
			r.done = false
			s.leave(e, r, now)
		}
	}
	clear(e.step)
	e.step = e.step[:0]
	e.kvMark(now)
	s.markDirty(e)
}
