package plan

import (
	"fmt"
	"math"
	"math/rand/v2"

	"ersatz/internal/serving"
	"ersatz/internal/sim"
	"ersatz/internal/workload"
)

// verify simulates a plan on the traffic. If the simulated latency misses
// the SLO it adds replicas (up to half again), to the prefill pool when
// TTFT misses a disaggregated plan and to the serving pool otherwise, until
// it meets it, and re-prices the plan; if it never does, the plan is marked
// as failing verification and ranks after those that pass.
func (s *chipSearch) verify(pl *Plan) error {
	pair := s.instances[pl]
	if pair == nil {
		return nil
	}
	base, basePre := pl.Replicas, pair.prefillReplicas
	limit := base + basePre + max(1, (base+basePre)/2)
	replicas := base
	for replicas+pair.prefillReplicas <= limit {
		v, err := s.simulate(pair, replicas)
		if err != nil {
			pl.Verified = &Verification{Note: "not simulated: " + err.Error()}
			return nil
		}
		v.AddedReplicas = replicas - base + pair.prefillReplicas - basePre
		pl.Verified = v
		if v.Meets {
			if v.AddedReplicas > 0 {
				pl.Replicas, pl.PrefillReplicas = replicas, pair.prefillReplicas
				if pair.pre != nil {
					priceDisagg(s.req, pl, pair)
				} else {
					s.price(pl, float64(replicas)*pair.mixed.Chips(), pair.site)
				}
			}
			return nil
		}
		req := s.req
		if pair.prefill != nil && req.SLO.TTFTS > 0 && v.TTFTS > req.SLO.TTFTS {
			pair.prefillReplicas += max(1, int(math.Ceil(float64(pair.prefillReplicas)*0.1)))
		} else {
			replicas += max(1, int(math.Ceil(float64(replicas)*0.1)))
		}
	}
	pl.Verified.Note = fmt.Sprintf("simulated latency misses the SLO even with %d replicas in all", limit)
	return nil
}

func (s *chipSearch) simulate(pair *instancePair, replicas int) (*Verification, error) {
	req := s.req
	maxCtx := int(req.Traffic.InputTokens + req.Traffic.OutputTokens)
	dep := serving.Deployment{
		Pool: serving.Pool{Instance: pair.mixed, Replicas: replicas, Router: sim.LeastOutstanding},
		SLO:  sim.SLO{TTFTS: req.SLO.TTFTS, TPOTS: req.SLO.TPOTS},
	}
	if pair.prefill != nil {
		dep.Prefill = &serving.Pool{Instance: pair.prefill, Replicas: pair.prefillReplicas, Router: sim.LeastOutstanding}
		// The KV cache leaves over the prefill instance's scale-out links.
		c := pair.prefill.Deployment().Chip
		dep.LinkBytesPerS = float64(c.ScaleOutPerDir()) * float64(pair.prefill.Devices()) / float64(c.EngineDevices())
	}
	cfg, err := serving.Config(dep, req.Params, maxCtx*2)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(req.Seed, 0x5eed))
	var src workload.Source
	if req.Traffic.Source != nil {
		if src, err = req.Traffic.Source(); err != nil {
			return nil, err
		}
	} else {
		arr, err := workload.Poisson(req.Traffic.RatePerS)
		if err != nil {
			return nil, err
		}
		in, _ := workload.Fixed(int(math.Round(req.Traffic.InputTokens)))
		out, _ := workload.Fixed(int(math.Round(req.Traffic.OutputTokens)))
		if src, err = workload.NewGenerator(workload.GeneratorConfig{Arrivals: arr, Input: in, Output: out, Count: req.VerifyRequests}, rng); err != nil {
			return nil, err
		}
	}
	sum, err := sim.Run(cfg, src, rng, nil)
	if err != nil {
		return nil, err
	}
	pick := func(d sim.Dist) float64 {
		switch req.SLO.Percentile {
		case 50:
			return d.P50S
		case 99:
			return d.P99S
		}
		return d.P90S
	}
	v := &Verification{Requests: int(sum.Finished), TTFTS: pick(sum.TTFT), TPOTS: pick(sum.TPOT), Meets: true}
	if req.SLO.TTFTS > 0 && v.TTFTS > req.SLO.TTFTS || req.SLO.TPOTS > 0 && v.TPOTS > req.SLO.TPOTS || sum.Rejected > 0 {
		v.Meets = false
	}
	return v, nil
}
