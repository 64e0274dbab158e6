package sim

import (
	"math/rand/v2"

	"ersatz/internal/workload"
)

// Stop ends a run early. Both conditions are polled between events and
// may be nil; the caller decides what they mean (a signal, a wall-clock
// deadline): the simulator reads no clock and no signals.
type Stop struct {
	// Drain, once true, stops admission: the source is not read again,
	// requests not yet arrived never arrive, and the run goes on until
	// those in flight finish.
	Drain func() bool
	// Halt, once true, ends the run at once; requests still in flight are
	// counted in Summary.Unfinished and get no record.
	Halt func() bool
}

func (s Stop) drain() bool { return s.Drain != nil && s.Drain() }
func (s Stop) halt() bool  { return s.Halt != nil && s.Halt() }

// RunStop is Run that stops early when stop says so; the summary then has
// Interrupted set and covers the requests admitted before. Every record
// the sink got is of a request that finished (or was rejected).
func RunStop(cfg Config, src workload.Source, rng *rand.Rand, sink RecordSink, stop Stop) (*Summary, error) {
	return run(cfg, src, rng, sink, nil, stop)
}
