package perf

import (
	"math"
	"testing"
)

// TestStackScalesSteps: a stack efficiency divides the step of its phase
// and leaves the other phase alone; an unmeasured pair runs at 1.
func TestStackScalesSteps(t *testing.T) {
	d := Deployment{Model: llama70B(), Chip: h100(), Node: hgx(), Weights: "bf16", TP: 2, Engine: VLLM}
	base := mustNew(t, d)
	p := DefaultParams()
	p.Stack = map[string]*Stack{StackKey(VLLM, "hopper"): {
		Decode:  &StackEff{Value: 0.8, Groups: 2},
		Prefill: &StackEff{Value: 0.5, Groups: 3},
	}}
	in, err := New(d, p)
	if err != nil {
		t.Fatal(err)
	}
	dec := &Batch{DecodeSeqs: 64, DecodeTokens: 64, DecodeKV: 64 * 2048}
	pre := &Batch{PrefillSeqs: 1, PrefillTokens: 2048, PrefillKV: 2048 * 1024}
	// Decode: 1/0.8 = 1.25× the analytic step; prefill 1/0.5 = 2×.
	for _, c := range []struct {
		name string
		b    *Batch
		k    float64
	}{{"decode", dec, 1.25}, {"prefill", pre, 2}} {
		got, want := float64(in.Step(c.b).Total), float64(base.Step(c.b).Total)*c.k
		if math.Abs(got/want-1) > 1e-9 {
			t.Errorf("%s: step %.4g s, want %.4g s", c.name, got, want)
		}
	}
	if d, f := p.StackEfficiency(SGLang, "hopper"); d != 1 || f != 1 {
		t.Errorf("unmeasured pair: %g, %g; want 1, 1", d, f)
	}
	bad := &Params{Stack: map[string]*Stack{"vllm/hopper": {Decode: &StackEff{Value: 0}}}}
	if err := bad.checkStack(); err == nil {
		t.Error("a zero stack efficiency was accepted")
	}
}

// TestStackInherits: a family with no measurement of an engine takes its
// nearest measured ancestor's efficiency along the shipped families'
// inheritance (hygon → cdna3, ascend-310p → ascend-a2 → ascend-a3), and 1
// with none up the chain (cambricon → generic).
func TestStackInherits(t *testing.T) {
	p := DefaultParams()
	p.Stack = map[string]*Stack{
		"vllm/cdna3":     {Decode: &StackEff{Value: 0.8, Groups: 2}},
		"vllm/ascend-a3": {Decode: &StackEff{Value: 0.6, Groups: 2}, Prefill: &StackEff{Value: 0.7, Groups: 2}},
	}
	for _, tc := range []struct {
		family          string
		decode, prefill float64
	}{
		{"cdna3", 0.8, 1}, {"hygon", 0.8, 1}, {"ascend-a2", 0.6, 0.7}, {"ascend-310p", 0.6, 0.7}, {"cambricon", 1, 1}, {"hopper", 1, 1},
	} {
		d, pf := p.StackEfficiency(VLLM, tc.family)
		if d != tc.decode || pf != tc.prefill {
			t.Errorf("%s: decode %g prefill %g, want %g and %g", tc.family, d, pf, tc.decode, tc.prefill)
		}
	}
}
