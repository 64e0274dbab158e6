package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeInterrupt delivers sig on its drainAt-th poll of drain (0: never)
// and halts on its haltAt-th poll of halt: a signal arriving mid-run,
// deterministically.
type fakeInterrupt struct {
	sig                   os.Signal
	drainAt, haltAt       int
	drainPolls, haltPolls int
	drained, halted       bool
}

func (f *fakeInterrupt) drain() bool {
	f.drainPolls++
	f.drained = f.drained || f.drainAt > 0 && f.drainPolls >= f.drainAt
	return f.drained
}

func (f *fakeInterrupt) halt() bool {
	if f.drained {
		f.haltPolls++
		f.halted = f.halted || f.haltAt > 0 && f.haltPolls >= f.haltAt
	}
	return f.halted
}

func (f *fakeInterrupt) signal() os.Signal {
	if f.drained {
		return f.sig
	}
	return nil
}

// simulateInterrupted runs simulate in-process under f with --records and
// --json, and checks what must hold of any interrupted run: exit 128 +
// signal, "interrupted": true, a records file of whole JSON lines, one per
// finished or rejected request, and one line on stderr.
func simulateInterrupted(t *testing.T, f *fakeInterrupt, wantCode int) map[string]any {
	t.Helper()
	records := filepath.Join(t.TempDir(), "records.jsonl")
	args := strings.Fields("simulate --model Qwen/Qwen3-8B --chip h100 --chips 1 --rate 15 --requests 3000 --seed 7 --json --records " + records)
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
		interrupt: func() interrupter { return f }}
	code := run(e, args)
	if code != wantCode {
		t.Fatalf("exit %d, want %d; stderr: %s", code, wantCode, stderr.String())
	}
	if n := strings.Count(stderr.String(), "\n"); n != 1 || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr: want one line saying interrupted, got:\n%s", stderr.String())
	}
	var sum map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout.String())
	}
	if sum["interrupted"] != true {
		t.Errorf(`--json: "interrupted" = %v, want true`, sum["interrupted"])
	}
	data, err := os.ReadFile(records)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("records: %d bytes, want whole lines ending in a newline", len(data))
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("records line %d: %v: %q", i+1, err, l)
		}
	}
	done := sum["finished"].(float64) + sum["rejected"].(float64)
	if float64(len(lines)) != done || sum["requests"].(float64) >= 3000 {
		t.Errorf("records %d lines, summary %v finished+rejected of %v requests; want one line each, fewer than 3000 admitted",
			len(lines), done, sum["requests"])
	}
	return sum
}

// The first interrupt stops admission and lets what is in flight finish.
func TestSimulateInterrupt(t *testing.T) {
	sum := simulateInterrupted(t, &fakeInterrupt{sig: os.Interrupt, drainAt: 3000}, 130)
	if sum["unfinished"].(float64) != 0 {
		t.Errorf("drained run: %v unfinished, want 0", sum["unfinished"])
	}
}

// The second interrupt (here SIGTERM's) stops at once, in-flight requests
// unfinished.
func TestSimulateSecondInterrupt(t *testing.T) {
	sum := simulateInterrupted(t, &fakeInterrupt{sig: syscall.SIGTERM, drainAt: 3000, haltAt: 1}, 143)
	if sum["unfinished"].(float64) == 0 {
		t.Error("halted run: no request left unfinished; want the in-flight ones stopped")
	}
}

// The real interrupter: drain on the first signal, halt on the second or
// once the grace has passed on the wall clock (a fake one here).
func TestSignals(t *testing.T) {
	ch := make(chan os.Signal, 2)
	now := time.Unix(0, 0)
	s := &signals{ch: ch, now: func() time.Time { return now }, grace: graceWall}
	if s.drain() || s.halt() || s.signal() != nil {
		t.Fatal("no signal: want neither drain nor halt")
	}
	ch <- os.Interrupt
	if !s.drain() || s.halt() || s.signal() != os.Interrupt {
		t.Fatal("first signal: want drain, no halt")
	}
	now = now.Add(graceWall - time.Millisecond)
	if s.halt() {
		t.Fatal("within the grace: want no halt")
	}
	now = now.Add(time.Millisecond)
	if !s.halt() {
		t.Fatal("grace over: want halt")
	}

	s = &signals{ch: ch, now: func() time.Time { return now }, grace: graceWall}
	ch <- syscall.SIGTERM
	ch <- syscall.SIGTERM
	if !s.drain() || !s.halt() {
		t.Fatal("second signal: want halt at once")
	}
	if code := (&interruptedError{sig: syscall.SIGTERM}).code(); code != 143 {
		t.Errorf("SIGTERM: exit %d, want 143", code)
	}
}

// An interrupted plan prints its analytic result with the verifications
// after the signal skipped, and exits 130.
func TestPlanInterrupt(t *testing.T) {
	var stdout, stderr bytes.Buffer
	f := &fakeInterrupt{sig: os.Interrupt, drainAt: 1}
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
		interrupt: func() interrupter { return f }}
	code := run(e, strings.Fields("plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --chip l20,h20 --json"))
	if code != 130 || !strings.Contains(stderr.String(), "not verified") {
		t.Fatalf("exit %d, stderr %q; want 130 and a line saying what was skipped", code, stderr.String())
	}
	var res struct {
		Recommended *struct {
			Verified *struct{} `json:"verified"`
		} `json:"recommended"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.Recommended == nil || res.Recommended.Verified != nil {
		t.Errorf("--json: err %v, recommended %+v; want a plan, unverified", err, res.Recommended)
	}
}
