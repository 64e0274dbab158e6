package calibrate

import (
	"fmt"

	"ersatz/internal/perf"
)

// Overlay returns the fitted families and engines as a params overlay:
// each block whole (an overlay replaces a family or an engine entirely),
// each fitted value with its provenance (from: the runs it came from) and
// its interval's half-width, relative, as the spread. The fallback
// engine "other" is included unchanged, as every parameter file needs it.
func (f *Fit) Overlay(from, date string) *perf.Params {
	o := &perf.Params{Sources: map[string]string{}, Families: map[string]*perf.Family{}, Engines: map[string]*perf.EngineParams{}}
	for _, est := range f.Estimates {
		if est.Engine != "" {
			if _, ok := o.Engines[est.Engine]; !ok {
				e := *f.Params.Engines[est.Engine]
				o.Engines[est.Engine] = &e
			}
		} else if _, ok := o.Families[est.Family]; !ok {
			fam := *f.Params.Families[est.Family]
			fam.Inherit, fam.Widen = "", 0
			o.Families[est.Family] = &fam
		}
		src := fmt.Sprintf("ersatz calibrate %s: fitted %.4g (95%% interval %.4g-%.4g, bootstrap over requests; was %.4g) from %s",
			date, est.Value, est.Lo, est.Hi, est.Before, from)
		s, _ := slot(o, est.Knob) // the knob was resolved in the fit
		v := **s
		v.Value, v.Spread, v.Source = est.Value, min((est.Hi-est.Lo)/2/est.Value, 0.9), src
		*s = &v
		o.Sources[est.Knob.String()] = src
	}
	// A parameter file must carry the fallback engine to parse; the
	// built-in one rides along unchanged.
	if _, ok := o.Engines[string(perf.Other)]; !ok {
		e := *f.Params.Engines[string(perf.Other)]
		o.Engines[string(perf.Other)] = &e
	}
	return o
}
