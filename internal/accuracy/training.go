package accuracy

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"ersatz/internal/corpus"
	"ersatz/internal/perf"
	"ersatz/internal/train"
)

// TrainPhase is the phase of every training regime.
const TrainPhase = "train"

// TrainingRegime is where a training prediction falls for its residual
// spread: its framework on its chip's family.
func TrainingRegime(framework, family string) Regime {
	return Regime{Engine: framework, Family: family, Phase: TrainPhase}
}

// Training calibrates the training estimator on a training corpus and
// cross-validates it (docs/train.md, "Calibration"). A step at stack
// efficiency e takes 1/e of the modelled one and no layout's rank
// changes, so a calibrated prediction is the model's scaled by e (by 1/e
// for a time or chip-hours): the corpus is predicted once.
type Training struct {
	cases   []train.Case
	regimes []Regime
	groups  []string
	base    []pred
}

// TrainingFit is what a training corpus calibrates: the stack
// efficiencies and the residual table of the bands.
type TrainingFit struct {
	Calibration *train.Calibration
	Table       *Table
}

// NewTraining predicts every case with the model alone (p's Calibration
// is ignored); family maps a chip id to its family.
func NewTraining(cases []train.Case, p *train.Predictor, family func(chip string) string) *Training {
	bare := *p
	bare.Calibration = nil
	tr := &Training{cases: cases}
	for i := range cases {
		c := &cases[i]
		tr.regimes = append(tr.regimes, TrainingRegime(c.FrameworkName(), family(c.Chip)))
		tr.groups = append(tr.groups, c.GroupKey())
		v, err := safeTrain(&bare, c)
		tr.base = append(tr.base, pred{p: v, err: err})
	}
	return tr
}

func safeTrain(p *train.Predictor, c *train.Case) (out corpus.Prediction, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("predictor panicked: %v", v)
		}
	}()
	return p.Predict(c)
}

// scaled is case i's prediction at stack efficiency e.
func (tr *Training) scaled(i int, e float64) pred {
	p := tr.base[i]
	if p.err != nil || e == 1 || !(e > 0) { // 0: none, as Job.Efficiency
		return p
	}
	k := e
	if Latency(tr.cases[i].Metric) {
		k = 1 / e
	}
	p.p.Value *= k
	p.p.Low *= k
	p.p.High *= k
	return p
}

func (tr *Training) sample(i int, p pred) sample {
	c := &tr.cases[i]
	return newSample(c.ID, tr.groups[i], tr.regimes[i], c.Metric, c.Measured, p)
}

// groupMedian is the median over groups of each group's median residual,
// the number of groups and the cases behind it.
func groupMedian(ss []sample, r func(sample) float64) (float64, int, []string) {
	byGroup := map[string][]float64{}
	var ids []string
	for _, s := range ss {
		if s.ok {
			byGroup[s.group] = append(byGroup[s.group], r(s))
			ids = append(ids, s.id)
		}
	}
	meds := make([]float64, 0, len(byGroup))
	for _, g := range byGroup {
		meds = append(meds, median(g))
	}
	sort.Strings(ids)
	return median(meds), len(byGroup), ids
}

// fit calibrates on the cases idx of open frameworks (an in-house
// stack's cases only widen the bands): the median over groups of the
// log-ratios, unshrunk (every run pays costs the model leaves out, so 1
// is no prior to shrink toward); then per family the median over its
// groups of what is left, shrunk by k/(k+K0) and set only from
// MinStackGroups groups, as serving's stack efficiencies are.
func (tr *Training) fit(idx []int) *TrainingFit {
	base := make([]sample, 0, len(idx))
	for _, i := range idx {
		if tr.regimes[i].Engine != train.InHouse {
			base = append(base, tr.sample(i, tr.base[i]))
		}
	}
	m, n, ids := groupMedian(base, func(s sample) float64 { return s.r })
	cal := &train.Calibration{All: &perf.StackEff{Value: round4(math.Exp(m)), Groups: n, Cases: ids}}
	byFamily := map[string][]sample{}
	for _, s := range base {
		byFamily[s.regime.Family] = append(byFamily[s.regime.Family], s)
	}
	for f, ss := range byFamily {
		mf, k, fids := groupMedian(ss, func(s sample) float64 { return s.r - m })
		if k < MinStackGroups || f == "" {
			continue
		}
		if cal.Family == nil {
			cal.Family = map[string]*perf.StackEff{}
		}
		cal.Family[f] = &perf.StackEff{Value: round4(math.Exp(mf * float64(k) / float64(k+K0))), Groups: k, Cases: fids}
	}
	after := make([]sample, 0, len(idx))
	global := make([]sample, 0, len(idx))
	for _, i := range idx {
		e, _ := cal.Efficiency(tr.regimes[i].Engine, tr.regimes[i].Family)
		g, _ := cal.Efficiency(tr.regimes[i].Engine, "")
		after = append(after, tr.sample(i, tr.scaled(i, e)))
		global = append(global, tr.sample(i, tr.scaled(i, g)))
	}
	return &TrainingFit{Calibration: cal, Table: fitTable(after, global)}
}

// Fit calibrates on every case.
func (tr *Training) Fit() *TrainingFit {
	idx := make([]int, len(tr.cases))
	for i := range idx {
		idx[i] = i
	}
	return tr.fit(idx)
}

// Banded answers case i with fit's calibration and its band at level.
func (tr *Training) banded(i int, f *TrainingFit, level float64) pred {
	e, _ := f.Calibration.Efficiency(tr.regimes[i].Engine, tr.regimes[i].Family)
	p := tr.scaled(i, e)
	if p.err == nil {
		p.p.Low, p.p.High, _ = f.Table.Band(tr.regimes[i], tr.cases[i].Metric, p.p.Value, p.p.Low, p.p.High, level)
	}
	return p
}

// CrossValidate reports every case under the calibration and residual
// table re-derived without its group (leave one source out), with bands
// at level.
func (tr *Training) CrossValidate(level float64) *corpus.Report {
	out := make([]pred, len(tr.cases))
	groups := leaveOneGroupOut(tr.groups, func(in, held []int) {
		f := tr.fit(in)
		for _, i := range held {
			out[i] = tr.banded(i, f, level)
		}
	})
	rep := tr.report(out)
	rep.BandLevel = level
	rep.Note = fmt.Sprintf("cross-validated, leave one source out (%d groups): the training stack efficiencies and residual spreads re-derived without each case's group; bands are %.0f%% intervals",
		groups, level*100)
	return rep
}

func (tr *Training) report(out []pred) *corpus.Report {
	byID := map[string]int{}
	for i := range tr.cases {
		byID[tr.cases[i].ID] = i
	}
	return train.Evaluate(tr.cases, func(c *train.Case) (corpus.Prediction, error) {
		i, ok := byID[c.ID]
		if !ok {
			return corpus.Prediction{}, errors.New("case not in the calibrated corpus")
		}
		return out[i].p, out[i].err
	})
}
