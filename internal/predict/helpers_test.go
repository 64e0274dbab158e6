package predict

import (
	"io/fs"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
)

// New returns a predictor over the embedded catalogs and parameters that
// resolves model paths inside fsys (relative to dir), e.g. corpus.FS().
func New(fsys fs.FS, dir string) *Predictor {
	p := &Predictor{Hardware: hardware.Default(), Models: model.Default(), Params: perf.DefaultParams()}
	if fsys != nil {
		p.ResolveModel = FSResolver(fsys, dir)
	}
	return p
}
