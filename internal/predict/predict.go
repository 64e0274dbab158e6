// Package predict answers a corpus case with the analytic performance
// model: it resolves the case's model and chip, builds the perf
// deployments, runs the steady-state serving prediction and returns the
// metric the case asks for, with a low/high band and a breakdown.
package predict

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"

	"ersatz/internal/corpus"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
	"ersatz/internal/units"
)

// Predictor implements [corpus.Predictor].
type Predictor struct {
	Hardware *hardware.Catalog
	Models   *model.Catalog
	Params   *perf.Params
	// ResolveModel reads a model that a case names by a config.json path
	// (as written in the case). Nil means paths cannot be resolved.
	ResolveModel func(path string) (*model.Model, error)
}

var _ corpus.Predictor = (*Predictor)(nil)

// FSResolver reads config.json paths from fsys, relative to dir.
func FSResolver(fsys fs.FS, dir string) func(string) (*model.Model, error) {
	return func(path string) (*model.Model, error) {
		c := corpus.Case{Model: path}
		full := c.ModelPath(dir)
		data, err := fs.ReadFile(fsys, strings.TrimPrefix(full, "/"))
		if err != nil {
			return nil, err
		}
		return model.Parse(data, path)
	}
}

// Detail is the breakdown a prediction carries.
type Detail struct {
	Result perf.Result `json:"result"`
	Chips  float64     `json:"chips"` // divisor of per-chip metrics
}

// Predict answers c's metric.
func (p *Predictor) Predict(c *corpus.Case) (corpus.Prediction, error) {
	sc, err := p.Scenario(c)
	if err != nil {
		return corpus.Prediction{}, err
	}
	var vals [3]float64
	var det Detail
	for i, v := range []int{0, -1, 1} {
		s := sc
		for _, in := range []**perf.Instance{&s.Mixed, &s.Prefill, &s.Decode} {
			if *in != nil && v != 0 {
				*in = (*in).Variant(v)
			}
		}
		r, err := perf.Serve(s)
		if err != nil {
			return corpus.Prediction{}, err
		}
		val, chips, err := metric(c, &r, s)
		if err != nil {
			return corpus.Prediction{}, err
		}
		vals[i] = val
		if i == 0 {
			det = Detail{Result: r, Chips: chips}
		}
	}
	lo := math.Min(vals[0], math.Min(vals[1], vals[2]))
	hi := math.Max(vals[0], math.Max(vals[1], vals[2]))
	return corpus.Prediction{Value: vals[0], Low: lo, High: hi, Detail: det}, nil
}

// Scenario builds the perf scenario of a case.
func (p *Predictor) Scenario(c *corpus.Case) (perf.Scenario, error) {
	m, err := p.model(c)
	if err != nil {
		return perf.Scenario{}, err
	}
	chip, err := p.Hardware.Chip(c.Chip)
	if err != nil {
		return perf.Scenario{}, err
	}
	var node *hardware.Node
	if chip.Node != "" {
		node, _ = p.Hardware.Node(chip.Node) // a missing node falls back to the chip's links
	}
	prec := func(s string) (hardware.Precision, error) {
		if s == "" {
			return "", nil
		}
		return hardware.ParsePrecision(s)
	}
	wp, err := prec(c.Precision.Weights)
	if err != nil {
		return perf.Scenario{}, err
	}
	ap, err := prec(c.Precision.Activations)
	if err != nil {
		return perf.Scenario{}, err
	}
	kp, err := prec(c.Precision.KVCache)
	if err != nil {
		return perf.Scenario{}, err
	}
	var spec *perf.Speculative
	if s := c.Speculative; s != nil {
		spec = &perf.Speculative{Method: s.Method, DraftTokens: s.DraftTokens}
		if s.Acceptance != nil {
			spec.Acceptance = *s.Acceptance
		}
		if s.TokensPerStep != nil {
			spec.TokensPerStep = *s.TokensPerStep
		}
	}
	build := func(in *corpus.Instance) (*perf.Instance, error) {
		d := perf.Deployment{
			Model: m, Chip: chip, Node: p.nodeFor(chip, node, in.Chips),
			Weights: wp, Activations: ap, KV: kp,
			TP: in.TP, PP: in.PP, EP: in.EP, DP: in.DP,
			Engine:      perf.Engine(c.Engine),
			Speculative: spec,
		}
		if a := c.EngineArgs; a != nil {
			if a.MaxNumSeqs != nil {
				d.MaxSeqs = *a.MaxNumSeqs
			}
			if a.MaxNumBatchedTokens != nil {
				d.MaxBatchTokens = *a.MaxNumBatchedTokens
			}
			d.NoChunkedPrefill = a.ChunkedPrefill != nil && !*a.ChunkedPrefill
			d.Eager = a.EnforceEager != nil && *a.EnforceEager
			if a.CUDAGraphMaxBatch != nil {
				d.GraphMaxBatch = *a.CUDAGraphMaxBatch
			}
			if a.GPUMemoryUtilization != nil {
				d.MemoryUtilization = *a.GPUMemoryUtilization
			}
		}
		if in.Chips > 0 && in.TP*max(in.PP, 1)%in.Chips == 0 {
			d.DevicesPerChip = in.TP * max(in.PP, 1) / in.Chips
		}
		if in.Role == "prefill" {
			d.Speculative = nil
		}
		return perf.New(d, p.Params)
	}
	sc := perf.Scenario{Workload: perf.Workload{
		InputTokens:   c.Workload.InputTokens,
		OutputTokens:  c.Workload.OutputTokens,
		PrefixHit:     c.Workload.PrefixCacheHit,
		ContextTokens: c.Workload.ContextTokens,
	}}
	switch l := c.Workload.Load; l.Kind() {
	case corpus.LoadOffline:
		sc.Load.Kind = perf.Offline
	case corpus.LoadConcurrency:
		sc.Load.Kind, sc.Load.Concurrency = perf.Concurrency, float64(*l.Concurrency)
	case corpus.LoadRate:
		sc.Load.Kind, sc.Load.Rate = perf.Rate, *l.RatePerS
	case corpus.LoadBatchPerChip:
		sc.Load.Kind, sc.Load.Batch = perf.BatchPerChip, *l.BatchPerChip
	default:
		sc.Load.Kind = perf.SLOOnly
	}
	if s := c.SLO; s != nil {
		sc.Load.SLO = &perf.SLO{
			TTFT:       units.Seconds(s.TTFTms / 1e3),
			TPOT:       units.Seconds(s.TPOTms / 1e3),
			Percentile: s.Percentile,
		}
	}
	if c.Serving == "disaggregated" {
		pre, dec := c.Role("prefill"), c.Role("decode")
		// A figure of one phase may list only the pool it measures
		// (docs/corpus.md); that pool then stands for both, as an
		// aggregated instance measured in one phase does below, and only
		// its own figure is read.
		if c.Phase == "prefill" && dec == nil || c.Phase == "decode" && pre == nil {
			only := pre
			if only == nil {
				only = dec
			}
			if sc.Decode, err = build(only); err != nil {
				return sc, fmt.Errorf("%s instance: %w", only.Role, err)
			}
			sc.Prefill, sc.PrefillCount, sc.DecodeCount = sc.Decode, only.Count, only.Count
			return sc, nil
		}
		if pre == nil || dec == nil {
			return sc, errors.New("a disaggregated case needs prefill and decode instances")
		}
		if sc.Prefill, err = build(pre); err != nil {
			return sc, fmt.Errorf("prefill instance: %w", err)
		}
		if sc.Decode, err = build(dec); err != nil {
			return sc, fmt.Errorf("decode instance: %w", err)
		}
		sc.PrefillCount, sc.DecodeCount = pre.Count, dec.Count
		return sc, nil
	}
	mixed := c.Role("mixed")
	if mixed == nil && len(c.Instances) > 0 {
		mixed = &c.Instances[0]
	}
	if mixed == nil {
		return sc, errors.New("an aggregated case needs one mixed instance")
	}
	if sc.Mixed, err = build(mixed); err != nil {
		return sc, err
	}
	sc.MixedCount = mixed.Count
	// An aggregated deployment measured in one phase behaves as a pool of
	// that phase: the figure is the throughput of prefill-only or
	// decode-only steps.
	switch c.Phase {
	case "prefill":
		sc.Prefill, sc.PrefillCount = sc.Mixed, sc.MixedCount
		sc.Decode, sc.DecodeCount = sc.Mixed, sc.MixedCount
		sc.Mixed = nil
	case "decode":
		if c.Workload.InputTokens == 0 {
			// A decode-only figure with no prompt (context_tokens only):
			// the aggregated instance never prefills, so it is its own
			// decode pool.
			break
		}
		sc.Prefill, sc.PrefillCount = sc.Mixed, sc.MixedCount
		sc.Decode, sc.DecodeCount = sc.Mixed, sc.MixedCount
		sc.Mixed = nil
	}
	return sc, nil
}

// nodeFor returns the node an instance of chips chips runs in: the chip's
// default node when its scale-up domain holds the instance, else the
// smallest catalog node that holds this chip in one domain large enough
// (a 32-die 910C instance lives in a CloudMatrix384, not across Atlas 800
// A3 servers), else the default node, whose scale-out network then
// carries the traffic beyond the domain.
func (p *Predictor) nodeFor(chip *hardware.Chip, def *hardware.Node, chips int) *hardware.Node {
	if def != nil && def.ScaleUpDomain >= chips {
		return def
	}
	var best *hardware.Node
	for _, n := range p.Hardware.Nodes {
		if n.ScaleUpDomain < chips || (best != nil && n.ScaleUpDomain >= best.ScaleUpDomain) {
			continue
		}
		for _, id := range n.Chips {
			if strings.EqualFold(id, chip.ID) {
				best = n
				break
			}
		}
	}
	if best == nil {
		return def
	}
	return best
}

func (p *Predictor) model(c *corpus.Case) (*model.Model, error) {
	if c.ModelIsPath() {
		if p.ResolveModel == nil {
			return nil, fmt.Errorf("model %q is a path, and no resolver was given", c.Model)
		}
		return p.ResolveModel(c.Model)
	}
	return p.Models.Model(c.Model)
}

// metric reads the case's metric from a result, per chip of the phase
// measured.
func metric(c *corpus.Case, r *perf.Result, sc perf.Scenario) (float64, float64, error) {
	in, out, chips := r.InputTPS, r.OutputTPS, r.Chips
	aggregatedPhase := sc.Mixed == nil && sc.Prefill == sc.Decode
	switch c.Phase {
	case "prefill":
		if pl := r.Pool(perf.Prefill); pl != nil {
			in, out, chips = pl.InputTPS, 0, pl.Chips
			if aggregatedPhase {
				out = in / math.Max(c.Workload.InputTokens, 1) // one token per prompt
			}
		}
	case "decode":
		// A decode-only aggregated case (no prompt) has a mixed pool only,
		// and all of it decodes.
		if pl := r.Pool(perf.Decode); pl != nil {
			in, out, chips = pl.InputTPS, pl.OutputTPS, pl.Chips
		}
	}
	if chips <= 0 {
		return 0, 0, errors.New("no chips in the measured phase")
	}
	var v float64
	switch c.Metric {
	case "output_tokens_per_s_per_chip":
		v = out / chips
	case "input_tokens_per_s_per_chip":
		v = in / chips
	case "total_tokens_per_s_per_chip":
		v = (in + out) / chips
	case "tokens_per_s_per_user":
		v = r.PerUser
	case "ttft_ms_mean":
		v = float64(r.TTFT.Mean) * 1e3
	case "tpot_ms_mean":
		v = float64(r.TPOT.Mean) * 1e3
	default:
		return 0, 0, fmt.Errorf("unknown metric %q", c.Metric)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if r.Saturated {
			return 0, 0, fmt.Errorf("%s is unbounded: the load saturates the deployment", c.Metric)
		}
		return 0, 0, fmt.Errorf("%s is not finite", c.Metric)
	}
	return v, chips, nil
}
