package accuracy

import (
	"math"
	"testing"

	"ersatz/internal/corpus"
	"ersatz/internal/perf"
)

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4}
	// Type 7: h = q(n-1); q 0.1 → h 0.3 → 1 + 0.3·1 = 1.3; 0.5 → 2.5;
	// 0.9 → h 2.7 → 3.7; the ends clamp.
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.1, 1.3}, {0.5, 2.5}, {0.9, 3.7}, {1, 4}} {
		if got := quantile(xs, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("quantile(%g) = %g, want %g", c.q, got, c.want)
		}
	}
	// The central 80% of a standard normal is ±1.2816.
	if z := zTwoSided(0.8); math.Abs(z-1.2816) > 1e-4 {
		t.Errorf("z(0.8) = %g", z)
	}
}

func smp(id, group, engine, family, phase string, r float64) sample {
	return sample{id: id, group: group, regime: Regime{Engine: engine, Family: family, Phase: phase}, r: r, ok: true}
}

// TestFitStack: one group never sets a number; two groups with medians
// −0.2 and −0.4 give exp(−0.3 · 2/(2+2)) = exp(−0.15) = 0.8607; engine
// other gets none.
func TestFitStack(t *testing.T) {
	s := []sample{
		smp("a1", "A", "vllm", "cdna3", Decode, -0.1), smp("a2", "A", "vllm", "cdna3", Decode, -0.3),
		smp("b1", "B", "vllm", "cdna3", Decode, -0.4),
		smp("c1", "C", "vllm", "hopper", Decode, -1), smp("c2", "C", "vllm", "hopper", Decode, -1),
		smp("d1", "D", "other", "hopper", Prefill, -1), smp("e1", "E", "other", "hopper", Prefill, -1),
	}
	st := fitStack(s)
	if len(st) != 1 {
		t.Fatalf("got %d pairs, want only vllm/cdna3: %v", len(st), st)
	}
	e := st["vllm/cdna3"].Decode
	if e == nil || e.Value != round4(math.Exp(-0.15)) || e.Groups != 2 || len(e.Cases) != 3 {
		t.Errorf("vllm/cdna3 decode = %+v, want 0.8607 from 2 groups, 3 cases", e)
	}
	if st["vllm/cdna3"].Prefill != nil {
		t.Error("a phase without cases got a number")
	}
}

// TestLookup: a regime with MinGroups groups uses its own pool; with
// fewer it falls back to its engine's; a pair never measured takes the
// uncorrected pool, widened for a family never measured.
func TestLookup(t *testing.T) {
	var after []sample
	for i, g := range []string{"A", "B", "C"} {
		after = append(after, smp(g, g, "trtllm", "hopper", Decode, float64(i)*0.1))
	}
	after = append(after, smp("D", "D", "vllm", "hopper", Decode, 0), smp("E", "E", "vllm", "cdna3", Decode, 0))
	base := []sample{smp("X", "X", "trtllm", "hopper", Decode, -2)}
	tab := fitTable(after, base)
	for _, c := range []struct {
		r     Regime
		where string
		widen float64
	}{
		{Regime{"trtllm", "hopper", Decode}, "trtllm/hopper/decode", 1},
		{Regime{"vllm", "hopper", Decode}, "family hopper", 1}, // engine vllm has 2 groups, hopper 4
		{Regime{"sglang", "hopper", Decode}, "unmeasured pair, uncorrected spread of all cases", 1},
		{Regime{"vllm", "cambricon", Decode}, "unmeasured family, uncorrected spread of all cases widened", NoFamilyWiden},
	} {
		_, w, where := tab.Lookup(c.r)
		if where != c.where || w != c.widen {
			t.Errorf("%v: %q ×%g, want %q ×%g", c.r, where, w, c.where, c.widen)
		}
	}
}

// TestBand: a throughput band takes the residual quantiles as they are,
// a latency band flipped; the point stays inside; a wider level gives a
// wider band.
func TestBand(t *testing.T) {
	tab := &Table{Pools: map[string]*Pool{poolAll: {Groups: 5, Residuals: []float64{-0.5, -0.2, 0, 0.1, 0.2}}},
		Pairs: []string{"vllm/hopper"}, Families: []string{"hopper"}}
	r := Regime{"vllm", "hopper", Decode}
	// 80%: q(0.1) = −0.5 + 0.4·0.3 = −0.38, q(0.9) = 0.1 + 0.6·0.1 = 0.16.
	lo, hi, _ := tab.Band(r, "output_tokens_per_s_per_chip", 100, 0, 0, 0.8)
	if math.Abs(lo-100*math.Exp(-0.38)) > 1e-9 || math.Abs(hi-100*math.Exp(0.16)) > 1e-9 {
		t.Errorf("throughput band %g–%g, want %g–%g", lo, hi, 100*math.Exp(-0.38), 100*math.Exp(0.16))
	}
	lo, hi, _ = tab.Band(r, "tpot_ms_mean", 100, 0, 0, 0.8)
	if math.Abs(lo-100*math.Exp(-0.16)) > 1e-9 || math.Abs(hi-100*math.Exp(0.38)) > 1e-9 {
		t.Errorf("latency band %g–%g, want the flipped %g–%g", lo, hi, 100*math.Exp(-0.16), 100*math.Exp(0.38))
	}
	// A parameter band wider than the residuals wins on a measured pair.
	lo, _, _ = tab.Band(r, "output_tokens_per_s_per_chip", 100, 50, 100, 0.8)
	if math.Abs(lo-50) > 1e-9 {
		t.Errorf("low %g, want the parameter band's 50", lo)
	}
	l5, h5, _ := tab.Band(r, "output_tokens_per_s_per_chip", 100, 90, 110, 0.5)
	l9, h9, _ := tab.Band(r, "output_tokens_per_s_per_chip", 100, 90, 110, 0.9)
	if !(l9 < l5 && l5 <= 100 && 100 <= h5 && h5 < h9) {
		t.Errorf("50%% band %g–%g, 90%% band %g–%g: want nested around 100", l5, h5, l9, h9)
	}
}

// TestCrossValidateHoldsOut: each group is predicted with the stack
// efficiency of the others only. Groups A, B, C measure vllm on hopper
// at 0.5, 0.8 and 0.9 of the model: predicting A uses B and C's medians,
// exp(mean(log 0.8, log 0.9) · 2/4), never A's own.
func TestCrossValidateHoldsOut(t *testing.T) {
	ratio := map[string]float64{"A": 0.5, "B": 0.8, "C": 0.9}
	var cases []corpus.Case
	for _, g := range []string{"A", "B", "C"} {
		cases = append(cases, corpus.Case{ID: "case-" + g, Group: g, Chip: "h100-sxm", Engine: "vllm", Phase: "all",
			Metric: "output_tokens_per_s_per_chip", Measured: 100 * ratio[g]})
	}
	model := 100.0
	s := &Setup{
		Params: &perf.Params{},
		Family: func(string) string { return "hopper" },
		Predictor: func(p *perf.Params) corpus.Predictor {
			d, _ := p.StackEfficiency(perf.VLLM, "hopper")
			return corpus.PredictorFunc(func(*corpus.Case) (corpus.Prediction, error) {
				return corpus.Prediction{Value: model * d, Low: model * d * 0.9, High: model * d * 1.1}, nil
			})
		},
	}
	rep := s.CrossValidate(cases, 0.8)
	want := model * math.Exp((math.Log(0.8)+math.Log(0.9))/2*2/4)
	if got := *rep.Cases[0].Predicted; math.Abs(got-round4(want/model)*model) > 1e-9 {
		t.Errorf("case A predicted %g, want %g from B and C only", got, want)
	}
	if rep.BandLevel != 0.8 || rep.Note == "" {
		t.Errorf("report level %g, note %q", rep.BandLevel, rep.Note)
	}
}

func FuzzParseTable(f *testing.F) {
	f.Add(shipped)
	f.Add([]byte("min_groups: 3\npools: {all: {groups: 1, residuals: [0.1]}}\n"))
	f.Add([]byte("pools: [1, 2]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ParseTable(data)
		if err != nil {
			return
		}
		// Whatever parses must band without panicking.
		tab.Band(Regime{"vllm", "hopper", Decode}, "tpot_ms_mean", 10, 9, 11, 0.8)
	})
}

// BenchmarkCrossValidate is the whole leave-one-source-out run over the
// shipped corpus: 58 cases, 11 groups (goal: well under a second).
func BenchmarkCrossValidate(b *testing.B) {
	s, cases := shippedSetup(b)
	for b.Loop() {
		s.CrossValidate(cases, 0.8)
	}
}
