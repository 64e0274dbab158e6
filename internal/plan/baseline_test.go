package plan

import (
	"math"
	"strings"
	"testing"

	"ersatz/internal/hardware"
)

func baseline(t *testing.T, id string, n int) Baseline {
	t.Helper()
	c, err := hardware.Default().Chip(id)
	if err != nil {
		t.Fatal(err)
	}
	return Baseline{Chip: c, Count: n}
}

// Without a rate, the traffic is the most the fleet carries, and a plan on
// the fleet's own chip, sized by the same rule, needs no more chips than
// the fleet has.
func TestBaselineCapacityIsSelfConsistent(t *testing.T) {
	req := request(t, "meta-llama/Llama-3.1-70B-Instruct", "h100-sxm", "ascend-910b2")
	req.Traffic.RatePerS = 0
	req.Precisions = []hardware.Precision{hardware.FP8, hardware.INT8}
	res, err := RunBaseline(req, baseline(t, "h100-sxm", 16))
	if err != nil {
		t.Fatal(err)
	}
	br := res.Baseline
	if br == nil || !br.RateFromBaseline || !br.Carries || !br.MeetsTargets {
		t.Fatalf("baseline %+v: want the rate from the fleet, carried within the targets", br)
	}
	if math.Abs(res.Traffic.RatePerS-br.CapacityPerS) > 1e-9 || br.CapacityPerS <= 0 {
		t.Errorf("planned rate %g, fleet capacity %g: want the capacity", res.Traffic.RatePerS, br.CapacityPerS)
	}
	if br.Plan.ChipsTotal != 16 || br.Plan.Replicas*br.Plan.Devices > 16 {
		t.Errorf("fleet plan %d chips, %d × %d devices: want all 16 chips priced, no more used", br.Plan.ChipsTotal, br.Plan.Replicas, br.Plan.Devices)
	}
	for _, c := range res.Chips {
		if c.Chip == "h100-sxm" && c.Best != nil && c.Best.ChipsTotal > 16 {
			t.Errorf("plan on h100-sxm takes %d chips for the rate 16 of them carry", c.Best.ChipsTotal)
		}
	}
	if len(br.Replacements) == 0 || br.Impact == nil || br.Impact.Without != br.Plan || br.Impact.With != res.Recommended {
		t.Errorf("replacements %d, impact %+v: want the recommendation against the fleet", len(br.Replacements), br.Impact)
	}
	// $/h of the fleet: 16 chips at the chip's hourly cost.
	c, _ := req.Catalog.Chip("h100-sxm")
	node, _ := req.Catalog.NodeOf(c)
	hourly, _, _ := DefaultCosts.ChipHourly(c, node)
	if got := br.Plan.CostUSDPerHour; math.Abs(got-16*hourly) > 1e-6 {
		t.Errorf("fleet cost %g $/h, want 16 × %g", got, hourly)
	}
}

// At a rate above its capacity the fleet is marked as not carrying it,
// and the replacement is still planned for the rate.
func TestBaselineOverloaded(t *testing.T) {
	req := request(t, "meta-llama/Llama-3.1-70B-Instruct", "ascend-910b2")
	req.Traffic.RatePerS = 0
	b := baseline(t, "h100-sxm", 8)
	first, err := RunBaseline(req, b)
	if err != nil {
		t.Fatal(err)
	}
	req.Traffic.RatePerS = 3 * first.Baseline.CapacityPerS
	res, err := RunBaseline(req, b)
	if err != nil {
		t.Fatal(err)
	}
	if br := res.Baseline; br.Carries || br.RateFromBaseline {
		t.Errorf("fleet at 3× its capacity: carries %v, rate from baseline %v", br.Carries, br.RateFromBaseline)
	}
	if res.Recommended == nil || res.Baseline.Impact == nil {
		t.Errorf("fleet at 3× its capacity: want a replacement planned for the rate")
	}
}

func TestBaselineErrors(t *testing.T) {
	req := request(t, "deepseek-ai/DeepSeek-R1", "ascend-910c")
	for _, tc := range []struct {
		b    Baseline
		want string
	}{
		{baseline(t, "h20", 4), "no instance shape of deepseek-ai/DeepSeek-R1 fits on 4 chips"},
		{Baseline{Chip: baseline(t, "h20", 1).Chip, Count: 64, Weights: hardware.FP4}, "h20 does not run it"},
		{Baseline{Count: 8}, "want a positive count and a chip"},
	} {
		if _, err := RunBaseline(req, tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("baseline %d × %v: error %v, want %q", tc.b.Count, tc.b.Chip, err, tc.want)
		}
	}
}
