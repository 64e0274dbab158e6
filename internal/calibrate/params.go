package calibrate

import (
	"fmt"

	"ersatz/internal/perf"
)

// slot returns the knob's parameter in p, which must be p's own copy.
func slot(p *perf.Params, k Knob) (**perf.Param, error) {
	if k.Engine != "" {
		e, ok := p.Engines[k.Engine]
		if !ok {
			return nil, fmt.Errorf("calibrate: engine %q: not in the parameters", k.Engine)
		}
		switch k.Name {
		case "step_overhead_s":
			return &e.StepOverhead, nil
		case "seq_overhead_s":
			return &e.SeqOverhead, nil
		case "kernel_scale":
			return &e.KernelScale, nil
		}
		return nil, fmt.Errorf("calibrate: engine parameter %q: unknown", k.Name)
	}
	f, ok := p.Families[k.Family]
	if !ok {
		return nil, fmt.Errorf("calibrate: chip family %q: not in the parameters", k.Family)
	}
	switch k.Name {
	case "gemm_eff":
		return &f.GEMMEff, nil
	case "lowp_gemm_scale":
		return &f.LowPrecisionScale, nil
	case "mem_eff":
		return &f.MemEff, nil
	case "attn_eff":
		return &f.AttnEff, nil
	case "comm_eff":
		return &f.CommEff, nil
	case "hop_latency_s":
		return &f.HopLatency, nil
	case "kernel_overhead_s":
		return &f.KernelOverhead, nil
	case "moe_imbalance":
		return &f.MoEImbalance, nil
	}
	return nil, fmt.Errorf("calibrate: family parameter %q: unknown", k.Name)
}

func get(p *perf.Params, k Knob) (float64, error) {
	s, err := slot(p, k)
	if err != nil {
		return 0, err
	}
	if *s == nil {
		return 0, fmt.Errorf("calibrate: %v: not set in the parameters", k)
	}
	return (*s).Value, nil
}

// with returns a copy of base with the knobs at x. Only the families and
// engines touched are copied, and of them only the parameters set.
func with(base *perf.Params, ks []Knob, x []float64) (*perf.Params, error) {
	p := &perf.Params{Sources: base.Sources, Families: map[string]*perf.Family{}, Engines: map[string]*perf.EngineParams{}}
	for n, f := range base.Families {
		p.Families[n] = f
	}
	for n, e := range base.Engines {
		p.Engines[n] = e
	}
	copied := map[string]bool{}
	for i, k := range ks {
		key := "f:" + k.Family
		if k.Engine != "" {
			key = "e:" + k.Engine
		}
		if !copied[key] {
			copied[key] = true
			if k.Engine != "" {
				if e, ok := p.Engines[k.Engine]; ok {
					c := *e
					p.Engines[k.Engine] = &c
				}
			} else if f, ok := p.Families[k.Family]; ok {
				c := *f
				p.Families[k.Family] = &c
			}
		}
		s, err := slot(p, k)
		if err != nil {
			return nil, err
		}
		if *s == nil {
			return nil, fmt.Errorf("calibrate: %v: not set in the parameters", k)
		}
		v := **s
		v.Value = x[i]
		*s = &v
	}
	return p, nil
}
