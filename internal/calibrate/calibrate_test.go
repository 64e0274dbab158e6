package calibrate

import (
	"strings"
	"testing"

	"ersatz/internal/perf"
)

func TestCalibrateRefuses(t *testing.T) {
	k, _ := NewKnob("mem_eff", "hopper", "vllm")
	one := []Measurement{{Name: "a", Requests: []Request{{Input: 10, Output: 2, TTFTS: 0.1, TPOTS: 0.01, OK: true}}}}
	for _, tc := range []struct {
		ms   []Measurement
		ks   []Knob
		want string
	}{
		{nil, []Knob{k}, "at least one measurement"},
		{one, nil, "at least one parameter"},
		{one, []Knob{k, k, k}, "at most 2 parameters"},
		{[]Measurement{{Name: "b", Requests: []Request{{Input: 10, Output: 1, OK: true}}}}, []Knob{k}, "b: no successful request with two"},
	} {
		_, err := Calibrate(tc.ms, Options{Knobs: tc.ks})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %q", err, tc.want)
		}
	}
}

// TestWith: a knob moves in a copy, never in the base.
func TestWith(t *testing.T) {
	base := perf.DefaultParams()
	k, _ := NewKnob("gemm_eff", "hopper", "vllm")
	e, _ := NewKnob("kernel_scale", "hopper", "vllm")
	was, _ := get(base, k)
	p, err := with(base, []Knob{k, e}, []float64{0.5, 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := get(p, k); g != 0.5 {
		t.Errorf("moved gemm_eff %v, want 0.5", g)
	}
	if g, _ := get(p, e); g != 0.9 {
		t.Errorf("moved kernel_scale %v, want 0.9", g)
	}
	if g, _ := get(base, k); g != was {
		t.Errorf("base gemm_eff %v changed from %v", g, was)
	}
	bad := Knob{Name: "mem_eff", Family: "nosuch"}
	if _, err := with(base, []Knob{bad}, []float64{1}); err == nil {
		t.Error("unknown family: want an error")
	}
}
