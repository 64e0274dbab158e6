package plan

import (
	"testing"

	"ersatz/internal/accuracy"
)

// TestConfidence: with --confidence 0.9 every plan meets its TPOT target
// at the pessimistic edge of its 90% band, so it needs at least as much
// as the plan judged by the point estimate; the 80% bands hold the point.
func TestConfidence(t *testing.T) {
	req := request(t, "Qwen/Qwen3-32B", "h200-sxm", "ascend-910c")
	req.Traffic = Traffic{RatePerS: 5, InputTokens: 1155, OutputTokens: 211}
	req.SLO = SLO{TTFTS: 1, TPOTS: 0.04, Percentile: 90}
	req.Bands = accuracy.Default()
	point, err := Run(req)
	if err != nil {
		t.Fatal(err)
	}
	req.Confidence = 0.9
	sure, err := Run(req)
	if err != nil {
		t.Fatal(err)
	}
	if point.Recommended == nil || sure.Recommended == nil {
		t.Fatalf("no plan: %+v / %+v", point.Why, sure.Why)
	}
	for _, c := range sure.Chips {
		for _, p := range append([]*Plan{c.Best}, c.Others...) {
			if p == nil {
				continue
			}
			if p.TPOTEdgeS > req.SLO.TPOTS || p.TTFTEdgeS > req.SLO.TTFTS || p.TPOTEdgeS < p.TPOTS {
				t.Errorf("%s %s: TPOT edge %.1f ms (point %.1f), TTFT edge %.0f ms: want the edges within 40 ms and 1 s", c.Chip, p.Layout, p.TPOTEdgeS*1e3, p.TPOTS*1e3, p.TTFTEdgeS*1e3)
			}
			if !(p.TPOTLowS <= p.TPOTS && p.TPOTS <= p.TPOTHighS && p.TTFTLowS <= p.TTFTS && p.TTFTS <= p.TTFTHighS) {
				t.Errorf("%s %s: the band does not hold the point", c.Chip, p.Layout)
			}
		}
	}
	if sure.Recommended.CostUSDPerHour < point.Recommended.CostUSDPerHour {
		t.Errorf("at confidence 0.9 the plan costs $%.2f/h, less than the point estimate's $%.2f/h", sure.Recommended.CostUSDPerHour, point.Recommended.CostUSDPerHour)
	}
	if sure.Confidence != 0.9 || sure.BandLevel != 0.8 {
		t.Errorf("result says band %g, confidence %g; want 0.8 and 0.9", sure.BandLevel, sure.Confidence)
	}
}
