package loadgen_test

import (
	"fmt"

	"ersatz/internal/loadgen"
)

// Statistics as vllm bench serve computes them: numpy's linear
// percentiles and the population standard deviation.
func ExampleDescribe() {
	s := loadgen.Describe([]float64{0.030, 0.010, 0.020, 0.040, 0.100})
	fmt.Printf("mean %.0f ms, median %.0f ms, p90 %.0f ms, p99 %.1f ms, std %.1f ms\n", s.Mean*1e3, s.Median*1e3, s.P90*1e3, s.P99*1e3, s.Std*1e3)
	// Output: mean 40 ms, median 30 ms, p90 76 ms, p99 97.6 ms, std 31.6 ms
}
