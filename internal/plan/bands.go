package plan

import (
	"fmt"

	"ersatz/internal/accuracy"
	"ersatz/internal/hardware"
)

// Bands and confidence. With Request.Bands set, every plan's latency band
// is the interval at Request.BandLevel: the spread of the chip's numbers
// and the model's parameters combined with the model's residual spread
// for the engine on the chip's family (TTFT in the prefill phase, TPOT in
// decode; docs/accuracy.md). With Request.Confidence P, a plan passes only
// if its TTFT and TPOT meet the targets at the pessimistic (high) edge of
// the band at level P; the ranking stays on the point estimate.

func (req *Request) regime(c *hardware.Chip, phase string) accuracy.Regime {
	return accuracy.Regime{Engine: string(req.Engine), Family: c.Family, Phase: phase}
}

// edges are the factors by which the residual spread alone moves a
// point latency to its pessimistic edge at Confidence: a cheap first
// filter on the batch ladder, before the parameter spread is known.
func (req *Request) edges(dec, pre *hardware.Chip) (ttft, tpot float64) {
	if req.Bands == nil || req.Confidence == 0 {
		return 1, 1
	}
	_, ttft, _ = req.Bands.Band(req.regime(pre, accuracy.Prefill), "ttft_ms_mean", 1, 1, 1, req.Confidence)
	_, tpot, _ = req.Bands.Band(req.regime(dec, accuracy.Decode), "tpot_ms_mean", 1, 1, 1, req.Confidence)
	return ttft, tpot
}

// calibrate turns pl's input bands into intervals at BandLevel and says
// whether the plan meets its targets at the pessimistic edge at
// Confidence; when it does not, the second result says by how much.
func (req *Request) calibrate(pl *Plan, dec, pre *hardware.Chip) (ok bool, reason Reason, detail string, miss float64) {
	if req.Bands == nil {
		return true, "", "", 0
	}
	ttftLo, ttftHi, tpotLo, tpotHi := pl.TTFTLowS, pl.TTFTHighS, pl.TPOTLowS, pl.TPOTHighS
	band := func(level float64) (a, b, c, d float64) {
		a, b, _ = req.Bands.Band(req.regime(pre, accuracy.Prefill), "ttft_ms_mean", pl.TTFTS, ttftLo, ttftHi, level)
		c, d, _ = req.Bands.Band(req.regime(dec, accuracy.Decode), "tpot_ms_mean", pl.TPOTS, tpotLo, tpotHi, level)
		return
	}
	pl.TTFTLowS, pl.TTFTHighS, pl.TPOTLowS, pl.TPOTHighS = band(req.BandLevel)
	if req.Confidence == 0 {
		return true, "", "", 0
	}
	_, ttftEdge, _, tpotEdge := band(req.Confidence)
	pl.TTFTEdgeS, pl.TPOTEdgeS = ttftEdge, tpotEdge
	pct := req.SLO.Percentile
	if req.SLO.TPOTS > 0 && tpotEdge > req.SLO.TPOTS {
		return false, ReasonTPOT, fmt.Sprintf("%s: TPOT p%g %.1f ms at the %.0f%% band's pessimistic edge > %.1f ms", pl.Layout, pct, tpotEdge*1e3, req.Confidence*100, req.SLO.TPOTS*1e3), tpotEdge / req.SLO.TPOTS
	}
	if req.SLO.TTFTS > 0 && ttftEdge > req.SLO.TTFTS {
		return false, ReasonTTFT, fmt.Sprintf("%s: TTFT p%g %.0f ms at the %.0f%% band's pessimistic edge > %.0f ms", pl.Layout, pct, ttftEdge*1e3, req.Confidence*100, req.SLO.TTFTS*1e3), ttftEdge / req.SLO.TTFTS
	}
	return true, "", "", 0
}
