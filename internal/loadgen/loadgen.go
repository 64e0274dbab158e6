// Package loadgen is a load generator for OpenAI-compatible serving
// endpoints, in the manner of `vllm bench serve`: it paces streaming
// requests by a workload's arrival times (Poisson, gamma, a trace) and/or
// a concurrency cap, measures each request's TTFT, TPOT, inter-token
// latencies and end-to-end latency on the client side, counts failures by
// kind without stopping, and summarises the run with vLLM's result names.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"ersatz/internal/openai"
	"ersatz/internal/workload"
)

// Endpoints.
const (
	EndpointCompletions = "/v1/completions"
	EndpointChat        = "/v1/chat/completions"
)

// Clock is the load generator's time source (a synctest bubble fakes the
// real one).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Item is one request to send: its arrival time (seconds from the start),
// its prompt and the output tokens to ask for.
type Item struct {
	workload.Request
	Prompt string
}

// Items yields the requests of a run in arrival order.
type Items interface {
	Next(it *Item) bool
	Err() error
}

// Synthetic turns a workload source into items with synthetic prompts of
// exactly Input tokens by openai.CountTokens.
type Synthetic struct{ Source workload.Source }

// Next implements Items.
func (s Synthetic) Next(it *Item) bool {
	if !s.Source.Next(&it.Request) {
		return false
	}
	it.Prompt = openai.SyntheticText(it.Input, uint64(it.ID))
	return true
}

// Err implements Items.
func (s Synthetic) Err() error { return s.Source.Err() }

// Config is one benchmark run.
type Config struct {
	URL      string // base URL, e.g. http://127.0.0.1:8000
	Endpoint string // EndpointCompletions or EndpointChat
	Model    string
	APIKey   string
	Items    Items
	// Concurrency caps requests in flight; 0 means no cap. With every
	// arrival at 0 (an infinite rate) it is a closed loop of N clients.
	Concurrency int
	// Duration stops issuing requests once this much time has passed;
	// 0 means none. Requests in flight finish.
	Duration time.Duration
	Timeout  time.Duration // per request; 0 means DefaultTimeout
	// IgnoreEOS asks the server for exactly max_tokens (vLLM's
	// ignore_eos, and min_tokens = max_tokens).
	IgnoreEOS bool
	Goodput   SLO
	Client    *http.Client // nil means a client sized for Concurrency
	Clock     Clock        // nil means the real clock
	// OnRecord hears every request as it finishes, one at a time.
	OnRecord func(*Record)
}

// DefaultTimeout is a request's limit when Config.Timeout is 0.
const DefaultTimeout = 10 * time.Minute

// SLO bounds goodput: a request is good when every set bound holds.
type SLO struct{ TTFTS, TPOTS, E2ELS float64 }

// Record is one request's measurement, in seconds.
type Record struct {
	ID              int64     `json:"id"`
	StartS          float64   `json:"start_s"` // since the run began
	InputTokens     int       `json:"input_tokens"`
	RequestedTokens int       `json:"requested_output_tokens"`
	OutputTokens    int       `json:"output_tokens"`
	TTFTS           float64   `json:"ttft_s"`
	TPOTS           float64   `json:"tpot_s"`
	E2ELS           float64   `json:"e2el_s"`
	ITLS            []float64 `json:"itl_s"`
	Status          int       `json:"status,omitempty"`
	Kind            string    `json:"error_kind,omitempty"`
	Error           string    `json:"error,omitempty"`
	started         time.Time
}

// OK reports whether the request succeeded.
func (r *Record) OK() bool { return r.Kind == "" }

func (r *Record) fail(kind string, err error) {
	if r.Kind == "" {
		r.Kind, r.Error = kind, err.Error()
	}
}

// Run sends cfg's requests and returns the summary. Cancelling ctx stops
// issuing requests and cancels those in flight (recorded as cancelled);
// the summary covers everything measured.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Items == nil {
		return nil, errors.New("loadgen: items: want a request source (got nil)")
	}
	if cfg.Endpoint != EndpointChat && cfg.Endpoint != EndpointCompletions {
		return nil, fmt.Errorf("loadgen: endpoint %q: want %s or %s", cfg.Endpoint, EndpointCompletions, EndpointChat)
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("loadgen: concurrency %d: want ≥ 0", cfg.Concurrency)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: &http.Transport{
			MaxIdleConns: 0, MaxIdleConnsPerHost: max(cfg.Concurrency, 256), IdleConnTimeout: 90 * time.Second,
			DisableCompression: true,
		}}
		defer cfg.Client.CloseIdleConnections()
	}
	agg := newAggregate(cfg.Goodput)
	var mu sync.Mutex // serialises OnRecord and the aggregate
	var wg sync.WaitGroup
	var slots chan struct{}
	if cfg.Concurrency > 0 {
		slots = make(chan struct{}, cfg.Concurrency)
	}
	start := cfg.Clock.Now()
	agg.start = start
	var it Item
	issued := 0
issue:
	for cfg.Items.Next(&it) {
		at := start.Add(time.Duration(it.ArrivalS * 1e9))
		if cfg.Duration > 0 && at.Sub(start) >= cfg.Duration {
			break
		}
		// The end of the run, as a channel: nil when there is no limit.
		var end <-chan time.Time
		if cfg.Duration > 0 {
			end = cfg.Clock.After(start.Add(cfg.Duration).Sub(cfg.Clock.Now()))
		}
		if d := at.Sub(cfg.Clock.Now()); d > 0 {
			select {
			case <-ctx.Done():
				break issue
			case <-cfg.Clock.After(d):
			}
		}
		if slots != nil {
			select {
			case <-ctx.Done():
				break issue
			case <-end:
				break issue
			case slots <- struct{}{}:
			}
		}
		if ctx.Err() != nil || (cfg.Duration > 0 && cfg.Clock.Now().Sub(start) >= cfg.Duration) {
			break
		}
		item := it
		item.Hashes = nil
		issued++
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := &Record{ID: item.ID, InputTokens: item.Input, RequestedTokens: item.Output}
			cfg.do(ctx, &item, rec)
			if slots != nil {
				<-slots
			}
			if !rec.started.IsZero() {
				rec.StartS = rec.started.Sub(start).Seconds()
			}
			mu.Lock()
			agg.add(rec, cfg.Clock.Now())
			if cfg.OnRecord != nil {
				cfg.OnRecord(rec)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res := agg.result()
	res.Interrupted = ctx.Err() != nil
	if err := cfg.Items.Err(); err != nil {
		return res, fmt.Errorf("loadgen: requests: %w", err)
	}
	return res, nil
}
