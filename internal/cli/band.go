package cli

import (
	"flag"
	"fmt"
	"strings"

	"ersatz/internal/accuracy"
	"ersatz/internal/corpus"
	"ersatz/internal/hardware"
	"ersatz/internal/report"
)

// bandFlag registers --band, the level of every printed band.
func bandFlag(fs *flag.FlagSet) *float64 {
	return fs.Float64("band", 0.8, "level of the prediction bands: the probability each holds the measured figure (0.5, 0.8, 0.9, ...)")
}

func checkBand(level float64) error {
	if !(level >= 0.05 && level <= 0.99) {
		return usagef("--band %g: want a level between 0.05 and 0.99, e.g. 0.8 for an 80%% band", level)
	}
	return nil
}

func familyOf(cat *hardware.Catalog) func(string) string {
	return func(chip string) string {
		if c, err := cat.Chip(chip); err == nil {
			return c.Family
		}
		return ""
	}
}

// bandedPredictor makes base's bands intervals at level, from the shipped
// residual table (docs/accuracy.md).
func bandedPredictor(base corpus.Predictor, cat *hardware.Catalog, level float64) corpus.Predictor {
	return &accuracy.Banded{Base: base, Table: accuracy.Default(), Level: level, Family: familyOf(cat)}
}

// metricBand is one metric's interval at the prediction's band level.
type metricBand struct {
	Value float64 `json:"predicted"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// headline are the metrics every prediction gives a band for.
var headline = []struct{ metric, label, unit string }{
	{"output_tokens_per_s_per_chip", "output", "tok/s per chip"},
	{"ttft_ms_mean", "TTFT mean", "ms"},
	{"tpot_ms_mean", "TPOT mean", "ms"},
}

// headlineBands predicts the headline metrics of c with their bands; a
// metric that cannot be predicted is left out.
func headlineBands(p corpus.Predictor, c *corpus.Case) map[string]*metricBand {
	out := map[string]*metricBand{}
	for _, h := range headline {
		cc := *c
		cc.Metric = h.metric
		if pr, err := p.Predict(&cc); err == nil {
			out[h.metric] = &metricBand{Value: pr.Value, Low: pr.Low, High: pr.High}
		}
	}
	return out
}

func writeBands(b *strings.Builder, o prediction) {
	var parts []string
	for _, h := range headline {
		if x := o.Bands[h.metric]; x != nil {
			parts = append(parts, fmt.Sprintf("%s %s–%s %s", h.label, report.Num(x.Low, 3), report.Num(x.High, 3), h.unit))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(b, "%.0f%% bands (inputs' spread with the model's measured error, docs/accuracy.md): %s\n", o.BandLevel*100, strings.Join(parts, "; "))
	}
}
