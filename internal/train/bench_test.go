package train

import (
	"testing"

	"ersatz/internal/hardware"
)

// One step evaluation (goal ≤ 20 µs): DeepSeek-V3 on 2,048 H800 in its
// published layout, band included.
func BenchmarkEvaluate(b *testing.B) {
	j := job(b, "deepseek-ai/DeepSeek-V3", "h800-sxm", 2048, 4096, 15360, hardware.FP8)
	e := newEst(b, j)
	l := Layout{TP: 1, PP: 16, DP: 128, EP: 64, VPP: 2, ZeRO: 1, Recompute: RecomputeFull, MicroBatch: 1, EPOverlap: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(l); err != nil {
			b.Fatal(err)
		}
	}
}

// A layout search over ≥ 10,000 layouts (goal ≤ 2 s): DeepSeek-V3 on
// 2,048 H800, the default space (17,010 layouts).
func BenchmarkSearch(b *testing.B) {
	j := job(b, "deepseek-ai/DeepSeek-V3", "h800-sxm", 2048, 4096, 15360, hardware.FP8)
	e := newEst(b, j)
	s := DefaultSpace(&j, e.Domain())
	if s.Size() < 10000 {
		b.Fatalf("space of %d layouts, want ≥ 10,000", s.Size())
	}
	b.ReportMetric(float64(s.Size()), "layouts")
	for b.Loop() {
		if r := e.Search(s); r.Best == nil {
			b.Fatal("no layout")
		}
	}
}
