package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"ersatz/internal/accuracy"
	"ersatz/internal/corpus"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
	"ersatz/internal/predict"
	"ersatz/internal/report"
)

// builtinCorpora are the corpora ersatz ships, by the name --corpus takes.
var builtinCorpora = map[string]func() []byte{
	"published":   corpus.Published,
	"independent": corpus.Independent,
}

// loadCases reads a corpus or scenario file (or a built-in corpus) and
// returns its cases, the directory model paths are relative to (as an
// fs.FS), and the parse warnings.
func loadCases(name string, mode corpus.Mode) (*corpus.File, fs.FS, []error, error) {
	if get, ok := builtinCorpora[name]; ok {
		f, warns, err := corpus.Parse(get(), mode)
		return f, corpus.FS(), warns, err
	}
	data, err := readFile(name)
	if err != nil {
		return nil, nil, nil, err
	}
	f, warns, err := corpus.Parse(data, mode)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, os.DirFS(filepath.Dir(name)), warns, nil
}

// newPredictor wires the catalogs, the parameters and a model resolver.
func newPredictor(cat *hardware.Catalog, params *perf.Params, fsys fs.FS) *predict.Predictor {
	return &predict.Predictor{Hardware: cat, Models: model.Default(), Params: params, ResolveModel: predict.FSResolver(fsys, ".")}
}

// paramsFlag loads --params over the built-in efficiency parameters.
func loadParams(path string) (*perf.Params, error) {
	p := perf.DefaultParams()
	if path == "" {
		return p, nil
	}
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("--params: %w", err)
	}
	o, err := perf.ParseParams(data)
	if err != nil {
		return nil, fmt.Errorf("--params %s: %w", path, err)
	}
	p.Merge(o)
	return p, nil
}

func vendorOf(cat *hardware.Catalog) func(string) string {
	return func(chip string) string {
		if c, err := cat.Chip(chip); err == nil {
			return c.Vendor
		}
		return "unknown"
	}
}

func runValidate(e *env, args []string) error {
	fs := newFlags(e, "validate", "[--corpus FILE|published|independent] [--cv] [--band 0.8] [--json]")
	var cats catalogs
	cats.register(fs)
	file := fs.String("corpus", "published", "corpus file (the format of docs/corpus.md, or a training corpus, docs/train.md), or a built-in one: published, independent, training, training-independent")
	params := fs.String("params", "", "YAML file of efficiency parameters merged over the built-in ones (see internal/perf/params.yaml)")
	asJSON := fs.Bool("json", false, "print the report as JSON (the spec's shape)")
	cv := fs.Bool("cv", false, "cross-validate: predict each case with the stack efficiencies and residual spreads re-derived without its source (leave one source out)")
	level := bandFlag(fs)
	fs.Bool("uncalibrated", false, "training corpora: the model alone, without the training stack efficiency the corpus measures")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkBand(*level); err != nil {
		return err
	}
	cat, err := cats.hardware(e)
	if err != nil {
		return err
	}
	p, err := loadParams(*params)
	if err != nil {
		return err
	}
	if done, err := validateTraining(e, fs, *file, cat, p, *asJSON, *level); done {
		return err
	}
	if fl := fs.Lookup("uncalibrated"); fl.Value.String() == "true" {
		return usagef("--uncalibrated: applies to training corpora (--corpus training); a serving corpus's calibration is params.yaml's stack block (--params to replace it)")
	}
	f, fsys, warns, err := loadCases(*file, corpus.CorpusMode)
	if err != nil {
		return err
	}
	for _, w := range warns {
		fmt.Fprintf(e.stderr, "ersatz validate: warning: %v\n", w)
	}
	pred := bandedPredictor(newPredictor(cat, p, fsys), cat, *level)
	note := fmt.Sprintf("stack efficiencies and residual spreads from the shipped corpus (in-sample for its cases; --cv holds each source out); bands are %.0f%% intervals", *level*100)
	if *cv {
		s := accuracy.Setup{Params: p, Family: familyOf(cat),
			Predictor: func(pp *perf.Params) corpus.Predictor { return newPredictor(cat, pp, fsys) }}
		var groups int
		pred, groups = s.CrossValidated(f.Cases, *level)
		note = accuracy.CVNote(groups, *level)
	}
	rep := corpus.EvaluateFile(f, pred)
	rep.BandLevel, rep.Note = *level, note
	rep.SetVendors(vendorOf(cat))
	if *asJSON {
		return report.WriteJSON(e.stdout, rep)
	}
	return rep.WriteText(e.stdout, vendorOf(cat))
}
