package cli

import (
	"fmt"
	"math"
	"strconv"

	"ersatz/internal/hardware"
	"ersatz/internal/plan"
	"ersatz/internal/report"
)

// planView is how much of a plan the text output shows: the default table
// fits 120 columns (chip, verdict, chips, servers, replicas, precision,
// latencies with their bands, cost, verification); --wide adds the
// instance layouts, batch, throughput per chip, power and what binds;
// --top N keeps the N best chips (the recommended one always shows).
type planView struct {
	explain bool
	wide    bool
	top     int
	cat     *hardware.Catalog // names the nodes plans run in
}

// placement says what a plan runs in, as deployments count it: "10
// atlas-800-a2 servers", or for a rack or supernode "1 cloudmatrix384
// supernode (20 of its 48 servers)".
func placement(cat *hardware.Catalog, p *plan.Plan) string {
	var n *hardware.Node
	if cat != nil {
		for _, nd := range cat.Nodes {
			if nd.ID == p.Node {
				n = nd
			}
		}
	}
	if n == nil || n.Kind() == "server" {
		return plural(p.Nodes, p.Node+" server")
	}
	units := n.Units(p.ChipsTotal)
	per := n.ScaleUpDomain / max(n.ChipsPerNode, 1)
	if units == 1 {
		return fmt.Sprintf("1 %s %s (%d of its %d servers)", p.Node, n.Kind(), p.Nodes, per)
	}
	return fmt.Sprintf("%s (%d servers)", plural(units, p.Node+" "+n.Kind()), p.Nodes)
}

// keepTop returns res with its per-chip and cross-chip lists cut to the
// top best plans; the recommended plan always stays. top 0 keeps all.
func keepTop(res *plan.Result, top int) *plan.Result {
	if top <= 0 {
		return res
	}
	cut := *res
	cut.Chips = nil
	shown := 0
	for _, c := range res.Chips {
		if c.Best == nil || shown < top || c.Best == res.Recommended {
			cut.Chips = append(cut.Chips, c)
			if c.Best != nil {
				shown++
			}
		}
	}
	if len(cut.CrossChip) > top {
		cut.CrossChip = cut.CrossChip[:top]
	}
	return &cut
}

// summaryTable is the per-chip table of the default view.
func summaryTable(res *plan.Result) *report.Table {
	pct := pctName(res.SLO.Percentile)
	t := &report.Table{
		Header: []string{"chip", "policy", "chips", "servers", "replicas", "weights",
			"TTFT p" + pct + " s", "TPOT p" + pct + " ms", "$/h", "$/Mtok", "verified"},
		Right: map[int]bool{2: true, 3: true, 4: true, 6: true, 7: true, 8: true, 9: true},
	}
	for _, c := range res.Chips {
		p := c.Best
		if p == nil {
			continue
		}
		t.Add(p.Chip, decisionWord(c.Decision), p.ChipsTotal, p.Nodes, replicasText(p), p.Weights,
			bandCell(p.TTFTS, p.TTFTLowS, p.TTFTHighS, 1), bandCell(p.TPOTS, p.TPOTLowS, p.TPOTHighS, 1e3),
			sig(p.CostUSDPerHour, 3), sig(p.USDPerMTokens, 3), verifiedWord(p.Verified, res.SLO))
	}
	return t
}

// crossSummary is the cross-chip table of the default view.
func crossSummary(res *plan.Result) *report.Table {
	pct := pctName(res.SLO.Percentile)
	t := &report.Table{
		Header: []string{"prefill → decode", "chips", "replicas", "weights", "TTFT p" + pct + " s", "TPOT p" + pct + " ms", "$/h", "$/Mtok", "verified"},
		Right:  map[int]bool{1: true, 2: true, 4: true, 5: true, 6: true, 7: true},
	}
	for _, p := range res.CrossChip {
		t.Add(p.PrefillChip+" → "+p.Chip, p.ChipsTotal, replicasText(p), p.PrefillWeights+"/"+p.Weights,
			bandCell(p.TTFTS, p.TTFTLowS, p.TTFTHighS, 1), bandCell(p.TPOTS, p.TPOTLowS, p.TPOTHighS, 1e3),
			sig(p.CostUSDPerHour, 3), sig(p.USDPerMTokens, 3), verifiedWord(p.Verified, res.SLO))
	}
	return t
}

// bandCell is a latency and its low–high band in the column's unit
// (seconds for TTFT, milliseconds for TPOT; scale converts from seconds).
func bandCell(v, lo, hi, scale float64) string {
	return fmt.Sprintf("%s (%s–%s)", sig(v*scale, 3), sig(lo*scale, 2), sig(hi*scale, 2))
}

// sig formats v to n significant digits in fixed point: never an exponent,
// never a thousands separator, so a column reads one way (0.176, 39.4,
// 140, 1229).
func sig(v float64, n int) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.IsInf(v, 0):
		return report.Num(v, n)
	case v == 0:
		return "0"
	}
	d := n - 1 - int(math.Floor(math.Log10(math.Abs(v))))
	if d >= 0 {
		return strconv.FormatFloat(v, 'f', d, 64)
	}
	p := math.Pow(10, float64(-d))
	return strconv.FormatFloat(math.Round(v/p)*p, 'f', 0, 64)
}
