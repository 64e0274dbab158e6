package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"ersatz/internal/workload"
)

// Live is a simulation driven from outside, in step with a clock the
// caller owns: requests are submitted as they arrive, and events run up to
// a time the caller names. It lets an emulator serve real requests with
// the simulator's timing. A Live is not safe for concurrent use; one
// goroutine owns it.
//
// Token times come from the same engine code as Run, so a Live fed the
// arrivals of a Run's source produces the same records.
type Live struct {
	s     *simulation
	queue []workload.Request
	lastS float64
}

// TokenFunc is told each time a request's generated tokens grow: its ID,
// the tokens generated so far, and the simulated time. With speculative
// decoding one call may add several tokens.
type TokenFunc func(id int64, generated int, nowS float64)

// NewLive returns a live simulation of cfg. onToken (which may be nil)
// hears every token as it is produced, sink every finished or rejected
// request's record.
func NewLive(cfg Config, rng *rand.Rand, onToken TokenFunc, sink RecordSink) (*Live, error) {
	cfg, err := cfg.normalise()
	if err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("sim: rng: want a seeded *rand.Rand (got nil)")
	}
	l := &Live{}
	s, err := newSimulation(cfg, (*liveSource)(l), rng, sink)
	if err != nil {
		return nil, err
	}
	s.onEmit = onToken
	l.s = s
	return l, nil
}

// liveSource hands the simulation the submitted requests, one at a time;
// it is empty between submissions, which the simulation tolerates because
// it pulls again on every arrival.
type liveSource Live

func (ls *liveSource) Next(r *workload.Request) bool {
	if len(ls.queue) == 0 {
		return false
	}
	q := ls.queue[0]
	ls.queue = ls.queue[1:]
	h := append(r.Hashes[:0], q.Hashes...)
	*r = q
	r.Hashes = h
	return true
}

func (ls *liveSource) Err() error { return nil }

// Submit schedules r's arrival at r.ArrivalS, which must not precede the
// previous arrival nor the simulated present. Its Hashes are copied.
func (l *Live) Submit(r workload.Request) error {
	if !(r.ArrivalS >= l.lastS && r.ArrivalS >= l.s.now) || math.IsInf(r.ArrivalS, 0) {
		return fmt.Errorf("sim: request %d: arrival: want a finite time ≥ %g s (got %g s)", r.ID, max(l.lastS, l.s.now), r.ArrivalS)
	}
	l.lastS = r.ArrivalS
	r.Hashes = append([]uint64(nil), r.Hashes...)
	l.queue = append(l.queue, r)
	if len(l.queue) == 1 {
		// The source was drained: nothing of ours is in the event heap,
		// so pull now (otherwise the next arrival's handling pulls it).
		if !l.arrivalQueued() {
			l.s.pull()
		}
	}
	return l.s.err
}

// arrivalQueued reports whether an arrival event is waiting in the heap;
// the simulation keeps at most one read-ahead arrival.
func (l *Live) arrivalQueued() bool {
	for _, ev := range l.s.events {
		if ev.kind == evArrival {
			return true
		}
	}
	return false
}

// NextS is the time of the next event, or +Inf when nothing is scheduled.
func (l *Live) NextS() float64 {
	if len(l.s.events) == 0 {
		return math.Inf(1)
	}
	return l.s.events[0].t
}

// RunUntil runs every event at or before t, and moves the simulated
// present to t.
func (l *Live) RunUntil(t float64) error {
	s := l.s
	for len(s.events) > 0 && s.events[0].t <= t && s.err == nil {
		s.next()
	}
	if s.err == nil && t > s.now && s.started {
		s.advance(t)
	}
	return s.err
}

// Gauges are the instantaneous state a serving engine exports.
type Gauges struct {
	Running  int     // sequences in running lists, all replicas
	Waiting  int     // requests waiting for admission
	KVUse    float64 // KV blocks in use over capacity, all replicas together
	InFlight int     // requests arrived and not yet finished or rejected
}

// Gauges returns the present state.
func (l *Live) Gauges() Gauges {
	g := Gauges{Waiting: l.s.waiting, InFlight: l.s.inSystem}
	used, capacity := 0, 0
	for _, e := range l.s.engines {
		g.Running += len(e.running)
		used += e.kv.Used()
		capacity += e.kv.Capacity()
	}
	if capacity > 0 {
		g.KVUse = float64(used) / float64(capacity)
	}
	return g
}

// Summary returns the aggregate outcome so far.
func (l *Live) Summary() *Summary { return l.s.summary() }
