package page

import (
	"reflect"
	"testing"

	"ersatz/internal/plan"
)

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 42.6, 5, []float64{0, 10, 20, 30, 40, 50}}, // step 42.6/5 = 8.5 → 10
		{0, 160, 5, []float64{0, 50, 100, 150, 200}},   // 32 → 50
		{0, 0.9, 4, []float64{0, 0.25, 0.5, 0.75, 1}},  // 0.225 → 0.25
	} {
		got, _, _ := niceTicks(tc.lo, tc.hi, tc.n)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("niceTicks(%g, %g, %d) = %v, want %v", tc.lo, tc.hi, tc.n, got, tc.want)
		}
	}
}

func TestLogTicks(t *testing.T) {
	// $8 to $160 an hour: decades 1–1000, trimmed to one tick either side.
	got, lo, hi := logTicks(8, 160)
	want := []float64{5, 10, 20, 50, 100, 200}
	if !reflect.DeepEqual(got, want) || lo != 5 || hi != 200 {
		t.Errorf("logTicks(8, 160) = %v [%g, %g], want %v", got, lo, hi, want)
	}
}

// The frontier keeps the plans no other is both cheaper and faster than.
func TestFrontier(t *testing.T) {
	p := func(cost, tpot float64) entry { return entry{p: &plan.Plan{CostUSDPerHour: cost, TPOTS: tpot}} }
	es := []entry{p(10, 0.040), p(12, 0.030), p(11, 0.045), p(20, 0.030), p(30, 0.020)}
	var got [][2]float64
	for _, e := range frontier(es) {
		got = append(got, [2]float64{e.p.CostUSDPerHour, e.p.TPOTS})
	}
	want := [][2]float64{{10, 0.040}, {12, 0.030}, {30, 0.020}} // 11 is slower than 10; 20 no faster than 12
	if !reflect.DeepEqual(got, want) {
		t.Errorf("frontier = %v, want %v", got, want)
	}
}
