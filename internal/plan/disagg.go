package plan

import (
	"fmt"
	"math"

	"ersatz/internal/fit"
	"ersatz/internal/hardware"
	"ersatz/internal/perf"
	"ersatz/internal/units"
)

// placed is an instance shape that holds the model.
type placed struct {
	in     *perf.Instance
	layout fit.Layout
}

// pool is a candidate prefill or decode pool: one instance shape on one
// chip in one node, with what it costs and how fast it serves.
type pool struct {
	placed
	chip   *hardware.Chip
	node   *hardware.Node
	sh     shape
	hourly float64 // USD per chip-hour
	rate   float64 // requests per second per chip, within the TPOT target for decode
}

// perDollar ranks pools: requests per second per dollar-hour.
func (p *pool) perDollar() float64 {
	if p == nil || p.hourly <= 0 {
		return 0
	}
	return p.rate / p.hourly
}

// maxPrefillGrowth bounds how far the prefill pool grows past its
// throughput-sized count while chasing the TTFT target (queueing falls as
// the pool's utilisation does).
const maxPrefillGrowth = 4

// disaggregate tries prefill/decode disaggregation on the shapes that fit:
// the decode pool of the shape that decodes most per chip within the TPOT
// target, the prefill pool of the shape that prefills most per chip. It
// also keeps the chip's most cost-effective pools of each kind for plans
// that put prefill and decode on different chips.
func (s *chipSearch) disaggregate(fitting []placed, sh shape, w perf.Workload, at site) {
	req := s.req
	var dec, pre *pool
	// At a confidence, the decode pool is sized for the TPOT target at
	// its pessimistic edge.
	tpotTarget := req.SLO.TPOTS / s.tpotEdge
	for _, f := range fitting {
		s.candidates++
		r, err := perf.Serve(perf.Scenario{Prefill: f.in, PrefillCount: 1, Decode: f.in, DecodeCount: 1, Workload: w,
			Load: perf.Load{Kind: perf.SLOOnly, SLO: &perf.SLO{TPOT: units.Seconds(tpotTarget), Percentile: req.SLO.Percentile}}})
		if err != nil {
			continue
		}
		chips := f.in.Chips()
		mk := func(rate float64) *pool {
			return &pool{placed: f, chip: s.chip, node: at.node, sh: sh, hourly: at.hourly, rate: rate}
		}
		if p := r.Pool(perf.Decode); p != nil {
			if c := mk(p.OutputTPS / w.OutputTokens / chips); dec == nil || c.rate > dec.rate {
				dec = c
			}
		}
		if p := r.Pool(perf.Prefill); p != nil {
			if c := mk(p.InputTPS / w.InputTokens / chips); pre == nil || c.rate > pre.rate {
				pre = c
			}
		}
	}
	if dec == nil || pre == nil {
		return
	}
	if dec.perDollar() > s.bestDec.perDollar() {
		s.bestDec = dec
	}
	if pre.perDollar() > s.bestPre.perDollar() {
		s.bestPre = pre
	}
	if pl, pair := sizeDisagg(req, pre, dec, w, s.reject); pl != nil {
		if req.BudgetUSDPerHour > 0 && pl.CostUSDPerHour > req.BudgetUSDPerHour {
			s.reject(ReasonBudget, fmt.Sprintf("disaggregated %s/%s %s: $%.0f/h > budget $%.0f/h", pre.layout, dec.layout, sh.weights, pl.CostUSDPerHour, req.BudgetUSDPerHour), pl.CostUSDPerHour/req.BudgetUSDPerHour)
			return
		}
		s.plans = append(s.plans, pl)
		s.instances[pl] = pair
	}
}

// sizeDisagg sizes a prefill pool and a decode pool (on the same chip or
// not) for the traffic: the decode pool for its TPOT-bound capacity, the
// prefill pool for its throughput, then grown until TTFT (queue, prefill,
// KV transfer, first decode step) meets its target. reject records why a
// pairing fails.
func sizeDisagg(req *Request, pre, dec *pool, w perf.Workload, reject func(reason Reason, detail string, miss float64)) (*Plan, *instancePair) {
	need := req.Traffic.RatePerS * (1 + req.Headroom)
	// Sized in floating point first: an absurd rate must not overflow the
	// replica counts.
	ndF := max(1, math.Ceil(need/(dec.rate*dec.in.Chips())-1e-9))
	npF := max(1, math.Ceil(need/(pre.rate*pre.in.Chips())-1e-9))
	if chips := ndF*dec.in.Chips() + npF*pre.in.Chips(); chips > float64(req.maxChips()) {
		reject(ReasonScale, fmt.Sprintf("disaggregated %s %s / %s %s: %.3g chips for %.3g req/s > %d (--max-chips)", pre.chip.ID, pre.layout, dec.chip.ID, dec.layout, chips, req.Traffic.RatePerS, req.maxChips()), chips/float64(req.maxChips()))
		return nil, nil
	}
	nd, np0 := int(ndF), int(npF)
	pct := req.SLO.Percentile
	name := fmt.Sprintf("disaggregated %s %s %s / %s %s %s", pre.chip.ID, pre.layout, pre.sh.weights, dec.chip.ID, dec.layout, dec.sh.weights)
	eval := func(np int, v int) (perf.Result, error) {
		p, d := pre.in, dec.in
		if v != 0 {
			p, d = p.Variant(v), d.Variant(v)
		}
		return perf.Serve(perf.Scenario{Prefill: p, PrefillCount: np, Decode: d, DecodeCount: nd, Workload: w,
			Load: perf.Load{Kind: perf.Rate, Rate: req.Traffic.RatePerS}})
	}
	ttftEdge, tpotEdge := req.edges(dec.chip, pre.chip)
	for np := np0; np <= np0*maxPrefillGrowth; np++ {
		r, err := eval(np, 0)
		if err != nil {
			return nil, nil
		}
		ttft, tpot := float64(r.TTFT.At(pct))*ttftEdge, float64(r.TPOT.At(pct))*tpotEdge
		if req.SLO.TPOTS > 0 && tpot > req.SLO.TPOTS {
			reject(ReasonTPOT, fmt.Sprintf("%s: TPOT p%g %.1f ms > %.1f ms", name, pct, tpot*1e3, req.SLO.TPOTS*1e3), tpot/req.SLO.TPOTS)
			return nil, nil
		}
		if req.SLO.TTFTS > 0 && ttft > req.SLO.TTFTS {
			if np == np0*maxPrefillGrowth {
				reject(ReasonTTFT, fmt.Sprintf("%s with %d prefill instances: TTFT p%g %.0f ms > %.0f ms", name, np, pct, ttft*1e3, req.SLO.TTFTS*1e3), ttft/req.SLO.TTFTS)
			}
			continue
		}
		hi, _ := eval(np, -1)
		lo, _ := eval(np, +1)
		pl := &Plan{
			Chip: dec.chip.ID, Vendor: dec.chip.Vendor, Node: dec.node.ID, Serving: Disaggregated,
			Weights: string(dec.sh.weights), KVCache: string(dec.sh.kv), Layout: dec.layout.String(), Devices: dec.layout.Devices(),
			Replicas: nd, PrefillLayout: pre.layout.String(), PrefillReplicas: np,
			TTFTS: float64(r.TTFT.At(pct)), TTFTLowS: float64(lo.TTFT.At(pct)), TTFTHighS: float64(hi.TTFT.At(pct)),
			TPOTS: float64(r.TPOT.At(pct)), TPOTLowS: float64(lo.TPOT.At(pct)), TPOTHighS: float64(hi.TPOT.At(pct)),
			Binding: Binding{Limit: LimitTPOT, Percentile: pct, TargetS: req.SLO.TPOTS, PrefillReplicas: np, DecodeReplicas: nd},
		}
		pl.KVTokens = kvTokens(dec.in)
		if pre.chip != dec.chip {
			pl.PrefillChip, pl.PrefillWeights = pre.chip.ID, string(pre.sh.weights)
		}
		if dp := r.Pool(perf.Decode); dp != nil {
			pl.Bound = dominant(dp.Step)
			pl.Batch = dp.Batch // at the planned load, not the most the TPOT target allows
		}
		if ok, reason, detail, miss := req.calibrate(pl, dec.chip, pre.chip); !ok {
			reject(reason, name+": "+detail, miss)
			return nil, nil
		}
		pair := &instancePair{mixed: dec.in, prefill: pre.in, prefillReplicas: np, decode: dec, pre: pre}
		priceDisagg(req, pl, pair)
		return pl, pair
	}
	return nil, nil
}

// priceDisagg prices the two pools, each at its own chip's cost and power.
func priceDisagg(req *Request, pl *Plan, pair *instancePair) {
	pc := int(math.Ceil(float64(pl.PrefillReplicas)*pair.pre.in.Chips() - 1e-9))
	dc := int(math.Ceil(float64(pl.Replicas)*pair.decode.in.Chips() - 1e-9))
	nodes := func(chips int, n *hardware.Node) int {
		return int(math.Ceil(float64(chips) / float64(max(n.ChipsPerNode, 1))))
	}
	pl.ChipsTotal = pc + dc
	pl.Nodes = nodes(pc, pair.pre.node) + nodes(dc, pair.decode.node)
	pl.PowerKW = (req.Costs.ChipPower(pair.pre.chip, pair.pre.node)*float64(pc) + req.Costs.ChipPower(pair.decode.chip, pair.decode.node)*float64(dc)) / 1000
	pl.CostUSDPerHour = pair.pre.hourly*float64(pc) + pair.decode.hourly*float64(dc)
	pl.CostIsEstimate = true
	finish(req, pl)
}
