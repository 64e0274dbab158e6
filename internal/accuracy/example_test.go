package accuracy_test

import (
	"fmt"

	"ersatz/internal/accuracy"
)

// A TPOT of 50 ms whose inputs give 45–56 ms, with a residual table of
// five speed log-ratios (the model a little optimistic) for a measured
// pair, and for a family the table never saw.
func ExampleTable_Band() {
	t := &accuracy.Table{
		Pools: map[string]*accuracy.Pool{
			"all":        {Groups: 5, Residuals: []float64{-0.4, -0.2, -0.1, 0, 0.1}},
			"unmeasured": {Groups: 5, Residuals: []float64{-0.6, -0.3, -0.1, 0, 0.2}},
		},
		Pairs: []string{"vllm/hopper"}, Families: []string{"hopper"},
	}
	for _, r := range []accuracy.Regime{{Engine: "vllm", Family: "hopper", Phase: accuracy.Decode}, {Engine: "vllm", Family: "cambricon", Phase: accuracy.Decode}} {
		for _, level := range []float64{0.5, 0.8} {
			lo, hi, where := t.Band(r, "tpot_ms_mean", 50, 45, 56, level)
			fmt.Printf("%s %.0f%%: %.1f–%.1f ms (%s)\n", r.Family, level*100, lo, hi, where)
		}
	}
	// At 80% on hopper: the residual quantiles q(0.1) = −0.32 and q(0.9) =
	// 0.06 flip for a latency to −0.06 and +0.32; the parameter band gives
	// log(50/45) = 0.105 down and log(56/50) = 0.113 up; the wider of each
	// side: 50·e^−0.105 = 45.0 and 50·e^0.32 = 68.9. Cambricon takes the
	// uncorrected pool ×1.5, added to the parameter band in quadrature.
	// Output:
	// hopper 50%: 47.3–61.1 ms (all)
	// hopper 80%: 45.0–68.9 ms (all)
	// cambricon 50%: 47.3–78.7 ms (unmeasured family, uncorrected spread of all cases widened)
	// cambricon 80%: 40.6–103.6 ms (unmeasured family, uncorrected spread of all cases widened)
}
