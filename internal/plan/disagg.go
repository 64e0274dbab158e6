package plan

import (
	"fmt"
	"math"

	"ersatz/internal/fit"
	"ersatz/internal/perf"
	"ersatz/internal/units"
)

// placed is an instance shape that holds the model.
type placed struct {
	in     *perf.Instance
	layout fit.Layout
}

// maxPrefillGrowth bounds how far the prefill pool grows past its
// throughput-sized count while chasing the TTFT target (queueing falls as
// the pool's utilisation does).
const maxPrefillGrowth = 4

// disaggregate tries prefill/decode disaggregation on the shapes that fit:
// the decode pool of the shape that decodes most per chip within the TPOT
// target, the prefill pool of the shape that prefills most per chip, each
// sized for the traffic, the prefill pool then grown until TTFT (queue,
// prefill, KV transfer, first decode step) meets its target.
func (s *chipSearch) disaggregate(fitting []placed, sh shape, w perf.Workload) {
	req := s.req
	if len(fitting) == 0 {
		return
	}
	var dec, pre placed
	var decRate, preRate float64 // requests per second per chip
	for _, f := range fitting {
		s.candidates++
		r, err := perf.Serve(perf.Scenario{Prefill: f.in, PrefillCount: 1, Decode: f.in, DecodeCount: 1, Workload: w,
			Load: perf.Load{Kind: perf.SLOOnly, SLO: &perf.SLO{TPOT: units.Seconds(req.SLO.TPOTS), Percentile: req.SLO.Percentile}}})
		if err != nil {
			continue
		}
		chips := f.in.Chips()
		if p := r.Pool("decode"); p != nil {
			if v := p.OutputTPS / w.OutputTokens / chips; v > decRate {
				dec, decRate = f, v
			}
		}
		if p := r.Pool("prefill"); p != nil {
			if v := p.InputTPS / w.InputTokens / chips; v > preRate {
				pre, preRate = f, v
			}
		}
	}
	if dec.in == nil || pre.in == nil {
		return
	}
	need := req.Traffic.RatePerS * (1 + req.Headroom)
	nd := max(1, int(math.Ceil(need/(decRate*dec.in.Chips())-1e-9)))
	np0 := max(1, int(math.Ceil(need/(preRate*pre.in.Chips())-1e-9)))
	pct := req.SLO.Percentile
	eval := func(np int, v int) (perf.Result, error) {
		p, d := pre.in, dec.in
		if v != 0 {
			p, d = p.Variant(v), d.Variant(v)
		}
		return perf.Serve(perf.Scenario{Prefill: p, PrefillCount: np, Decode: d, DecodeCount: nd, Workload: w,
			Load: perf.Load{Kind: perf.Rate, Rate: req.Traffic.RatePerS}})
	}
	for np := np0; np <= np0*maxPrefillGrowth; np++ {
		s.candidates++
		r, err := eval(np, 0)
		if err != nil {
			return
		}
		ttft, tpot := float64(r.TTFT.At(pct)), float64(r.TPOT.At(pct))
		if req.SLO.TPOTS > 0 && tpot > req.SLO.TPOTS {
			s.reject(ReasonTPOT, fmt.Sprintf("disaggregated %s/%s %s: TPOT p%g %.1f ms > %.1f ms", pre.layout, dec.layout, sh.weights, pct, tpot*1e3, req.SLO.TPOTS*1e3), tpot/req.SLO.TPOTS)
			return
		}
		if req.SLO.TTFTS > 0 && ttft > req.SLO.TTFTS {
			if np == np0*maxPrefillGrowth {
				s.reject(ReasonTTFT, fmt.Sprintf("disaggregated %s/%s %s with %d prefill instances: TTFT p%g %.0f ms > %.0f ms", pre.layout, dec.layout, sh.weights, np, pct, ttft*1e3, req.SLO.TTFTS*1e3), ttft/req.SLO.TTFTS)
			}
			continue
		}
		hi, _ := eval(np, -1)
		lo, _ := eval(np, +1)
		pl := &Plan{
			Chip: s.chip.ID, Vendor: s.chip.Vendor, Node: s.node.ID, Serving: "disaggregated",
			Weights: string(sh.weights), KVCache: string(sh.kv), Layout: dec.layout.String(), Devices: dec.layout.Devices(),
			Replicas: nd, PrefillLayout: pre.layout.String(), PrefillReplicas: np,
			TTFTS: ttft, TPOTS: tpot,
			TTFTLowS: float64(lo.TTFT.At(pct)), TTFTHighS: float64(hi.TTFT.At(pct)),
			TPOTLowS: float64(lo.TPOT.At(pct)), TPOTHighS: float64(hi.TPOT.At(pct)),
			Binding: fmt.Sprintf("TPOT p%g %.0f ms (decode), %d:%d prefill:decode", pct, req.SLO.TPOTS*1e3, np, nd),
		}
		if dp := r.Pool("decode"); dp != nil {
			pl.Bound = dominant(dp.Step)
			pl.Batch = dp.Batch // at the planned load, not the most the TPOT target allows
		}
		s.price(pl, float64(np)*pre.in.Chips()+float64(nd)*dec.in.Chips())
		if req.BudgetUSDPerHour > 0 && pl.CostUSDPerHour > req.BudgetUSDPerHour {
			s.reject(ReasonBudget, fmt.Sprintf("disaggregated %s/%s %s: $%.0f/h > budget $%.0f/h", pre.layout, dec.layout, sh.weights, pl.CostUSDPerHour, req.BudgetUSDPerHour), pl.CostUSDPerHour/req.BudgetUSDPerHour)
			return
		}
		s.plans = append(s.plans, pl)
		s.instances[pl] = &instancePair{mixed: dec.in, prefill: pre.in, prefillReplicas: np, node: s.node, hourly: s.hourly}
		return
	}
}
