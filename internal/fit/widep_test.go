package fit

import (
	"testing"

	"ersatz/internal/model"
)

// Wide expert parallelism: EP that does not divide the routed experts, or
// exceeds them, is a layout (redundant and shared experts fill the ranks).
func TestWideEP(t *testing.T) {
	r1, err := model.Default().Model("deepseek-ai/DeepSeek-R1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		l    Layout
		want float64
	}{
		{Layout{TP: 8, PP: 1, EP: 8, DP: 8}, 32},      // 256 / 8
		{Layout{TP: 144, PP: 1, EP: 144, DP: 144}, 2}, // ceil(256/144): 288 slots, 32 redundant
		{Layout{TP: 320, PP: 1, EP: 320, DP: 320}, 1}, // CloudMatrix384's EP320: one per die
	} {
		if err := CheckLayout(r1, c.l); err != nil {
			t.Errorf("%v: %v", c.l, err)
		}
		if got := ExpertsPerDevice(r1, c.l); got != c.want {
			t.Errorf("%v: %g experts per device, want %g", c.l, got, c.want)
		}
	}
	// One expert per die holds more than 256/320 of one: the EP320 die's
	// expert weights are 58 MoE layers × 1 × 44M params (3 × 7168 × 2048)
	// at 1 byte, 2.55 GB, against 256/320 of that at EP256-equivalent.
	int8w := Layout{TP: 320, PP: 1, EP: 320, DP: 320}
	got := DeviceWeights(r1, int8w, "int8")
	ep256 := DeviceWeights(r1, Layout{TP: 256, PP: 1, EP: 256, DP: 256}, "int8")
	if d := got - ep256; d < -1e8 || d > 1e8 {
		t.Errorf("EP320 %0.3g B vs EP256 %0.3g B per device: want the same expert slot (one each)", got, ep256)
	}
}
