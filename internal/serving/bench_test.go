package serving

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"ersatz/internal/hardware"
	"ersatz/internal/sim"
	"ersatz/internal/workload"
)

// BenchmarkTenThousand simulates 10,000 requests of a 14B-class dense model
// (Qwen3-14B, bf16) on one H100 replica at a stable 5 req/s, with every step
// timed by the performance model — the speed and memory goal
// (≤ 0.12 s, ≤ 50 MB). peak-heap-MB samples the live heap every 1,000
// records.
func BenchmarkTenThousand(b *testing.B) {
	in := instance(b, "Qwen/Qwen3-14B", "h100-sxm", 1, hardware.BF16)
	cfg, err := Config(Deployment{Pool: Pool{Instance: in, Replicas: 1}}, nil, 4096)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var peak uint64
	var ms runtime.MemStats
	for b.Loop() {
		rng := rand.New(rand.NewPCG(1, 2))
		arr, _ := workload.Poisson(5)
		li, _ := workload.LogNormal(1024, 512)
		lo, _ := workload.LogNormal(256, 128)
		src, _ := workload.NewGenerator(workload.GeneratorConfig{Arrivals: arr, Input: li, Output: lo, Count: 10000}, rng)
		n := 0
		sink := sim.RecordFunc(func(*sim.Record) {
			if n++; n%1000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		})
		if _, err := sim.Run(cfg, src, rng, sink); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
}
