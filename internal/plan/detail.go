package plan

import (
	"fmt"

	"ersatz/internal/fit"
	"ersatz/internal/hardware"
	"ersatz/internal/perf"
)

// A report shows more of a plan than its row: the step behind it and its
// latency at other loads. Both are computed again from the plan's fields
// with the same model, so they agree with the row at the planned load.

// CurvePoint is a plan's predicted latency at one arrival rate.
type CurvePoint struct {
	RatePerS  float64 `json:"rate_per_s"`
	OutputTPS float64 `json:"output_tokens_per_s"`
	TTFTS     float64 `json:"ttft_s"` // at the SLO percentile
	TPOTS     float64 `json:"tpot_s"`
	TTFTLowS  float64 `json:"ttft_low_s"`
	TTFTHighS float64 `json:"ttft_high_s"`
	TPOTLowS  float64 `json:"tpot_low_s"`
	TPOTHighS float64 `json:"tpot_high_s"`
	Saturated bool    `json:"saturated"`
}

// Scenario rebuilds the perf scenario of a plan at an arrival rate, on
// engine (empty: the request's engine).
func Scenario(req Request, p *Plan, engine perf.Engine, rate float64) (perf.Scenario, error) {
	if engine == "" {
		engine = req.Engine
	}
	if engine == "" {
		engine = perf.VLLM
	}
	if req.Params == nil {
		req.Params = perf.DefaultParams()
	}
	w := perf.Workload{InputTokens: req.Traffic.InputTokens, OutputTokens: req.Traffic.OutputTokens, PrefixHit: req.Traffic.PrefixHit}
	sc := perf.Scenario{Workload: w, Load: perf.Load{Kind: perf.Rate, Rate: rate}}
	dec, err := instanceOf(req, engine, p.Chip, p.Node, p.Weights, p.KVCache, p.Layout)
	if err != nil {
		return sc, err
	}
	if p.Serving != Disaggregated {
		sc.Mixed, sc.MixedCount = dec, p.Replicas
		return sc, nil
	}
	chip, node, weights, kv := p.Chip, p.Node, p.Weights, p.KVCache
	if p.PrefillChip != "" {
		c, err := req.Catalog.Chip(p.PrefillChip)
		if err != nil {
			return sc, err
		}
		n, err := req.Catalog.NodeOf(c)
		if err != nil {
			return sc, err
		}
		chip, node, weights = c.ID, n.ID, p.PrefillWeights
		kv = ""
		only := req
		only.Precisions = []hardware.Precision{hardware.Precision(weights)}
		for _, sh := range only.precisions(c) {
			kv = string(sh.kv)
		}
	}
	pre, err := instanceOf(req, engine, chip, node, weights, kv, p.PrefillLayout)
	if err != nil {
		return sc, err
	}
	sc.Prefill, sc.PrefillCount, sc.Decode, sc.DecodeCount = pre, p.PrefillReplicas, dec, p.Replicas
	return sc, nil
}

func instanceOf(req Request, engine perf.Engine, chipID, nodeID, weights, kv, layout string) (*perf.Instance, error) {
	c, err := req.Catalog.Chip(chipID)
	if err != nil {
		return nil, err
	}
	n, err := req.Catalog.Node(nodeID)
	if err != nil {
		return nil, err
	}
	var l fit.Layout
	if _, err := fmt.Sscanf(layout, "tp%d pp%d ep%d dp%d", &l.TP, &l.PP, &l.EP, &l.DP); err != nil {
		return nil, fmt.Errorf("plan layout %q: want tpN ppN epN dpN", layout)
	}
	return perf.New(perf.Deployment{Model: req.Model, Chip: c, Node: n, Weights: hardware.Precision(weights), KV: hardware.Precision(kv),
		TP: l.TP, PP: l.PP, EP: l.EP, DP: l.DP, Engine: engine}, req.Params)
}

// Curve predicts a plan's latency, with its band, at each rate: the band
// at the request's level, as the plan's own.
func Curve(req Request, p *Plan, engine perf.Engine, rates []float64) ([]CurvePoint, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	if engine != "" {
		req.Engine = engine
	}
	dec, pre := chipOf(&req, p.Chip), chipOf(&req, p.Chip)
	if p.PrefillChip != "" {
		pre = chipOf(&req, p.PrefillChip)
	}
	pct := req.SLO.Percentile
	var out []CurvePoint
	for _, rate := range rates {
		sc, err := Scenario(req, p, engine, rate)
		if err != nil {
			return nil, err
		}
		var rs [3]perf.Result
		for i, v := range []int{0, -1, +1} {
			s := sc
			for _, in := range []**perf.Instance{&s.Mixed, &s.Prefill, &s.Decode} {
				if *in != nil && v != 0 {
					*in = (*in).Variant(v)
				}
			}
			if rs[i], err = perf.Serve(s); err != nil {
				return nil, err
			}
		}
		r, hi, lo := rs[0], rs[1], rs[2]
		band := &Plan{TTFTS: float64(r.TTFT.At(pct)), TPOTS: float64(r.TPOT.At(pct)),
			TTFTLowS: float64(lo.TTFT.At(pct)), TTFTHighS: float64(hi.TTFT.At(pct)),
			TPOTLowS: float64(lo.TPOT.At(pct)), TPOTHighS: float64(hi.TPOT.At(pct))}
		req.calibrate(band, dec, pre)
		out = append(out, CurvePoint{RatePerS: rate, OutputTPS: r.OutputTPS,
			TTFTS: band.TTFTS, TPOTS: band.TPOTS, TTFTLowS: band.TTFTLowS, TTFTHighS: band.TTFTHighS,
			TPOTLowS: band.TPOTLowS, TPOTHighS: band.TPOTHighS, Saturated: r.Saturated})
	}
	return out, nil
}

// Breakdown is the steady state of a plan at the planned rate: each
// pool's step by component, for a report's step breakdown.
func Breakdown(req Request, p *Plan, engine perf.Engine) (perf.Result, error) {
	if err := req.validate(); err != nil {
		return perf.Result{}, err
	}
	sc, err := Scenario(req, p, engine, req.Traffic.RatePerS)
	if err != nil {
		return perf.Result{}, err
	}
	return perf.Serve(sc)
}
