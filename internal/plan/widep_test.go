package plan

import (
	"testing"

	"ersatz/internal/fit"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
)

// The search proposes supernode-wide expert parallelism where the scale-up
// domain holds it: CloudMatrix384 (384 × 910C, 768 dies) gets DeepSeek's
// EP320 (256 experts + 32 shared + 32 redundant, 160 chips of 2 dies);
// an 8-chip Atlas 800 A3 server (16 dies) does not.
func TestLayoutsWideEP(t *testing.T) {
	cat := hardware.Default()
	c, err := cat.Chip("ascend-910c")
	if err != nil {
		t.Fatal(err)
	}
	r1, err := model.Default().Model("deepseek-ai/DeepSeek-R1")
	if err != nil {
		t.Fatal(err)
	}
	has := func(node string) bool {
		for _, n := range cat.Nodes {
			if n.ID != node {
				continue
			}
			for _, l := range layouts(c, n, r1) {
				if l == (fit.Layout{TP: 320, PP: 1, EP: 320, DP: 320}) {
					return true
				}
			}
		}
		return false
	}
	if !has("cloudmatrix384") {
		t.Error("cloudmatrix384: no tp320 ep320 dp320 layout")
	}
	if has("atlas-800-a3") {
		t.Error("atlas-800-a3: an EP320 layout beyond its 16-die domain")
	}
	if w := wideEP(r1, 2); w != 320 {
		t.Errorf("wideEP(R1, 2 dies) = %d, want 256 + 256/4 = 320", w)
	}
}
