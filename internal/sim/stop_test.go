package sim

import (
	"math/rand/v2"
	"testing"
)

// afterPolls is a stop condition that turns true on its nth poll: a
// deterministic stand-in for a signal arriving mid-run.
func afterPolls(n int) func() bool {
	polls := 0
	return func() bool { polls++; return polls > n }
}

func TestRunStop(t *testing.T) {
	cfg := Config{Pool: Pool{Replicas: 2, Router: LeastOutstanding, Engine: EngineConfig{KVTokens: 100000},
		Timer: &LinearStepTimer{BaseS: 0.006, PerDecodeSeqS: 3e-5, PerPrefillTokenS: 9e-5}}}
	const n = 2000
	run := func(stop Stop) (*Summary, int) {
		t.Helper()
		var records int
		sum, err := RunStop(cfg, genSource(t, 3, n, 40, 500, 100, 0), rand.New(rand.NewPCG(1, 1)),
			RecordFunc(func(*Record) { records++ }), stop)
		if err != nil {
			t.Fatal(err)
		}
		return sum, records
	}
	full, _ := run(Stop{})
	if full.Interrupted || full.Requests != n || full.Unfinished != 0 {
		t.Fatalf("no stop: %+v", full)
	}
	// Draining after 300 events: admission stops, everything admitted
	// finishes and is recorded.
	d, records := run(Stop{Drain: afterPolls(300)})
	if !d.Interrupted || d.Requests == 0 || d.Requests >= n || d.Unfinished != 0 ||
		d.Finished+d.Rejected != d.Requests || int64(records) != d.Requests {
		t.Errorf("drain: requests %d, finished %d, rejected %d, unfinished %d, records %d; want a part of %d, all finished and recorded",
			d.Requests, d.Finished, d.Rejected, d.Unfinished, records, n)
	}
	// Halting at the same point leaves requests in flight, unrecorded.
	h, records := run(Stop{Halt: afterPolls(300)})
	if !h.Interrupted || h.Unfinished == 0 || h.Finished+h.Rejected+h.Unfinished != h.Requests || int64(records) != h.Finished+h.Rejected {
		t.Errorf("halt: requests %d, finished %d, unfinished %d, records %d", h.Requests, h.Finished, h.Unfinished, records)
	}
	if h.Finished >= d.Finished {
		t.Errorf("halt finished %d, drain %d: halting should stop before the in-flight requests finish", h.Finished, d.Finished)
	}
}
