package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"ersatz/internal/kvcache"
	"ersatz/internal/workload"
)

// Run simulates serving src's requests on cfg's deployment and returns the
// summary. Each request's record goes to sink (which may be nil) as it
// finishes. rng drives speculative-decoding acceptance; equal inputs and
// equal rng states give identical records.
//
// Requests that no replica could ever serve are rejected on arrival and
// recorded with Rejected set: an empty prompt, a context (input plus
// output) larger than a pool's KV capacity, or, with chunked prefill off,
// larger than the step token budget. An output of 0 is served as 1 token:
// every admitted request yields at least its first token.
func Run(cfg Config, src workload.Source, rng *rand.Rand, sink RecordSink) (*Summary, error) {
	return run(cfg, src, rng, sink, nil, Stop{})
}

// run is Run with a hook called after every event, for invariant tests,
// and the stop conditions of RunStop.
func run(cfg Config, src workload.Source, rng *rand.Rand, sink RecordSink, hook func(*simulation), stop Stop) (*Summary, error) {
	cfg, err := cfg.normalise()
	if err != nil {
		return nil, err
	}
	if src == nil {
		return nil, errors.New("sim: workload source: want one (got nil)")
	}
	if rng == nil {
		return nil, errors.New("sim: rng: want a seeded *rand.Rand (got nil)")
	}
	s, err := newSimulation(cfg, src, rng, sink)
	if err != nil {
		return nil, err
	}
	s.pull()
	halted := false
	for len(s.events) > 0 && s.err == nil {
		if halted = stop.halt(); halted {
			break
		}
		if !s.draining && stop.drain() {
			s.draining = true
		}
		s.next()
		if hook != nil {
			hook(s)
		}
	}
	if s.err != nil {
		return nil, s.err
	}
	if err := src.Err(); err != nil {
		return nil, fmt.Errorf("sim: workload: %w", err)
	}
	if s.inSystem != 0 && !halted {
		return nil, fmt.Errorf("sim: %d requests neither finished nor were rejected (a scheduler bug)", s.inSystem)
	}
	sum := s.summary()
	sum.Interrupted = s.draining || halted
	sum.Unfinished = int64(s.inSystem)
	return sum, nil
}

// next runs the earliest event.
func (s *simulation) next() {
	ev := s.events.pop()
	if ev.kind == evArrival && s.draining {
		s.reqs.put(ev.req) // admission has stopped: the request never arrives
		return
	}
	s.advance(ev.t)
	switch ev.kind {
	case evArrival:
		s.arrive(ev.req)
	case evStepDone:
		ev.eng.finish(s, s.now)
	case evTransfer:
		s.transferred(ev.req)
	}
	// Engines start steps only once every event of this instant has
	// run, so simultaneous arrivals share a step.
	if len(s.events) == 0 || s.events[0].t > s.now {
		s.kick()
	}
}

// simulation is one run's state.
type simulation struct {
	cfg     Config
	src     workload.Source
	rng     *rand.Rand
	sink    RecordSink
	events  eventHeap
	seq     uint64
	now     float64
	serve   *pool // colocated replicas, or the decode pool
	prefill *pool // nil unless disaggregated
	engines []*engine
	dirty   []*engine
	reqs    requestPool
	err     error
	rec     Record
	// draining: admission has stopped (Stop.Drain); the source is not
	// read again and in-flight requests run to completion.
	draining bool
	onEmit   func(id int64, generated int, nowS float64) // Live's token hook; nil in Run

	started               bool
	startS, lastS         float64
	lastArrivalS          float64
	waiting, waitingMax   int
	inSystem              int
	waitInt, sysInt       float64
	arrived, finished     int64
	rejected, preemptions int64
	good                  int64
	inTok, outTok, cached int64
	ttft, tpot, itl, e2e  Sketch
	xfer                  Sketch
}

func newSimulation(cfg Config, src workload.Source, rng *rand.Rand, sink RecordSink) (*simulation, error) {
	s := &simulation{cfg: cfg, src: src, rng: rng, sink: sink}
	build := func(name string, pc Pool) (*pool, error) {
		p := &pool{name: name, cfg: pc}
		for i := range pc.Replicas {
			kv, err := kvcache.New(pc.Engine.KVTokens/pc.Engine.BlockTokens, pc.Engine.BlockTokens)
			if err != nil {
				return nil, fmt.Errorf("sim: %s pool: %w", name, err)
			}
			e := &engine{pool: p, index: i, cfg: pc.Engine, timer: pc.Timer, kv: kv, prefix: pc.Engine.PrefixCaching}
			p.engines = append(p.engines, e)
			s.engines = append(s.engines, e)
		}
		return p, nil
	}
	var err error
	if cfg.Prefill != nil {
		if s.prefill, err = build("prefill", *cfg.Prefill); err != nil {
			return nil, err
		}
		s.serve, err = build("decode", cfg.Pool)
	} else {
		s.serve, err = build("serving", cfg.Pool)
	}
	return s, err
}

func (s *simulation) nextSeq() uint64 { s.seq++; return s.seq }

// advance integrates the queue and in-system counts up to t.
func (s *simulation) advance(t float64) {
	if s.started {
		dt := t - s.lastS
		s.waitInt += float64(s.waiting) * dt
		s.sysInt += float64(s.inSystem) * dt
	}
	s.lastS = t
	s.now = t
}

func (s *simulation) waitingDelta(d int) {
	s.waiting += d
	if s.waiting > s.waitingMax {
		s.waitingMax = s.waiting
	}
}

func (s *simulation) markDirty(e *engine) {
	if !e.dirty {
		e.dirty = true
		s.dirty = append(s.dirty, e)
	}
}

// kick lets every engine touched this instant try to start a step.
func (s *simulation) kick() {
	for _, e := range s.dirty {
		e.dirty = false
		if !e.busy && s.err == nil {
			e.start(s, s.now)
		}
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
}

func (s *simulation) failStep(e *engine, dt float64) {
	s.err = fmt.Errorf("sim: %s replica %d: step time: want a positive finite number of seconds (got %v for batch %+v)",
		e.pool.name, e.index, dt, e.batch)
}

// pull reads the next request from the source and schedules its arrival;
// only one request is read ahead, so the source is consumed lazily.
func (s *simulation) pull() {
	if s.draining {
		return
	}
	r := s.reqs.get()
	if !s.src.Next(&r.Request) {
		s.reqs.put(r)
		return
	}
	t := r.ArrivalS
	if !(t >= s.lastArrivalS) || math.IsInf(t, 1) {
		s.err = fmt.Errorf("sim: request %d: arrival: want a finite time ≥ %g s, the previous arrival (got %g s)", r.ID, s.lastArrivalS, t)
		return
	}
	s.lastArrivalS = t
	s.events.push(event{t: t, seq: s.nextSeq(), kind: evArrival, req: r})
}

func (s *simulation) arrive(r *request) {
	if !s.started {
		s.started = true
		s.startS = s.now
		for _, e := range s.engines {
			e.kvLastS = s.now
		}
	}
	s.arrived++
	s.inSystem++
	if r.Output < 1 {
		r.Output = 1
	}
	if !s.servable(r) {
		s.rejected++
		s.inSystem--
		s.rec = Record{ID: r.ID, ArrivalS: r.ArrivalS, FirstTokenS: r.ArrivalS, FinishS: r.ArrivalS,
			Input: r.Input, Output: r.Output, Replica: -1, PrefillReplica: -1, Rejected: true}
		if s.sink != nil {
			s.sink.Record(&s.rec)
		}
		s.reqs.put(r)
	} else {
		p := s.serve
		if s.prefill != nil {
			p = s.prefill
		}
		r.eng = p.route(r)
		r.eng.enqueue(s, r)
	}
	s.pull()
}

// servable reports whether some replica could ever run r to completion.
func (s *simulation) servable(r *request) bool {
	// Without chunking a prompt must fit one step's budget; a preempted
	// request recomputes its output too, so unless the engine reserves to
	// completion (and never preempts) the whole sequence must.
	fits := func(c EngineConfig, tokens int) bool {
		whole := tokens
		if c.ReserveCompletion {
			whole = r.Input
		}
		return tokens <= c.KVTokens/c.BlockTokens*c.BlockTokens &&
			(!c.DisableChunkedPrefill || whole <= c.MaxNumBatchedTokens)
	}
	if r.Input < 1 {
		return false
	}
	if s.prefill != nil && !fits(s.prefill.cfg.Engine, r.Input+1) {
		return false
	}
	return fits(s.serve.cfg.Engine, r.Input+r.Output)
}

// emit delivers k tokens of r at now.
func (s *simulation) emit(e *engine, r *request, k int, now float64) {
	if r.gen == 0 {
		r.firstS = now
	} else {
		s.itl.Add(now - r.lastS)
	}
	r.gen += k
	r.lastS = now
	if s.onEmit != nil {
		s.onEmit(r.ID, r.gen, now)
	}
	if r.gen >= r.Output || e.pool == s.prefill {
		r.done = true
	}
}

// leave handles a request leaving e's running list at now: finished, or
// prefilled and bound for the decode pool.
func (s *simulation) leave(e *engine, r *request, now float64) {
	e.served++
	if r.gen >= r.Output {
		s.complete(e, r, now)
		return
	}
	// Disaggregated hand-off. The prefill replica keeps the KV blocks until
	// the transfer ends; the decode replica is chosen now, so the transfer
	// has a destination and the router sees the request as incoming.
	d := s.serve.route(r)
	r.prefill, r.eng = e, d
	d.incoming++
	d.queuedBlock += d.kv.BlocksFor(r.Input + r.gen)
	t := s.cfg.Transfer
	begin := max(now, e.link.freeS)
	e.link.freeS = begin + t.KVBytesPerToken*float64(r.Input)/t.LinkBytesPerS
	s.events.push(event{t: e.link.freeS + t.LatencyS, seq: s.nextSeq(), kind: evTransfer, req: r})
}

// transferred lands r's KV on its decode replica.
func (s *simulation) transferred(r *request) {
	p, d := r.prefill, r.eng
	p.kv.Free(&r.kv)
	p.kvMark(s.now)
	s.markDirty(p) // freed blocks may admit a waiting prompt
	s.xfer.Add(s.now - r.lastS)
	d.incoming--
	d.queuedBlock -= d.kv.BlocksFor(r.Input + r.gen)
	r.computed = r.Input + r.gen - 1 // the prompt's KV; the first token's is computed by the first decode
	d.enqueue(s, r)
}

// complete records a finished request and recycles it.
func (s *simulation) complete(e *engine, r *request, now float64) {
	e.kv.Free(&r.kv)
	s.finished++
	s.inSystem--
	s.inTok += int64(r.Input)
	s.outTok += int64(r.Output)
	s.cached += int64(r.cached)
	s.rec = Record{ID: r.ID, ArrivalS: r.ArrivalS, FirstTokenS: r.firstS, FinishS: now,
		Input: r.Input, Output: r.Output, Cached: r.cached, Preemptions: r.preemptions,
		Replica: e.index, PrefillReplica: -1}
	if r.prefill != nil {
		s.rec.PrefillReplica = r.prefill.index
	}
	rec := &s.rec
	ttft, tpot := rec.TTFTS(), rec.TPOTS()
	s.ttft.Add(ttft)
	s.e2e.Add(rec.E2ES())
	if r.Output > 1 {
		s.tpot.Add(tpot)
	}
	slo := s.cfg.SLO
	if (slo.TTFTS == 0 || ttft <= slo.TTFTS) && (slo.TPOTS == 0 || tpot <= slo.TPOTS) {
		s.good++
	}
	if s.sink != nil {
		s.sink.Record(rec)
	}
	s.reqs.put(r)
}
