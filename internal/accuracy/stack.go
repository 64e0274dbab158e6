package accuracy

import (
	"math"
	"sort"

	"ersatz/internal/perf"
)

// K0 is the shrinkage constant of the stack efficiencies: a value backed
// by k independent groups keeps k/(k+K0) of its median log-ratio. It was
// fixed at 2 before any figure was seen (two groups keep half their
// evidence, twenty keep 91%).
const K0 = 2

// MinStackGroups is the fewest independent groups that set a stack
// efficiency: a single source never does.
const MinStackGroups = 2

// sample is one case's oriented residual under some prediction.
type sample struct {
	id, group string
	regime    Regime
	r         float64 // oriented log(measured/predicted)
	ok        bool    // predicted at all
}

// newSample is a case's residual under prediction p (not ok where p
// failed or a figure is not positive).
func newSample(id, group string, reg Regime, metric string, measured float64, p pred) sample {
	s := sample{id: id, group: group, regime: reg}
	if p.err == nil && p.p.Value > 0 && measured > 0 {
		s.r, s.ok = orient(metric, measured, p.p.Value), true
	}
	return s
}

// orient turns a measured and a predicted figure into the speed
// log-ratio.
func orient(metric string, measured, predicted float64) float64 {
	r := math.Log(measured / predicted)
	if Latency(metric) {
		return -r
	}
	return r
}

// fitStack estimates the stack efficiencies from base residuals (the
// model run without any): per (engine, family) pair and phase, the
// median log-ratio of each group, then the median of the group medians
// m over k groups, shrunk: exp(m·k/(k+K0)). Pairs with fewer than
// MinStackGroups groups in a phase keep 1 there. Engine "other" is not
// one software stack (DeepSeek's, CloudMatrix-Infer, Pangu's), so it
// gets none.
func fitStack(samples []sample) map[string]*perf.Stack {
	type key struct{ pair, phase string }
	type cell struct {
		groups map[string][]float64
		ids    []string
	}
	cells := map[key]*cell{}
	for _, s := range samples {
		if !s.ok || s.regime.Engine == string(perf.Other) {
			continue
		}
		k := key{s.regime.pair(), s.regime.Phase}
		c := cells[k]
		if c == nil {
			c = &cell{groups: map[string][]float64{}}
			cells[k] = c
		}
		c.groups[s.group] = append(c.groups[s.group], s.r)
		c.ids = append(c.ids, s.id)
	}
	out := map[string]*perf.Stack{}
	for k, c := range cells {
		n := len(c.groups)
		if n < MinStackGroups {
			continue
		}
		meds := make([]float64, 0, n)
		for _, g := range c.groups {
			meds = append(meds, median(g))
		}
		m := median(meds) * float64(n) / float64(n+K0)
		st := out[k.pair]
		if st == nil {
			st = &perf.Stack{}
			out[k.pair] = st
		}
		ids := append([]string(nil), c.ids...)
		sort.Strings(ids)
		e := &perf.StackEff{Value: round4(math.Exp(m)), Groups: n, Cases: ids}
		if k.phase == Prefill {
			st.Prefill = e
		} else {
			st.Decode = e
		}
	}
	return out
}

// round4 keeps four significant digits, so that the generated file is
// stable across platforms' last-bit differences.
func round4(v float64) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// median of xs (the mean of the two middle values for an even count); it
// sorts a copy.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
