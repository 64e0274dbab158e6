package plan

import (
	"math"
	"testing"

	"ersatz/internal/accuracy"
)

// The report's curve goes through the plan's own row at the planned rate:
// rebuilding a plan from its fields gives back its latency, aggregated,
// disaggregated and prefill on another chip alike.
func TestCurveAgreesWithPlan(t *testing.T) {
	req := request(t, "deepseek-ai/DeepSeek-R1", "ascend-910c", "ascend-910b2", "ascend-910b3", "h20")
	req.Traffic = Traffic{RatePerS: 8, InputTokens: 1155, OutputTokens: 211}
	req.Bands = accuracy.Default() // the bands at a level, as the CLI plans
	res, err := Run(req)
	if err != nil {
		t.Fatal(err)
	}
	var plans []*Plan
	for _, c := range res.Chips {
		if c.Best != nil {
			plans = append(plans, c.Best)
		}
	}
	plans = append(plans, res.CrossChip...)
	kinds := map[string]bool{}
	for _, p := range plans {
		kind := string(p.Serving)
		if p.PrefillChip != "" {
			kind = "cross-chip"
		}
		kinds[kind] = true
		pts, err := Curve(req, p, "", []float64{req.Traffic.RatePerS})
		if err != nil {
			t.Fatalf("%s %s: %v", p.Chip, kind, err)
		}
		got := pts[0]
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"TTFT", got.TTFTS, p.TTFTS}, {"TPOT", got.TPOTS, p.TPOTS}, {"TPOT high", got.TPOTHighS, p.TPOTHighS}, {"TTFT low", got.TTFTLowS, p.TTFTLowS}} {
			if math.Abs(c.got-c.want) > 1e-9*c.want {
				t.Errorf("%s %s: curve %s %g at the planned rate, plan %g", p.Chip, kind, c.name, c.got, c.want)
			}
		}
	}
	if !kinds["aggregated"] || !kinds["disaggregated"] {
		t.Errorf("plans covered %v: want aggregated and disaggregated", kinds)
	}
	if _, err := Breakdown(req, res.Recommended, ""); err != nil {
		t.Error(err)
	}
}
