package perf

import (
	"math"
	"strings"
	"testing"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
)

// TestDecodeBatchOneIsMemoryBound checks the hand roofline of the
// textbook case: Llama-3.1-70B, fp8, one H100, one sequence.
//
// Weights read per step: 80 layers × (151.0M attention + 704.6M FFN)
// = 68.45G fp8 bytes, plus the bf16 LM head 128256×8192×2 = 2.10 GB:
// 70.6 GB. At 3.35 TB/s × mem_eff 0.85 = 2.85 TB/s that is 24.8 ms.
// Kernel gaps add 80 × 9 × 2.5 µs = 1.8 ms and the engine 0.5 ms, so
// the step is ≈ 27 ms, and every matmul is memory-bound.
func TestDecodeBatchOneIsMemoryBound(t *testing.T) {
	in := mustNew(t, Deployment{Model: llama70B(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 1})
	s := in.Step(&Batch{DecodeSeqs: 1, DecodeTokens: 1, DecodeKV: 1000})
	ms := float64(s.Total) * 1e3
	if !within(ms, 25, 30) {
		t.Errorf("step %.2f ms, want ≈ 27 ms (24.8 ms of weights + overheads)", ms)
	}
	for name, p := range map[string]Part{"projections": s.Projections, "ffn": s.FFN, "attention": s.Attention, "lm head": s.LMHead} {
		if p.Bound != Memory {
			t.Errorf("%s bound by %v at batch 1, want memory", name, p.Bound)
		}
	}
}

// TestPrefillIsComputeBound: an 8192-token prompt on the same setup.
// Linear work 8192 × 2 × 68.45G = 1.12 PFLOP at 1979 × 0.80 × 0.72 ×
// 0.95 = 1.08 PFLOP/s is about 1.04 s; causal attention, 33.6M pairs ×
// 80 layers × 32,768 FLOP = 88 TFLOP at 989 × 0.60 × 0.95 = 564 TFLOP/s,
// adds 0.16 s: ≈ 1.2 s, compute-bound.
func TestPrefillIsComputeBound(t *testing.T) {
	in := mustNew(t, Deployment{Model: llama70B(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 1})
	n := 8192.0
	s := in.Step(&Batch{PrefillSeqs: 1, PrefillTokens: int(n), PrefillKV: n * (n + 1) / 2})
	if got := float64(s.Total); !within(got, 1.1, 1.4) {
		t.Errorf("prefill %.3f s, want ≈ 1.2 s", got)
	}
	if s.FFN.Bound != Compute || s.Projections.Bound != Compute || s.Attention.Bound != Compute {
		t.Errorf("bounds ffn %v proj %v attn %v, want compute", s.FFN.Bound, s.Projections.Bound, s.Attention.Bound)
	}
}

// TestAllReduce checks the ring formula: 2(n−1)/n of the buffer each
// way at the per-direction bandwidth, plus 2(n−1) latency steps.
func TestAllReduce(t *testing.T) {
	in := mustNew(t, Deployment{Model: llama70B(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 8})
	bytes, bw := 16e6, 400e9
	want := 2*7.0/8*bytes/bw + 14*in.hop // 70 µs + 14 × 0.7 µs
	if got := in.allReduce(bytes, 8, bw); math.Abs(got-want) > 1e-12 {
		t.Errorf("all-reduce %g s, want %g", got, want)
	}
	if in.allReduce(bytes, 1, bw) != 0 {
		t.Error("an all-reduce over one device must cost nothing")
	}
	// 32 devices, a 16 KB buffer: the ring's 62 steps (43.4 µs) lose to
	// the tree's 2 × 5 levels × 7/3 steps = 23.3 steps (16.3 µs), plus
	// 2 × 16 KB at 400 GB/s = 0.08 µs against the ring's 0.08 µs.
	small := 16e3
	tree := 2*small/bw + 2*5*(14.0/6)*in.hop
	if got := in.allReduce(small, 32, bw); math.Abs(got-tree) > 1e-12 {
		t.Errorf("32-device small all-reduce %g s, want the tree's %g", got, tree)
	}
	// At 8 devices the two agree on latency and the ring moves fewer
	// bytes, so the ring formula above holds for every size.
	if got, ring := in.allReduce(small, 8, bw), 2*7.0/8*small/bw+14*in.hop; math.Abs(got-ring) > 1e-12 {
		t.Errorf("8-device small all-reduce %g s, want the ring's %g", got, ring)
	}
	// TP8 decode pays two all-reduces per layer: 160 of them.
	s := in.Step(&Batch{DecodeSeqs: 64, DecodeTokens: 64, DecodeKV: 64 * 1000})
	one := in.allReduce(64*8192*2, 8, in.linkBW)
	if got, want := float64(s.TPComm.Seconds), 160*one; math.Abs(got-want) > 1e-9 {
		t.Errorf("tp comm %g s, want 160 × %g", got, one)
	}
}

// TestAllToAll: DeepSeek-V3 with DP attention and EP over 16 H100s (two
// HGX nodes). Each device sends its 128 tokens' 8 copies: 7/16 of them to
// the 7 local peers over NVLink; the other node gets each token once
// (1 − (1/2)^8 of the tokens touch it) over the 50 GB/s NICs.
func TestAllToAll(t *testing.T) {
	in := mustNew(t, Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8,
		TP: 16, EP: 16, DP: 16, Engine: VLLM})
	intra := 128 * 8 * 7168.0 * 7 / 16 / in.upBW
	inter := 128 * 7168.0 * (1 - math.Pow(0.5, 8)) / in.outBW
	want := math.Max(intra, inter) + 4*math.Log2(16)*in.hop
	if got := in.allToAll(128, 8, 7168, 16); math.Abs(got-want) > 1e-12 {
		t.Errorf("all-to-all %g s, want %g", got, want)
	}
	if inter < intra {
		t.Error("the scale-out share should dominate across nodes")
	}
	s := in.Step(&Batch{DecodeSeqs: 16 * 128, DecodeTokens: 16 * 128, DecodeKV: 16 * 128 * 2000})
	if s.EPComm.Seconds <= 0 || s.TPComm.Seconds != 0 {
		t.Errorf("ep %v tp %v: DP attention with EP communicates by all-to-all only", s.EPComm.Seconds, s.TPComm.Seconds)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name string
		d    Deployment
		want string
	}{
		{"fp8 on 910B", Deployment{Model: llama70B(), Chip: ascend910B2(), Weights: hardware.FP8, TP: 8},
			"ascend-910b2 has no fp8 compute; it runs bf16, fp16, int8"},
		{"fp4 on H100", Deployment{Model: llama70B(), Chip: h100(), Weights: hardware.FP4, Activations: hardware.FP4},
			"h100-sxm has no fp4 compute"},
		{"int4 activations", Deployment{Model: llama70B(), Chip: h100(), Weights: hardware.INT4, Activations: hardware.INT4},
			"int4 is weight-only"},
		{"tp does not divide heads", Deployment{Model: llama70B(), Chip: h100(), Weights: hardware.FP8, TP: 3},
			"must divide the 64 attention heads"},
		{"pp beyond layers", Deployment{Model: llama8B(), Chip: h100(), Weights: hardware.BF16, PP: 64},
			"more stages than the 32 layers"},
		{"ep on a dense model", Deployment{Model: llama8B(), Chip: h100(), Weights: hardware.BF16, TP: 2, EP: 2},
			"expert parallelism needs a mixture-of-experts model"},
	}
	for _, c := range cases {
		_, err := New(c.d, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
	// W4A8 and W4A16 run.
	for _, a := range []hardware.Precision{hardware.INT8, hardware.BF16} {
		in, err := New(Deployment{Model: llama70B(), Chip: ascend910B2(), Weights: hardware.INT4, Activations: a, TP: 4}, nil)
		if err != nil {
			t.Fatalf("W4A%v: %v", a, err)
		}
		if in.compute != a {
			t.Errorf("W4A%v computes in %v", a, in.compute)
		}
	}
}

// TestMonotone: a bigger batch takes longer but costs less per token.
func TestMonotone(t *testing.T) {
	for _, d := range []Deployment{
		{Model: llama70B(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 4},
		{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 8, EP: 8, DP: 8},
	} {
		in := mustNew(t, d)
		prev, prevPer := 0.0, math.Inf(1)
		for b := 1; b <= 1024; b *= 2 {
			s := in.Step(&Batch{DecodeSeqs: b, DecodeTokens: b, DecodeKV: b * 2000})
			tot := float64(s.Total)
			if tot <= prev {
				t.Errorf("%s: step at batch %d %g ≤ batch %d's %g", d.Model.ID, b, tot, b/2, prev)
			}
			if per := tot / float64(b); per >= prevPer {
				t.Errorf("%s: per-token time at batch %d %g ≥ %g", d.Model.ID, b, per, prevPer)
			} else {
				prevPer = per
			}
			prev = tot
		}
	}
}

// TestMLAKeepsLatentWhole: MLA's latent is replicated across attention
// TP ranks, so TP does not shrink the KV read per device; DP does.
func TestMLAKeepsLatentWhole(t *testing.T) {
	tp := mustNew(t, Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, KV: hardware.BF16, TP: 8, EP: 8})
	dp := mustNew(t, Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, KV: hardware.BF16, TP: 8, EP: 8, DP: 8})
	// 576 latent+rope elements × 2 bytes per layer, on every device.
	if tp.kvBytesTok != 576*2 || dp.kvBytesTok != 576*2 {
		t.Fatalf("kv bytes per token-layer %g / %g, want 1152", tp.kvBytesTok, dp.kvBytesTok)
	}
	b := &Batch{DecodeSeqs: 256, DecodeTokens: 256, DecodeKV: 256 * 4000}
	if a, d := tp.Step(b).Attention.Seconds, dp.Step(b).Attention.Seconds; d >= a/4 {
		t.Errorf("attention %v with DP8 vs %v with TP8: DP should split the KV reads 8 ways", d, a)
	}
}

func TestSpeculativeTokensPerStep(t *testing.T) {
	for _, c := range []struct {
		k    int
		a    float64
		want float64
	}{{1, 0.7, 1.7}, {3, 0.7, 1 + 0.7 + 0.49 + 0.343}, {2, 0.85, 1 + 0.85 + 0.7225}} {
		in := mustNew(t, Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 8, EP: 8,
			Speculative: &Speculative{Method: "mtp", DraftTokens: c.k, Acceptance: c.a}})
		if got := in.TokensPerStep(); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("k=%d a=%g: %g tokens per step, want %g", c.k, c.a, got, c.want)
		}
		s := in.Step(&Batch{DecodeSeqs: 32, DecodeTokens: 32 * (c.k + 1), DecodeKV: 32 * 2000})
		if s.Draft.Seconds <= 0 {
			t.Errorf("k=%d: no draft cost", c.k)
		}
	}
}

// TestDeepGEMMShapes compares the GEMM sub-model with DeepGEMM's published
// FP8 GEMM rates on H800 (deepseek-ai/DeepGEMM README; the H800 has the
// H100's compute and memory). It is a sanity band, not a fit: the model
// must land within 25% of every row (it does within 17%).
func TestDeepGEMMShapes(t *testing.T) {
	in := mustNew(t, Deployment{Model: llama70B(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, Engine: TRTLLM})
	rows := []struct{ m, n, k, tflops float64 }{
		{64, 2112, 7168, 206}, {64, 24576, 1536, 289}, {64, 7168, 16384, 336}, {64, 4096, 7168, 287},
		{128, 2112, 7168, 352}, {128, 24576, 1536, 535}, {128, 7168, 16384, 645}, {128, 4096, 7168, 533},
		{4096, 2112, 7168, 1058}, {4096, 24576, 1536, 990}, {4096, 7168, 16384, 1358}, {4096, 4096, 7168, 1304},
		{4096, 7168, 2048, 1025},
	}
	for _, r := range rows {
		flops := 2 * r.m * r.n * r.k
		bytes := r.n*r.k + r.m*r.k + 2*r.m*r.n
		tm, _ := roof(flops*(r.m+gemmTile/2)/r.m, in.gemmRate, bytes, in.memBW)
		tm += in.kernel
		got := flops / tm / 1e12
		ratio := got / r.tflops
		t.Logf("M=%4.0f N=%5.0f K=%5.0f: model %5.0f TFLOPS, DeepGEMM %5.0f (×%.2f)", r.m, r.n, r.k, got, r.tflops, ratio)
		if ratio < 0.75 || ratio > 1.25 {
			t.Errorf("M=%g N=%g K=%g: model %.0f TFLOPS vs measured %.0f", r.m, r.n, r.k, got, r.tflops)
		}
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	in := mustNew(t, Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 8, EP: 8, DP: 8,
		Speculative: &Speculative{Method: "mtp", DraftTokens: 1, Acceptance: 0.8}})
	b := &Batch{DecodeSeqs: 256, DecodeTokens: 512, DecodeKV: 256 * 3000, PrefillSeqs: 2, PrefillTokens: 4096, PrefillKV: 4e6}
	if n := testing.AllocsPerRun(100, func() { in.Step(b) }); n != 0 {
		t.Errorf("Step allocates %v times", n)
	}
}

func BenchmarkStep(b *testing.B) {
	for _, c := range []struct {
		name string
		d    Deployment
	}{
		{"llama-3.1-70b", Deployment{Model: llama70B(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 4}},
		{"deepseek-v3", Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: hardware.FP8, TP: 8, EP: 8, DP: 8,
			Speculative: &Speculative{Method: "mtp", DraftTokens: 1, Acceptance: 0.8}}},
	} {
		b.Run("model="+c.name, func(b *testing.B) {
			in := mustNew(b, c.d)
			batch := &Batch{DecodeSeqs: 128, DecodeTokens: 128, DecodeKV: 128 * 2000, PrefillSeqs: 1, PrefillTokens: 2048, PrefillKV: 2048 * 1024}
			b.ReportAllocs()
			for b.Loop() {
				in.Step(batch)
			}
		})
	}
}

// TestSparseAttention: DeepSeek-V3.2's indexer keeps decode attention
// near flat past top-k keys while dense MLA grows with the context.
func TestSparseAttention(t *testing.T) {
	dense := deepseekV3()
	sparse := deepseekV3()
	sparse.IndexTopK, sparse.IndexHeads, sparse.IndexHeadDim = 2048, 64, 128
	att := func(m *model.Model, ctx int) float64 {
		in := mustNew(t, Deployment{Model: m, Chip: h100(), Node: hgx(), Weights: "fp8", KV: "fp8", TP: 8, EP: 8, DP: 8})
		b := Batch{DecodeSeqs: 64, DecodeTokens: 64, DecodeKV: 64 * ctx}
		return float64(in.Step(&b).Attention.Seconds)
	}
	// Below top-k the selected keys are all the keys: sparse costs the
	// dense read plus the indexer's (132 B per key against 576).
	if d, s := att(dense, 1024), att(sparse, 1024); !(s > d && s < 1.5*d) {
		t.Errorf("1K context: sparse %.3g s vs dense %.3g s, want a little more", s, d)
	}
	// At 64K the dense read is 32× the 2K one; sparse reads 2,048
	// latents per sequence plus the indexer's 132 B for all 64K keys:
	// (2,048 × 576 + 65,536 × 132) / (65,536 × 576) ≈ 0.26 of dense.
	if d, s := att(dense, 65536), att(sparse, 65536); !(s < 0.4*d) {
		t.Errorf("64K context: sparse %.3g s vs dense %.3g s, want under 0.4×", s, d)
	}
}

// TestGroupedExpertStreaming: a memory-bound MoE step streams the touched
// experts' weights at groupedStream (0.65) of the dense rate. DeepSeek-V3
// fp8 on 8 H100s with EP8, one decode token per rank (8 tokens): each
// token picks 8 of 256 experts, so a rank's 32 experts are touched
// 32·(1−(1−8/256)^8) = 7.28 times in expectation; one expert's weights
// are 3 × 7168 × 2048 fp8 bytes = 44.04 MB; the expert time per layer is
// at least 7.28 × 44.04 MB / (0.65 × 0.85 × 3.35 TB/s) = 173 µs.
func TestGroupedExpertStreaming(t *testing.T) {
	in := mustNew(t, Deployment{Model: deepseekV3(), Chip: h100(), Node: hgx(), Weights: "fp8", TP: 8, EP: 8, DP: 8})
	s := in.Step(&Batch{DecodeSeqs: 8, DecodeTokens: 8, DecodeKV: 8 * 100})
	touched := 32 * (1 - math.Pow(1-8.0/256, 8))
	weights := touched * 3 * 7168 * 2048
	floor := 58 * weights / (groupedStream * 0.85 * 3.35e12)
	if got := float64(s.Experts.Seconds); got < floor || got > 1.2*floor {
		t.Errorf("experts %.4g s over 58 MoE layers, want just above the streaming floor %.4g s", got, floor)
	}
}
