package emulator

import "time"

// Clock is the emulator's source of time, so tests can substitute their
// own (a synctest bubble fakes the real one).
type Clock interface {
	Now() time.Time
	// After returns a channel that receives after d.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the time package's clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// After implements Clock.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
