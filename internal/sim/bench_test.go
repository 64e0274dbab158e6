package sim

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"ersatz/internal/workload"
)

// The benchmarks serve a 14B-class dense model on H100s, with
// h100Dense14B standing in for the performance model: prompts log-normal
// with mean 1000 tokens, outputs log-normal with mean 250, Poisson
// arrivals at 5 requests per second per replica (about 60% busy on
// prefill and decode together, a stable queue), and 200,000 tokens of KV
// per replica (what is left of 80 GB after 28 GB of BF16 weights, at
// ~200 KB per token).

func benchConfig(replicas int) Config {
	return Config{Pool: Pool{Replicas: replicas, Timer: h100Dense14B(), Router: LeastOutstanding,
		Engine: EngineConfig{KVTokens: 200000}}}
}

func benchSource(b *testing.B, n, replicas int) workload.Source {
	a, _ := workload.Poisson(5 * float64(replicas))
	in, _ := workload.LogNormal(1000, 500)
	out, _ := workload.LogNormal(250, 125)
	g, err := workload.NewGenerator(workload.GeneratorConfig{Arrivals: a, Input: in, Output: out, Count: n},
		rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// heapSampler records the peak live heap, sampling every 4096 records.
type heapSampler struct {
	n    int
	peak uint64
	ms   runtime.MemStats
}

func (h *heapSampler) Record(*Record) {
	h.n++
	if h.n%4096 == 0 {
		runtime.ReadMemStats(&h.ms)
		h.peak = max(h.peak, h.ms.HeapAlloc)
	}
}

func benchRun(b *testing.B, n, replicas int) {
	b.ReportAllocs()
	var h heapSampler
	var s *Summary
	for b.Loop() {
		b.StopTimer()
		src := benchSource(b, n, replicas)
		runtime.GC()
		b.StartTimer()
		var err error
		s, err = Run(benchConfig(replicas), src, rand.New(rand.NewPCG(1, 1)), &h)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(h.peak)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(s.Finished), "finished")
	b.ReportMetric(s.Replicas[0].BusyFraction, "busy")
	b.ReportMetric(s.TTFT.P50S*1e3, "ttft-p50-ms")
	b.ReportMetric(s.TPOT.P50S*1e3, "tpot-p50-ms")
	b.ReportMetric(float64(s.Replicas[0].Steps), "steps/replica")
}

// BenchmarkTenThousand: 10,000 requests on one replica; the goal is
// ≤ 0.12 s and ≤ 50 MB.
func BenchmarkTenThousand(b *testing.B) { benchRun(b, 10000, 1) }

// BenchmarkMillion: 1,000,000 requests on 16 replicas; the goal is ≤ 30 s
// with memory bounded by requests in flight. Skipped with -short.
func BenchmarkMillion(b *testing.B) {
	if testing.Short() {
		b.Skip("1M requests take seconds")
	}
	benchRun(b, 1000000, 16)
}
