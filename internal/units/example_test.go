package units_test

import (
	"fmt"

	"ersatz/internal/units"
)

// Reading 70 GB of weights at 3.35 TB/s bounds a decode step from below.
func ExampleBytes_Time() {
	weights := units.Bytes(70e9)
	bw := units.BytesPerSecond(3.35e12)
	fmt.Println(weights.Time(bw))
	// Output: 20.9ms
}
