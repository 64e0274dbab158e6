package train

import (
	"strings"
	"testing"

	"ersatz/internal/hardware"
)

// A search keeps every layout accounted for: tried = feasible + the
// rejections' counts, the best is no slower than the runner-up, and the
// reasons name the field or the memory term.
func TestSearchAccounts(t *testing.T) {
	j := job(t, "Qwen/Qwen3-30B-A3B", "h100-sxm", 16, 4096, 256, hardware.BF16)
	e := newEst(t, j)
	space := DefaultSpace(&j, e.Domain())
	space.VPP, space.MicroBatch = []int{1, 2}, []int{1, 2}
	s := e.Search(space)
	if s.Best == nil || s.RunnerUp == nil {
		t.Fatalf("no best layout: %+v", s.Rejections)
	}
	n := s.Feasible
	for _, r := range s.Rejections {
		n += r.Count
		if !strings.Contains(r.Reason, ":") && !strings.Contains(r.Reason, "divide") {
			t.Errorf("reason %q names no field", r.Reason)
		}
	}
	if n != s.Tried || s.Tried != space.Size() {
		t.Errorf("tried %d, feasible + rejected %d, space %d", s.Tried, n, space.Size())
	}
	if s.Best.Step.Total > s.RunnerUp.Step.Total {
		t.Errorf("best %v slower than runner-up %v", s.Best.Step.Total, s.RunnerUp.Step.Total)
	}
	if !(s.Best.StepLow < s.Best.Step.Total && s.Best.Step.Total < s.Best.StepHigh) {
		t.Errorf("best's band %v..%v around %v", s.Best.StepLow, s.Best.StepHigh, s.Best.Step.Total)
	}
}

// Degrees that do not divide are refused with the field and value.
func TestLayoutErrors(t *testing.T) {
	j := job(t, "meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", 8, 4096, 64, hardware.BF16)
	e := newEst(t, j)
	for _, c := range []struct {
		l     Layout
		field string
	}{
		{Layout{TP: 3, PP: 1, DP: 1}, "dp"},
		{Layout{TP: 8, PP: 1, DP: 1, EP: 2}, "ep"},
		{Layout{TP: 1, PP: 64, DP: 1}, "dp"},
		{Layout{TP: 1, PP: 1, DP: 8, MicroBatch: 3}, "micro_batch"},
		{Layout{TP: 2, PP: 4, DP: 1, VPP: 16}, "pp"},
		{Layout{TP: 8, PP: 1, DP: 1, ZeRO: 4}, "zero"},
	} {
		_, err := e.Evaluate(c.l)
		le, ok := err.(*LayoutError)
		if !ok || le.Field != c.field {
			t.Errorf("%+v: %v, want a %s error", c.l, err, c.field)
		}
	}
}

// The pipeline bubble is (pp−1)/vpp micro-batch slots: interleaving
// shortens it, more micro-batches dilute it.
func TestBubble(t *testing.T) {
	j := job(t, "meta-llama/Llama-3.1-70B-Instruct", "h100-sxm", 64, 4096, 256, hardware.BF16)
	e := newEst(t, j)
	base := Layout{TP: 8, PP: 4, DP: 2, ZeRO: 1, Recompute: RecomputeFull, MicroBatch: 1}
	r1, err := e.Evaluate(base)
	if err != nil {
		t.Fatal(err)
	}
	v := base
	v.VPP = 4
	r4, err := e.Evaluate(v)
	if err != nil {
		t.Fatal(err)
	}
	// 128 micro-batches per rank; the 1F1B bubble is pp−1 = 3 slots, the
	// interleaved one 3/4 of a slot (its PP sends grow fourfold, so a
	// slot is a little longer).
	slot := float64(r1.Step.Bubble.Seconds) / 3
	if got := float64(r4.Step.Bubble.Seconds) / slot; got < 0.74 || got > 0.8 {
		t.Errorf("vpp 4 bubble %.3g 1F1B slots, want about 3/4", got)
	}
}

// --days: the fewest chips that finish; one fewer step of chips misses.
func TestFewestChips(t *testing.T) {
	base := job(t, "meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", 8, 4096, 512, hardware.BF16)
	newJob := func(n int) (*Estimator, error) { j := base; j.Chips = n; return New(j, params) }
	space := func(e *Estimator) Space {
		j := e.Job()
		s := DefaultSpace(&j, e.Domain())
		s.VPP, s.ZeRO, s.MicroBatch = []int{1}, []int{1}, []int{1}
		return s
	}
	o := RunOptions{Tokens: 1e12}
	n, s, run, err := FewestChips(newJob, space, o, 30, 8, 8, 1<<14)
	if err != nil {
		t.Fatal(err)
	}
	if run.Days > 30 || s.Best == nil {
		t.Fatalf("%d chips: %g days", n, run.Days)
	}
	// A count with the next smaller 5-smooth multiple of 8 misses.
	smaller := 0
	for m := n - 8; m >= 8; m -= 8 {
		if isSmooth(m / 8) {
			smaller = m
			break
		}
	}
	if smaller > 0 {
		e, _ := newJob(smaller)
		s := e.Search(space(e))
		if s.Best != nil {
			r, _ := e.Plan(*s.Best, o)
			if r.Days <= 30 {
				t.Errorf("%d chips already finish in %.3g days; FewestChips said %d", smaller, r.Days, n)
			}
		}
	}
}

func isSmooth(n int) bool {
	for _, p := range []int{2, 3, 5} {
		for n%p == 0 {
			n /= p
		}
	}
	return n == 1
}
