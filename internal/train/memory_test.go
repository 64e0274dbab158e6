package train

import (
	"math"
	"testing"

	"ersatz/internal/hardware"
)

// Korthikanti et al. 2022 (arXiv 2205.05198) Table 2, for GPT-3 175B at
// s = 2048, b = 1, h = 12288, a = 96: sbh = 2048·12288 = 25,165,824 and
// 5as/h = 5·96·2048/12288 = 80.
func TestActivationsKorthikanti(t *testing.T) {
	j := job(t, "meta-llama/Llama-3.1-8B-Instruct", "a100-sxm", 8, 2048, 8, hardware.BF16)
	j.Model, j.FlashAttention, j.Dropout = gpt3(t), false, true
	e := newEst(t, j)
	const sbh = 2048 * 12288.0
	for _, c := range []struct {
		name   string
		tp     int
		sp     bool
		r      Recompute
		factor float64 // bytes = sbh × factor
	}{
		// sbh(34 + 5as/h) = sbh(34 + 80) = 114 sbh = 2,868,903,936 B.
		{"none, no parallelism", 1, false, RecomputeNone, 34 + 80},
		// sbh(10 + 24/t + 5as/(ht)) at t = 8: 10 + 3 + 10 = 23 sbh.
		{"none, TP 8", 8, false, RecomputeNone, 10 + 24.0/8 + 80.0/8},
		// sbh(34/t + 5as/(ht)): 4.25 + 10 = 14.25 sbh.
		{"none, TP 8 + SP", 8, true, RecomputeNone, 34.0/8 + 80.0/8},
		// selective drops the 5as²b of the attention core:
		// sbh(10 + 24/t) = 13 sbh; with SP sbh·34/t = 4.25 sbh.
		{"selective, TP 8", 8, false, RecomputeSelective, 10 + 24.0/8},
		{"selective, TP 8 + SP", 8, true, RecomputeSelective, 34.0 / 8},
		{"selective, no parallelism", 1, false, RecomputeSelective, 34},
		// full keeps the layer input, 2sbh; under SP its shard, 2sbh/t.
		{"full, no parallelism", 1, false, RecomputeFull, 2},
		{"full, TP 8 + SP", 8, true, RecomputeFull, 2.0 / 8},
	} {
		got := e.e.ActivationBytesPerLayer(1, 2048, c.tp, 1, c.sp, c.r)
		if want := sbh * c.factor; math.Abs(got-want) > 1 {
			t.Errorf("%s: %.0f B, want %.0f (%.4g sbh)", c.name, got, want, c.factor)
		}
	}
	// Micro-batch and context parallelism scale the tokens: b = 2 doubles,
	// cp = 2 halves the tokens and the keys each query holds scores for.
	one := e.e.ActivationBytesPerLayer(1, 2048, 8, 1, true, RecomputeNone)
	if got := e.e.ActivationBytesPerLayer(2, 2048, 8, 1, true, RecomputeNone); math.Abs(got-2*one) > 1 {
		t.Errorf("b=2: %.0f, want %.0f", got, 2*one)
	}
	// cp 2: sbh/2·(34/t) + 5a(s/2)²b/t = 25,165,824·(2.125 + 2.5) B.
	if got, want := e.e.ActivationBytesPerLayer(1, 2048, 8, 2, true, RecomputeNone), sbh*(34.0/8/2+80.0/8/4); math.Abs(got-want) > 1 {
		t.Errorf("cp=2: %.0f, want %.0f", got, want)
	}
}

// With FlashAttention the scores are never stored, so selective
// recompute stores what none does; a gated FFN stores 6I.
func TestActivationsFlashAndGated(t *testing.T) {
	j := job(t, "meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", 8, 8192, 8, hardware.BF16)
	e := newEst(t, j)
	none := e.e.ActivationBytesPerLayer(1, 8192, 1, 1, false, RecomputeNone)
	sel := e.e.ActivationBytesPerLayer(1, 8192, 1, 1, false, RecomputeSelective)
	if none != sel {
		t.Errorf("FlashAttention: none %.0f != selective %.0f", none, sel)
	}
	// Llama-3.1-8B, per token: outside 4h + 2h + 2h = 8h = 32,768;
	// inside Q 2·4096 + K 2·1024 + V 2·1024 + O 2·4096 = 20,480, the
	// log-sum-exp 4·32 = 128, FFN 6·14336 = 86,016: 139,392 B per token.
	if want := 8192 * 139392.0; math.Abs(none-want) > 1 {
		t.Errorf("Llama-3.1-8B layer: %.0f B, want %.0f", none, want)
	}
}

// With fp8 GEMMs the GEMM inputs are kept quantized (Transformer
// Engine): Llama-3.1-8B per token, outside 4h + h + h = 6h = 24,576;
// inside Q, K, V, O as in bf16 (20,480) plus O's fp8 copy 4,096, the
// log-sum-exp 128, FFN gate and up 4·14336 + product 14336 = 71,680:
// 120,960 B per token, 13% less than in bf16.
func TestActivationsFP8(t *testing.T) {
	j := job(t, "meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", 8, 8192, 8, hardware.FP8)
	e := newEst(t, j)
	got := e.e.ActivationBytesPerLayer(1, 8192, 1, 1, false, RecomputeNone)
	if want := 8192 * 120960.0; math.Abs(got-want) > 1 {
		t.Errorf("Llama-3.1-8B fp8 layer: %.0f B, want %.0f", got, want)
	}
}

// Rajbhandari et al. 2020 (ZeRO, Figure 1): a 7.5B model on 64 GPUs
// needs 120 GB per GPU of weights, gradients and Adam states without
// ZeRO (16 B a parameter), 31.4 GB with P_os (4 + 12/64), 16.6 GB with
// P_os+g (2 + 14/64) and 1.9 GB with P_os+g+p (16/64).
func TestZeROStates(t *testing.T) {
	const psi = 7.5e9
	for _, c := range []struct {
		zero int
		gb   float64
	}{{0, 120}, {1, 31.4}, {2, 16.6}, {3, 1.875}} {
		w, g, o := StateBytesPerParam(c.zero, 64, 2)
		if got := psi * (w + g + o) / 1e9; math.Abs(got-c.gb) > 0.05 {
			t.Errorf("ZeRO-%d: %.2f GB, want %.2f", c.zero, got, c.gb)
		}
	}
	// Stage 1 shards only the optimizer: 2 + 2 + 12/8 = 5.5 B.
	if w, g, o := StateBytesPerParam(1, 8, 2); w != 2 || g != 2 || o != 1.5 {
		t.Errorf("ZeRO-1 over 8: %g %g %g", w, g, o)
	}
	// Megatron's distributed-optimizer table (docs/source/api-guide/
	// dist_optimizer.md), bf16 weights with fp32 gradients: 18 B without
	// sharding, 6 + 12/d with it; at d = 8, 7.5 B.
	for _, c := range []struct {
		zero int
		want float64
	}{{0, 18}, {1, 6 + 12.0/8}} {
		if w, g, o := StateBytesPerParam(c.zero, 8, 4); w+g+o != c.want {
			t.Errorf("Megatron ZeRO-%d over 8: %g B, want %g", c.zero, w+g+o, c.want)
		}
	}
}

// The memory account of a layout: Llama-3.2-3B (3.21e9 parameters, tied
// head counted once) on 8 H100, tp1 pp1 dp8: every device holds every
// parameter, at 2 B of weights, 4 B of fp32 gradients and 12 B of Adam
// states a parameter, sharded over the 8 ranks by stage.
func TestMemoryByZeRO(t *testing.T) {
	j := job(t, "meta-llama/Llama-3.2-3B-Instruct", "h100-sxm", 8, 4096, 32, hardware.BF16)
	e := newEst(t, j)
	total, _ := j.Model.Params()
	for _, z := range []int{0, 1, 2, 3} {
		r, err := e.Evaluate(Layout{TP: 1, PP: 1, DP: 8, ZeRO: z, Recompute: RecomputeFull, MicroBatch: 1})
		if err != nil {
			t.Fatalf("zero %d: %v", z, err)
		}
		w, g, o := StateBytesPerParam(z, 8, 4)
		m := r.Memory
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"weights", float64(m.Weights), total * w}, {"gradients", float64(m.Gradients), total * g}, {"optimizer", float64(m.Optimizer), total * o}} {
			if math.Abs(c.got-c.want) > 1e3 {
				t.Errorf("zero %d %s: %.4g, want %.4g", z, c.name, c.got, c.want)
			}
		}
	}
}

// A layout that does not fit is refused with the term that overflows.
func TestOverflowNamesTerm(t *testing.T) {
	j := job(t, "meta-llama/Llama-3.1-70B-Instruct", "h100-sxm", 8, 4096, 8, hardware.BF16)
	e := newEst(t, j)
	_, err := e.Evaluate(Layout{TP: 1, PP: 1, DP: 8, ZeRO: 0, Recompute: RecomputeNone, MicroBatch: 1})
	var oe *OverflowError
	if !asOverflow(err, &oe) || oe.Term != "optimizer states" {
		t.Fatalf("70B at ZeRO-0 on 8 H100: %v, want the optimizer states to overflow", err)
	}
}

func asOverflow(err error, oe **OverflowError) bool {
	o, ok := err.(*OverflowError)
	*oe = o
	return ok
}

// Block recompute reruns the fewest whole layers of a stage that fit:
// Llama 3 405B on 8,192 H100 at tp8 pp16 vpp4 holds 8 layers a stage and
// 16·(1 + 15/64) = 19.75 micro-batches in flight; with none it needs
// about 150 GB, so some of the 8 layers recompute, and one fewer would
// not fit.
func TestBlockRecompute(t *testing.T) {
	j := job(t, "meta-llama/Llama-3.1-405B-Instruct", "h100-sxm", 8192, 8192, 2048, hardware.BF16)
	e := newEst(t, j)
	l := Layout{TP: 8, PP: 16, DP: 64, VPP: 4, ZeRO: 1, Recompute: RecomputeBlock, MicroBatch: 1}
	r, err := e.Evaluate(l)
	if err != nil {
		t.Fatal(err)
	}
	k := r.RecomputedShare * 8
	if k < 1 || k > 7 || math.Abs(k-math.Round(k)) > 1e-9 {
		t.Fatalf("recomputed share %g: want a whole number of the 8 layers, some but not all", r.RecomputedShare)
	}
	if r.Memory.Total > r.Memory.Usable {
		t.Errorf("block: %.1f GB over %.1f usable", r.Memory.Total.GB(), r.Memory.Usable.GB())
	}
	first, _ := e.e.stages(&r.Layout)
	fewer := e.e.stageMemory(&r.Layout, first, 0, 19.75, (k-1)/8, r.Memory.Usable)
	if fewer.Total <= r.Memory.Usable {
		t.Errorf("%g layers would fit too (%.1f GB)", k-1, fewer.Total.GB())
	}
	full, _ := e.Evaluate(Layout{TP: 8, PP: 16, DP: 64, VPP: 4, ZeRO: 1, Recompute: RecomputeFull, MicroBatch: 1})
	if !(r.Step.Recompute.Seconds < full.Step.Recompute.Seconds && r.Step.Total < full.Step.Total) {
		t.Errorf("block recompute %v not cheaper than full %v", r.Step.Recompute.Seconds, full.Step.Recompute.Seconds)
	}
}
