// Package emulator is an OpenAI-compatible serving endpoint whose timing
// comes from the discrete-event simulator driven in real time: each
// request is submitted to a live simulation as it arrives, and its tokens
// are streamed when the simulated engine produces them. It stands in for
// vLLM (same routes, same Prometheus names) so that load generators,
// gateways and autoscalers can be tested without accelerators.
//
// Token counts use openai.CountTokens (4 bytes a token); the output text
// is synthetic, and every request generates exactly its max_tokens (the
// emulated model never emits EOS, as with vLLM's ignore_eos).
package emulator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ersatz/internal/sim"
	"ersatz/internal/workload"
)

// Defaults of Options.
const (
	DefaultMaxModelLen  = 8192
	DefaultMaxBodyBytes = 4 << 20
	DefaultMaxTokens    = 256
)

// Options configure an Emulator.
type Options struct {
	Sim   sim.Config // the deployment; its step timers must not be shared with another simulation
	Model string     // the served model name
	// MaxModelLen is the context limit: prompt plus max_tokens (vLLM's
	// --max-model-len); 0 means DefaultMaxModelLen.
	MaxModelLen int
	// MaxBodyBytes caps a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DefaultMaxTokens is the output length of a request without
	// max_tokens; 0 means DefaultMaxTokens.
	DefaultMaxTokens int
	// TimeScale runs the emulated engine this many times faster than the
	// clock; 0 means 1. Metrics and simulated latencies stay in emulated
	// seconds, so a client sees them divided by TimeScale.
	TimeScale float64
	Clock     Clock  // nil means RealClock
	Seed      uint64 // drives speculative-decoding acceptance
}

// Emulator is an http.Handler serving the OpenAI API. Start its engine
// with Run before serving.
type Emulator struct {
	opt     Options
	clock   Clock
	start   time.Time
	mux     *http.ServeMux
	metrics *metrics
	wake    chan struct{}

	mu       sync.Mutex
	live     *sim.Live
	streams  map[int64]*stream
	nextID   int64
	nowS     float64 // latest emulated time handed to live
	draining bool
	err      error // the simulation's failure, if any
}

// stream is one request's progress, written by the engine under mu.
type stream struct {
	input, output int
	generated     int
	lastS         float64
	done          bool
	rec           sim.Record
	notify        chan struct{} // cap 1: "something changed"
}

// New returns an emulator of o's deployment.
func New(o Options) (*Emulator, error) {
	if o.MaxModelLen == 0 {
		o.MaxModelLen = DefaultMaxModelLen
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.DefaultMaxTokens == 0 {
		o.DefaultMaxTokens = DefaultMaxTokens
	}
	if o.TimeScale == 0 {
		o.TimeScale = 1
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	switch {
	case o.Model == "":
		return nil, errors.New("emulator: model name: want one (got \"\")")
	case o.MaxModelLen < 2:
		return nil, fmt.Errorf("emulator: max model len: want ≥ 2 tokens (got %d)", o.MaxModelLen)
	case !(o.TimeScale > 0) || math.IsInf(o.TimeScale, 0):
		return nil, fmt.Errorf("emulator: time scale: want a positive finite factor (got %g)", o.TimeScale)
	case o.MaxBodyBytes < 1 || o.DefaultMaxTokens < 1:
		return nil, fmt.Errorf("emulator: max body bytes %d, default max tokens %d: want both ≥ 1", o.MaxBodyBytes, o.DefaultMaxTokens)
	}
	e := &Emulator{opt: o, clock: o.Clock, streams: map[int64]*stream{}, wake: make(chan struct{}, 1)}
	live, err := sim.NewLive(o.Sim, rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), e.onToken, sim.RecordFunc(e.onRecord))
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e.live = live
	e.start = e.clock.Now()
	e.metrics = newMetrics(o.Model, e.gauges)
	e.mux = http.NewServeMux()
	e.mux.HandleFunc("POST /v1/completions", e.completions)
	e.mux.HandleFunc("POST /v1/chat/completions", e.chat)
	e.mux.HandleFunc("GET /v1/models", e.models)
	e.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	e.mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"version":"ersatz-emulator"}`)
	})
	e.mux.Handle("GET /metrics", promhttp.HandlerFor(e.metrics.reg, promhttp.HandlerOpts{}))
	e.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found_error", fmt.Sprintf("no route %s %s", r.Method, r.URL.Path), nil)
	})
	return e, nil
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// emulatedNow is the emulated time, never earlier than the last handed to
// the simulation. Call with mu held.
func (e *Emulator) emulatedNow() float64 {
	t := e.clock.Now().Sub(e.start).Seconds() * e.opt.TimeScale
	e.nowS = max(e.nowS, t)
	return e.nowS
}

// Run drives the simulated engine in real time until ctx ends: it runs
// every event that is due, then sleeps until the next one or a new
// request. It returns ctx's error, or the simulation's if it fails.
func (e *Emulator) Run(ctx context.Context) error {
	for {
		e.mu.Lock()
		now := e.emulatedNow()
		err := e.live.RunUntil(now)
		next := e.live.NextS()
		if err != nil {
			e.failLocked(err)
		}
		e.mu.Unlock()
		if err != nil {
			return err
		}
		var due <-chan time.Time
		if !math.IsInf(next, 1) {
			// Round up, so that a wait never ends before the event is due
			// (a zero wait would spin under a fake clock that only moves
			// when every goroutine is blocked).
			d := time.Duration(math.Ceil((next - now) / e.opt.TimeScale * 1e9))
			due = e.clock.After(max(d, 1))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.wake:
		case <-due:
		}
	}
}

// failLocked ends every stream: the simulation cannot go on.
func (e *Emulator) failLocked(err error) {
	e.err = err
	for _, st := range e.streams {
		st.done = true
		signal(st.notify)
	}
}

// Drain stops admitting requests (new ones get 503) so that in-flight
// streams can finish, as a SIGTERM'd server does.
func (e *Emulator) Drain() {
	e.mu.Lock()
	e.draining = true
	e.mu.Unlock()
}

// InFlight is the number of requests admitted and not yet finished.
func (e *Emulator) InFlight() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.streams)
}

func (e *Emulator) gauges() sim.Gauges {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.live.Gauges()
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// onToken runs under mu, from the simulation.
func (e *Emulator) onToken(id int64, generated int, nowS float64) {
	st := e.streams[id]
	if st == nil {
		return
	}
	if st.generated > 0 {
		e.metrics.interToken(nowS - st.lastS)
	}
	st.generated, st.lastS = generated, nowS
	signal(st.notify)
}

// onRecord runs under mu, from the simulation.
func (e *Emulator) onRecord(r *sim.Record) {
	st := e.streams[r.ID]
	if st == nil {
		return
	}
	st.rec, st.done = *r, true
	if !r.Rejected {
		e.metrics.finished(r)
	}
	signal(st.notify)
}

// errDraining and errRejected are admission failures.
var (
	errDraining = errors.New("the server is shutting down")
	errRejected = errors.New("the request can never fit the KV cache of this deployment")
)

// admit submits a request of input and output tokens and returns its id
// and stream.
func (e *Emulator) admit(input, output int) (int64, *stream, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.draining {
		return 0, nil, errDraining
	}
	if e.err != nil {
		return 0, nil, e.err
	}
	e.nextID++
	id := e.nextID
	st := &stream{input: input, output: output, notify: make(chan struct{}, 1)}
	e.streams[id] = st
	now := e.emulatedNow()
	err := e.live.RunUntil(now)
	if err == nil {
		err = e.live.Submit(workload.Request{ID: id, ArrivalS: now, Input: input, Output: output})
	}
	if err == nil {
		err = e.live.RunUntil(now) // the arrival itself: routing, or rejection
	}
	if err != nil {
		e.failLocked(err)
		delete(e.streams, id)
		return 0, nil, err
	}
	if st.done && st.rec.Rejected {
		delete(e.streams, id)
		return 0, nil, errRejected
	}
	signal(e.wake)
	return id, st, nil
}

// progress reads a stream's state.
func (e *Emulator) progress(st *stream) (generated int, done bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return st.generated, st.done, e.err
}

// release forgets a request. One abandoned by its client keeps running in
// the simulation (the emulator does not abort requests), as its tokens
// would have been computed by the time a real engine noticed.
func (e *Emulator) release(id int64) {
	e.mu.Lock()
	delete(e.streams, id)
	e.mu.Unlock()
}
