package cli

import (
	"flag"

	"ersatz/internal/accuracy"
	"ersatz/internal/corpus"
	"ersatz/internal/hardware"
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
