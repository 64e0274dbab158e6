package perf

import (
	"testing"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
)

// Hand-built models, so that these tests do not depend on the model
// catalog: the shapes are the published configs.
func llama70B() *model.Model {
	return &model.Model{ID: "meta-llama/Llama-3.1-70B", Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8,
		HeadDim: 128, Intermediate: 28672, Vocab: 128256}
}

func llama8B() *model.Model {
	return &model.Model{ID: "meta-llama/Llama-3.1-8B", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8,
		HeadDim: 128, Intermediate: 14336, Vocab: 128256}
}

func deepseekV3() *model.Model {
	return &model.Model{ID: "deepseek-ai/DeepSeek-V3", Layers: 61, Hidden: 7168, Heads: 128, KVHeads: 128,
		HeadDim: 128, QLoraRank: 1536, KVLoraRank: 512, QKNopeHeadDim: 128, QKRopeHeadDim: 64, VHeadDim: 128,
		Intermediate: 18432, Experts: 256, ExpertsPerToken: 8, MoEIntermediate: 2048, SharedExperts: 1,
		SharedIntermediate: 2048, DenseLayers: 3, Vocab: 129280, MTPLayers: 1}
}

func v(x float64) *hardware.Value {
	return &hardware.Value{Value: x, Source: "test", Confidence: hardware.Datasheet}
}

// h100 is the H100 SXM datasheet.
func h100() *hardware.Chip {
	return &hardware.Chip{ID: "h100-sxm", Vendor: "nvidia", Family: "hopper", Dies: 1,
		DenseTFLOPS: map[hardware.Precision]*hardware.Value{
			hardware.BF16: v(989), hardware.FP16: v(989), hardware.FP8: v(1979), hardware.INT8: v(1979)},
		MemoryGB: v(80), MemoryTBps: v(3.35), ScaleUpGBpsPerDir: v(450), ScaleOutGBpsPerDir: v(50)}
}

// ascend910B2 has no fp8.
func ascend910B2() *hardware.Chip {
	return &hardware.Chip{ID: "ascend-910b2", Vendor: "huawei", Family: "ascend-a2", Dies: 1,
		DenseTFLOPS: map[hardware.Precision]*hardware.Value{
			hardware.BF16: v(353.9), hardware.FP16: v(376), hardware.INT8: v(752)},
		MemoryGB: v(64), MemoryTBps: v(1.6), ScaleUpGBpsPerDir: v(196), ScaleOutGBpsPerDir: v(25)}
}

func hgx() *hardware.Node {
	return &hardware.Node{ID: "hgx-h100-8", ChipsPerNode: 8, ScaleUpDomain: 8, Topology: "switch"}
}

// mustNew builds an instance of the analytic model: the tests check its
// arithmetic, so the stack efficiencies measured from the corpus (which
// scale whole steps afterwards, stack_test.go) are left out.
func mustNew(t testing.TB, d Deployment) *Instance {
	t.Helper()
	p := DefaultParams()
	p.Stack = nil
	in, err := New(d, p)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func within(got, lo, hi float64) bool { return got >= lo && got <= hi }
