package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Interrupts of long runs. The first SIGINT or SIGTERM stops admission
// and lets in-flight requests finish for at most graceWall of wall time;
// the second, or the end of the grace, stops at once. What was written
// stays written (records end at a line), the summary covers the requests
// admitted before, and the exit status is 128 + the signal: 130 for
// SIGINT, 143 for SIGTERM. The simulator polls drain and halt between
// events and reads neither signals nor the clock; this file does.

// graceWall is how long in-flight requests may run after the first signal.
const graceWall = 2 * time.Second

// interrupter tells a run when to stop. The real one reads signals; tests
// give env one of their own.
type interrupter interface {
	drain() bool       // stop admitting
	halt() bool        // stop at once
	signal() os.Signal // the first signal, nil if none came
}

// interrupts returns the run's interrupter and a function that releases
// it.
func (e *env) interrupts() (interrupter, func()) {
	if e.interrupt != nil {
		return e.interrupt(), func() {}
	}
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return &signals{ch: ch, now: time.Now, grace: graceWall}, func() { signal.Stop(ch) }
}

// signals is the interrupter of real signals on ch; now is the wall clock.
type signals struct {
	ch       <-chan os.Signal
	now      func() time.Time
	grace    time.Duration
	first    os.Signal
	deadline time.Time
	halted   bool
}

func (s *signals) drain() bool {
	if s.first != nil {
		return true
	}
	select {
	case sig := <-s.ch:
		s.first, s.deadline = sig, s.now().Add(s.grace)
		return true
	default:
		return false
	}
}

func (s *signals) halt() bool {
	if s.first == nil || s.halted {
		return s.halted
	}
	select {
	case <-s.ch:
		s.halted = true
	default:
		s.halted = !s.now().Before(s.deadline)
	}
	return s.halted
}

func (s *signals) signal() os.Signal { return s.first }

// interruptedError ends a command that a signal stopped; Main exits with
// 128 + the signal's number.
type interruptedError struct {
	sig  os.Signal
	what string
}

func (i *interruptedError) Error() string {
	name := i.sig.String()
	switch i.sig {
	case os.Interrupt:
		name = "SIGINT"
	case syscall.SIGTERM:
		name = "SIGTERM"
	}
	return fmt.Sprintf("interrupted (%s): %s", name, i.what)
}

func (i *interruptedError) code() int {
	if s, ok := i.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}
