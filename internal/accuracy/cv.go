package accuracy

import (
	"errors"
	"fmt"

	"ersatz/internal/corpus"
	"ersatz/internal/perf"
)

// Setup is what fitting and cross-validation need from the caller.
type Setup struct {
	// Params are the model's parameters; their Stack is ignored and
	// replaced by what each fit estimates.
	Params *perf.Params
	// Predictor returns a predictor running the model with p.
	Predictor func(p *perf.Params) corpus.Predictor
	// Family maps a chip id to its family ("" when unknown).
	Family func(chip string) string
}

// Fit is what the corpus calibrates: the stack efficiencies and the
// residual table.
type Fit struct {
	Stack map[string]*perf.Stack
	Table *Table
}

type pred struct {
	p   corpus.Prediction
	err error
}

// runner predicts a corpus once without stack efficiencies and again,
// cached, for each distinct efficiency a fold gives a case's pair.
type runner struct {
	s       *Setup
	cases   []corpus.Case
	regimes []Regime
	groups  []string
	base    []pred
	cache   map[string]pred
}

func (s *Setup) runner(cases []corpus.Case) *runner {
	r := &runner{s: s, cases: cases, cache: map[string]pred{}}
	p := s.with(nil)
	for i := range cases {
		c := &cases[i]
		r.regimes = append(r.regimes, Regime{Engine: Engine(c), Family: s.Family(c.Chip), Phase: Phase(c)})
		r.groups = append(r.groups, c.GroupKey())
		r.base = append(r.base, safePredict(p, c))
	}
	return r
}

// with returns a predictor over the setup's parameters with the given
// stack efficiencies.
func (s *Setup) with(stack map[string]*perf.Stack) corpus.Predictor {
	p := *s.Params
	p.Stack = stack
	return s.Predictor(&p)
}

func safePredict(p corpus.Predictor, c *corpus.Case) (out pred) {
	defer func() {
		if v := recover(); v != nil {
			out = pred{err: fmt.Errorf("predictor panicked: %v", v)}
		}
	}()
	pr, err := p.Predict(c)
	return pred{p: pr, err: err}
}

// predict is case i under stack.
func (r *runner) predict(i int, stack map[string]*perf.Stack) pred {
	// The case's pair, or the ancestor family's it inherits, as perf
	// resolves it.
	reg := r.regimes[i]
	params := *r.s.Params
	params.Stack = stack
	pair, st := params.StackFor(perf.Engine(reg.Engine), reg.Family)
	d, f := 1.0, 1.0
	if st != nil {
		if st.Decode != nil {
			d = st.Decode.Value
		}
		if st.Prefill != nil {
			f = st.Prefill.Value
		}
	}
	if d == 1 && f == 1 || r.base[i].err != nil {
		return r.base[i]
	}
	key := fmt.Sprintf("%d/%g/%g", i, d, f)
	if p, ok := r.cache[key]; ok {
		return p
	}
	p := safePredict(r.s.with(map[string]*perf.Stack{pair: st}), &r.cases[i])
	r.cache[key] = p
	return p
}

func (r *runner) sample(i int, p pred) sample {
	c := &r.cases[i]
	return newSample(c.ID, r.groups[i], r.regimes[i], c.Metric, c.Measured, p)
}

// fit estimates the stack efficiencies and the residual table from the
// cases idx.
func (r *runner) fit(idx []int) *Fit {
	base := make([]sample, 0, len(idx))
	for _, i := range idx {
		base = append(base, r.sample(i, r.base[i]))
	}
	stack := fitStack(base)
	after := make([]sample, 0, len(idx))
	for _, i := range idx {
		after = append(after, r.sample(i, r.predict(i, stack)))
	}
	return &Fit{Stack: stack, Table: fitTable(after, base)}
}

// Fit calibrates on every case.
func (s *Setup) Fit(cases []corpus.Case) *Fit {
	r := s.runner(cases)
	idx := make([]int, len(cases))
	for i := range idx {
		idx[i] = i
	}
	return r.fit(idx)
}

// CrossValidated returns a predictor that answers each of cases with the
// stack efficiencies and the residual table re-derived without its group
// (leave-one-source-out), its band at level, and the number of groups.
// Evaluate the cases with it ([corpus.Evaluate]); a case not among cases
// gets an error.
func (s *Setup) CrossValidated(cases []corpus.Case, level float64) (corpus.Predictor, int) {
	r := s.runner(cases)
	out := make(map[*corpus.Case]pred, len(cases))
	n := leaveOneGroupOut(r.groups, func(in, held []int) {
		f := r.fit(in)
		for _, i := range held {
			p := r.predict(i, f.Stack)
			if p.err == nil {
				p.p.Low, p.p.High, _ = f.Table.Band(r.regimes[i], cases[i].Metric, p.p.Value, p.p.Low, p.p.High, level)
			}
			out[&cases[i]] = p
		}
	})
	return corpus.PredictorFunc(func(c *corpus.Case) (corpus.Prediction, error) {
		p, ok := out[c]
		if !ok {
			return corpus.Prediction{}, errors.New("case not in any cross-validation fold")
		}
		return p.p, p.err
	}), n
}

// leaveOneGroupOut calls fold once per group, with the indexes of the
// other groups' cases and of the group's own, and returns the number of
// groups.
func leaveOneGroupOut(groups []string, fold func(in, held []int)) int {
	members := map[string][]int{}
	for i, g := range groups {
		members[g] = append(members[g], i)
	}
	for g, held := range members {
		var in []int
		for i, gi := range groups {
			if gi != g {
				in = append(in, i)
			}
		}
		fold(in, held)
	}
	return len(members)
}

// CrossValidate evaluates cases with [Setup.CrossValidated] and states
// the level and the procedure in the report.
func (s *Setup) CrossValidate(cases []corpus.Case, level float64) *corpus.Report {
	p, groups := s.CrossValidated(cases, level)
	rep := corpus.Evaluate(cases, p)
	rep.BandLevel, rep.Note = level, CVNote(groups, level)
	return rep
}

// CVNote says how a cross-validated report was made.
func CVNote(groups int, level float64) string {
	return fmt.Sprintf("cross-validated, leave one source out (%d groups): stack efficiencies and residual spreads re-derived without each case's group; bands are %.0f%% intervals",
		groups, level*100)
}

// Banded wraps a predictor so that each band is the interval at Level:
// the base predictor's spec and parameter band combined with Table's
// residual spread in the case's regime.
type Banded struct {
	Base   corpus.Predictor
	Table  *Table
	Level  float64
	Family func(chip string) string
}

// Predict implements [corpus.Predictor].
func (b *Banded) Predict(c *corpus.Case) (corpus.Prediction, error) {
	p, err := b.Base.Predict(c)
	if err != nil {
		return p, err
	}
	reg := Regime{Engine: Engine(c), Family: b.Family(c.Chip), Phase: Phase(c)}
	p.Low, p.High, _ = b.Table.Band(reg, c.Metric, p.Value, p.Low, p.High, b.Level)
	return p, nil
}
