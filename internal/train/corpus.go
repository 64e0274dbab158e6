package train

import (
	"embed"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"ersatz/internal/corpus"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
)

//go:embed corpus
var shipped embed.FS

// Shipped returns the training corpus ersatz ships (corpus/training.yaml).
func Shipped() []byte {
	b, err := shipped.ReadFile("corpus/training.yaml")
	if err != nil {
		panic("train: embedded corpus: " + err.Error()) // ruled out by the package tests
	}
	return b
}

// Independent returns the held-out training corpus
// (corpus/independent.yaml): figures from other sources, kept apart.
func Independent() []byte {
	b, err := shipped.ReadFile("corpus/independent.yaml")
	if err != nil {
		panic("train: embedded corpus: " + err.Error())
	}
	return b
}

// ShippedFS holds the shipped corpus and the config.json files its cases
// name by path (relative to the corpus file, at the root of the FS).
func ShippedFS() fs.FS {
	sub, err := fs.Sub(shipped, "corpus")
	if err != nil {
		panic("train: embedded corpus: " + err.Error())
	}
	return sub
}

// File is a training corpus (the format of ../shared/spec/training.md,
// docs/train.md).
type File struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"`
	Cases   []Case `json:"cases"`
}

// Case is one published training figure. A degree left out is the
// estimator's to choose (the fastest layout that fits). Fields after
// Note are this project's optional additions.
type Case struct {
	ID                string  `json:"id"`
	Source            string  `json:"source"`
	Claim             string  `json:"claim,omitempty"`
	Model             string  `json:"model"`
	Chip              string  `json:"chip"`
	Chips             int     `json:"chips"`
	Precision         string  `json:"precision"`
	TP                *int    `json:"tp,omitempty"`
	PP                *int    `json:"pp,omitempty"`
	DP                *int    `json:"dp,omitempty"`
	EP                *int    `json:"ep,omitempty"`
	CP                *int    `json:"cp,omitempty"`
	VPP               *int    `json:"vpp,omitempty"`
	ZeRO              *int    `json:"zero,omitempty"`
	Recompute         string  `json:"recompute,omitempty"`
	SeqLen            int     `json:"seq_len"`
	GlobalBatchTokens float64 `json:"global_batch_tokens,omitempty"`
	GlobalBatch       int     `json:"global_batch,omitempty"`
	Tokens            float64 `json:"tokens,omitempty"`
	Metric            string  `json:"metric"`
	Flops             string  `json:"flops,omitempty"`
	PeakTFLOPS        float64 `json:"peak_tflops,omitempty"`
	Measured          float64 `json:"measured,omitempty"`
	Note              string  `json:"note,omitempty"`

	// MicroBatch is the sequences per micro-batch, where the source says.
	MicroBatch *int `json:"micro_batch,omitempty"`
	// Node overrides the chip's default node (e.g. cloudmatrix384).
	Node string `json:"node,omitempty"`
	// TPOverlap, EPOverlap, FlashAttention and Dropout record the
	// framework's behaviour where the source states it (defaults: TP and
	// EP overlap off, as the frameworks ship them; FlashAttention on; no
	// dropout).
	TPOverlap      *bool `json:"tp_overlap,omitempty"`
	EPOverlap      *bool `json:"ep_overlap,omitempty"`
	FlashAttention *bool `json:"flash_attention,omitempty"`
	Dropout        bool  `json:"dropout,omitempty"`
	// MemoryGB is the device memory of the part the run used where the
	// catalog's differs (MT-NLG's A100 40 GB).
	MemoryGB float64 `json:"memory_gb,omitempty"`
	// MemoryTBps and PeakShare describe a part that differs from the
	// catalog's in bandwidth and in dense peak (a share of the catalog
	// chip's at every precision): Meta's Grand Teton H100, 96 GB HBM2e at
	// 2.4 TB/s and a 500 W limit. MFU still divides by PeakTFLOPS, else by
	// the catalog chip's datasheet peak.
	MemoryTBps float64 `json:"memory_tbps,omitempty"`
	PeakShare  float64 `json:"peak_share,omitempty"`
	// Group is the cross-validation group (cases sharing a harness);
	// without it, the source up to the first comma or colon, as for
	// serving cases.
	Group string `json:"group,omitempty"`
	// Framework is the training stack, one of [Frameworks] (InHouse when
	// left out): it picks the stack efficiency and the band's regime.
	Framework string `json:"framework,omitempty"`
}

// GroupKey is the case's cross-validation group ([corpus.Case.GroupKey]).
func (c *Case) GroupKey() string {
	sc := corpus.Case{ID: c.ID, Source: c.Source, Group: c.Group}
	return sc.GroupKey()
}

// FrameworkName is the case's framework, "other" when it names none.
func (c *Case) FrameworkName() string {
	if c.Framework == "" {
		return InHouse
	}
	return c.Framework
}

// Metrics a training case may measure.
var Metrics = []string{"tflops_per_chip", "mfu", "tokens_per_s_per_chip", "step_time_s", "gpu_hours_total"}

var (
	kindLine = regexp.MustCompile(`(?m)^kind:\s*["']?training["']?\s*(#.*)?$`)
	idRE     = regexp.MustCompile(`^[a-z0-9-]+$`)
)

// IsTraining sniffs a corpus file: a top-level `kind: training` line.
func IsTraining(data []byte) bool { return kindLine.Match(data) }

// ParseCorpus reads a training corpus. Unknown fields are warnings (the
// file still loads); a case that breaks the contract is an error naming
// its id and field.
func ParseCorpus(data []byte) (*File, []error, error) {
	var f File
	var warns []error
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		if err2 := yaml.Unmarshal(data, &f); err2 != nil {
			return nil, nil, fmt.Errorf("parsing training corpus: %w", err2)
		}
		warns = append(warns, fmt.Errorf("training corpus: %v (ignored)", err))
	}
	if f.Version != 1 {
		return nil, nil, fmt.Errorf("training corpus: version %d: want 1", f.Version)
	}
	if f.Kind != "training" {
		return nil, nil, fmt.Errorf("training corpus: kind %q: want training", f.Kind)
	}
	seen := map[string]bool{}
	for i := range f.Cases {
		c := &f.Cases[i]
		if err := c.validate(); err != nil {
			return nil, nil, fmt.Errorf("training corpus: case %d (%s): %w", i, c.ID, err)
		}
		if seen[c.ID] {
			return nil, nil, fmt.Errorf("training corpus: case %s: id used twice", c.ID)
		}
		seen[c.ID] = true
	}
	return &f, warns, nil
}

func (c *Case) validate() error {
	switch {
	case !idRE.MatchString(c.ID):
		return fmt.Errorf("id %q: want [a-z0-9-]+", c.ID)
	case c.Model == "":
		return fmt.Errorf("model: required")
	case c.Chip == "":
		return fmt.Errorf("chip: required")
	case c.Chips < 1:
		return fmt.Errorf("chips %d: want at least 1", c.Chips)
	case c.SeqLen < 1:
		return fmt.Errorf("seq_len %d: want at least 1", c.SeqLen)
	case c.GlobalBatch < 0 || c.GlobalBatchTokens < 0:
		return fmt.Errorf("global_batch: want a positive count")
	case c.GlobalBatch == 0 && c.GlobalBatchTokens == 0:
		return fmt.Errorf("global_batch or global_batch_tokens: one is required")
	case !(c.Measured >= 0):
		return fmt.Errorf("measured %g: want a positive figure", c.Measured)
	case !(c.MemoryGB >= 0):
		return fmt.Errorf("memory_gb %g: want the part's memory in GB, or leave it out for the catalog's", c.MemoryGB)
	case !(c.MemoryTBps >= 0):
		return fmt.Errorf("memory_tbps %g: want the part's memory bandwidth in TB/s, or leave it out for the catalog's", c.MemoryTBps)
	case !(c.PeakShare >= 0 && c.PeakShare <= 1.5):
		return fmt.Errorf("peak_share %g: want the part's share of the catalog chip's peak, at most 1.5, or leave it out for the catalog's", c.PeakShare)
	}
	switch c.Precision {
	case "bf16", "fp16", "fp8":
	default:
		return fmt.Errorf("precision %q: want bf16, fp16 or fp8", c.Precision)
	}
	ok := false
	for _, m := range Metrics {
		ok = ok || m == c.Metric
	}
	if !ok {
		return fmt.Errorf("metric %q: want one of %s", c.Metric, strings.Join(Metrics, ", "))
	}
	if c.Metric == "gpu_hours_total" && !(c.Tokens > 0) {
		return fmt.Errorf("tokens: required for gpu_hours_total")
	}
	if _, err := ParseConvention(c.Flops); err != nil {
		return err
	}
	if c.Framework != "" {
		if err := CheckFramework(c.Framework); err != nil {
			return err
		}
	}
	if c.Recompute != "" {
		if _, err := ParseRecompute(c.Recompute); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		n string
		v *int
	}{{"tp", c.TP}, {"pp", c.PP}, {"dp", c.DP}, {"ep", c.EP}, {"cp", c.CP}, {"vpp", c.VPP}, {"micro_batch", c.MicroBatch}} {
		if d.v != nil && *d.v < 1 {
			return fmt.Errorf("%s %d: want a positive degree", d.n, *d.v)
		}
	}
	if c.ZeRO != nil && (*c.ZeRO < 0 || *c.ZeRO > 3) {
		return fmt.Errorf("zero %d: want a stage 0 to 3", *c.ZeRO)
	}
	return nil
}

// Predictor predicts training cases from the catalogs.
type Predictor struct {
	Hardware *hardware.Catalog
	Models   *model.Catalog
	Params   *perf.Params
	// FS holds the corpus file's directory, for config.json paths.
	FS fs.FS
	// Calibration sets each job's stack efficiency; nil predicts with
	// the model alone.
	Calibration *Calibration
}

// Detail is what a prediction carries into the report.
type Detail struct {
	Layout   string  `json:"layout"`
	Searched bool    `json:"searched"`
	StepS    float64 `json:"step_s"`
	MFU      float64 `json:"mfu"`
	Binding  string  `json:"binding"`
	MemoryGB float64 `json:"memory_gb"`
}

// Job builds the case's job (without its layout).
func (p *Predictor) Job(c *Case) (Job, error) {
	var m *model.Model
	var err error
	if strings.HasSuffix(c.Model, ".json") || strings.HasPrefix(c.Model, ".") || strings.Contains(c.Model, "config") {
		if p.FS == nil {
			return Job{}, fmt.Errorf("model %s: no corpus directory to read it from", c.Model)
		}
		data, rerr := fs.ReadFile(p.FS, strings.TrimPrefix(path.Clean(c.Model), "/"))
		if rerr != nil {
			return Job{}, fmt.Errorf("model %s: %w", c.Model, rerr)
		}
		m, err = model.Parse(data, c.Model)
	} else {
		m, err = p.Models.Model(c.Model)
	}
	if err != nil {
		return Job{}, err
	}
	chip, err := p.Hardware.Chip(c.Chip)
	if err != nil {
		return Job{}, err
	}
	if c.MemoryGB > 0 || c.MemoryTBps > 0 || c.PeakShare > 0 {
		cc := *chip
		part := func(v *hardware.Value, x float64) *hardware.Value {
			w := *v
			w.Value, w.Note = x, "the case's part"
			return &w
		}
		if c.MemoryGB > 0 {
			cc.MemoryGB = part(cc.MemoryGB, c.MemoryGB)
		}
		if c.MemoryTBps > 0 {
			cc.MemoryTBps = part(cc.MemoryTBps, c.MemoryTBps)
		}
		if c.PeakShare > 0 {
			cc.DenseTFLOPS = make(map[hardware.Precision]*hardware.Value, len(chip.DenseTFLOPS))
			for p, v := range chip.DenseTFLOPS {
				cc.DenseTFLOPS[p] = part(v, v.Value*c.PeakShare)
			}
		}
		chip = &cc
	}
	var node *hardware.Node
	if c.Node != "" {
		node, err = p.Hardware.Node(c.Node)
	} else {
		node, err = p.Hardware.NodeOf(chip)
	}
	if err != nil {
		return Job{}, err
	}
	gb := c.GlobalBatch
	if gb == 0 {
		gb = int(math.Round(c.GlobalBatchTokens / float64(c.SeqLen)))
	}
	j := Job{Model: m, Chip: chip, Node: node, Chips: c.Chips, Precision: hardware.Precision(c.Precision),
		SeqLen: c.SeqLen, GlobalBatch: gb, FlashAttention: true, Dropout: c.Dropout}
	if c.FlashAttention != nil {
		j.FlashAttention = *c.FlashAttention
	}
	if p.Calibration != nil {
		j.Efficiency, _ = p.Calibration.Efficiency(c.FrameworkName(), chip.Family)
	}
	return j, nil
}

// Space is the case's layout space: its stated degrees pinned, the rest
// from DefaultSpace.
func (c *Case) Space(j *Job, domain int) (Space, bool) {
	s := DefaultSpace(j, domain)
	searched := false
	pin := func(dst *[]int, v *int, free bool) {
		if v != nil {
			*dst = []int{*v}
		} else if free {
			searched = true
		}
	}
	pin(&s.TP, c.TP, true)
	pin(&s.PP, c.PP, true)
	pin(&s.EP, c.EP, j.Model.MoE())
	if c.CP != nil {
		s.CP = []int{*c.CP}
	} else {
		s.CP = []int{1}
	}
	pin(&s.VPP, c.VPP, true)
	pin(&s.ZeRO, c.ZeRO, true)
	pin(&s.MicroBatch, c.MicroBatch, true)
	if c.Recompute != "" {
		s.Recompute = []Recompute{Recompute(c.Recompute)}
	} else {
		searched = true
	}
	if c.TPOverlap != nil {
		s.TPOverlap = []bool{*c.TPOverlap}
	}
	if c.EPOverlap != nil {
		s.EPOverlap = []bool{*c.EPOverlap}
	}
	if !j.Model.MoE() {
		s.EP = []int{1}
	}
	return s, searched
}

// Resolve prices one case: its own layout when it states every degree,
// else the best of its space. searched says which.
func (p *Predictor) Resolve(c *Case) (est *Estimator, res Result, searched bool, err error) {
	j, err := p.Job(c)
	if err != nil {
		return nil, Result{}, false, err
	}
	est, err = New(j, p.Params)
	if err != nil {
		return nil, Result{}, false, err
	}
	space, searched := c.Space(&j, est.e.all[0].Domain)
	if space.Size() == 1 || !searched {
		l := Layout{TP: space.TP[0], PP: space.PP[0], EP: space.EP[0], CP: space.CP[0], VPP: space.VPP[0], ZeRO: space.ZeRO[0],
			MicroBatch: space.MicroBatch[0], Recompute: space.Recompute[0], TPOverlap: space.TPOverlap[0], EPOverlap: space.EPOverlap[0]}
		if c.DP != nil {
			l.DP = *c.DP
		}
		res, err = est.Evaluate(l)
		if err != nil {
			return nil, Result{}, false, fmt.Errorf("layout %s: %w", res.Layout, err)
		}
		return est, res, false, nil
	}
	s := est.Search(space)
	if s.Best == nil {
		return nil, Result{}, true, fmt.Errorf("no layout of %d fits: %s", s.Tried, s.Why())
	}
	if c.DP != nil && s.Best.Layout.DP != *c.DP {
		return nil, Result{}, true, fmt.Errorf("dp %d: the stated degrees leave dp %d", *c.DP, s.Best.Layout.DP)
	}
	return est, *s.Best, true, nil
}

// Predict answers one case in its metric, with the band.
func (p *Predictor) Predict(c *Case) (corpus.Prediction, error) {
	est, res, searched, err := p.Resolve(c)
	if err != nil {
		return corpus.Prediction{}, err
	}
	j := est.Job()
	det := Detail{Layout: res.Layout.String(), Searched: searched, StepS: float64(res.Step.Total), MFU: res.MFU,
		Binding: res.Binding, MemoryGB: res.Memory.Total.GB()}
	conv, _ := ParseConvention(c.Flops)
	tokens := float64(j.GlobalBatch) * float64(j.SeqLen)
	perChip := func(step float64) float64 {
		switch c.Metric {
		case "tflops_per_chip", "mfu":
			v := ModelFLOPsPerToken(j.Model, j.SeqLen, conv) * tokens / step / float64(j.Chips) / 1e12
			if c.Metric == "mfu" {
				peak := c.PeakTFLOPS
				if peak == 0 {
					// The catalog chip's datasheet peak, not a derated
					// part's (peak_share changes the work's speed only).
					chip := j.Chip
					if cc, err := p.Hardware.Chip(c.Chip); err == nil {
						chip = cc
					}
					pk, _ := chip.Peak(j.Precision)
					peak = float64(pk) / 1e12
				}
				v /= peak
			}
			return v
		case "tokens_per_s_per_chip":
			return tokens / step / float64(j.Chips)
		}
		return step
	}
	pred := corpus.Prediction{Detail: det}
	switch c.Metric {
	case "gpu_hours_total":
		run, err := est.Plan(res, RunOptions{Tokens: c.Tokens})
		if err != nil {
			return corpus.Prediction{}, err
		}
		pred.Value, pred.Low, pred.High = run.ChipHours, run.ChipHoursLow, run.ChipHoursHigh
	case "step_time_s":
		pred.Value, pred.Low, pred.High = float64(res.Step.Total), float64(res.StepLow), float64(res.StepHigh)
	default:
		pred.Value = perChip(float64(res.Step.Total))
		pred.Low, pred.High = perChip(float64(res.StepHigh)), perChip(float64(res.StepLow))
	}
	return pred, nil
}

// Evaluate reports every case as predict answers it, in the serving
// corpus's shape (corpus.Report), so that validate prints and summarises
// both alike; a case's framework stands in the engine column.
func Evaluate(cases []Case, predict func(*Case) (corpus.Prediction, error)) *corpus.Report {
	shim := make([]corpus.Case, len(cases))
	byID := map[string]*Case{}
	for i := range cases {
		c := &cases[i]
		shim[i] = corpus.Case{ID: c.ID, Metric: c.Metric, Measured: c.Measured, Chip: c.Chip, Claim: c.Claim, Engine: c.FrameworkName()}
		byID[c.ID] = c
	}
	return corpus.Evaluate(shim, corpus.PredictorFunc(func(sc *corpus.Case) (corpus.Prediction, error) {
		return predict(byID[sc.ID])
	}))
}
