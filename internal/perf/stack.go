package perf

import (
	"fmt"
	"strings"

	"ersatz/internal/units"
)

// Stack is the measured efficiency of one serving engine's software stack
// on one chip family: how much faster (above 1) or slower (below 1) its
// steps run than the model's kernels, rates and overheads say. It is
// estimated from the corpus, never set by hand (docs/accuracy.md): a
// phase without enough independent measurements has no entry and runs
// at 1.
type Stack struct {
	// Decode scales steps without prefill; Prefill steps that carry
	// prompt tokens.
	Decode  *StackEff `json:"decode,omitempty"`
	Prefill *StackEff `json:"prefill,omitempty"`
}

// StackEff is one stack efficiency with the evidence behind it.
type StackEff struct {
	Value float64 `json:"value"`
	// Groups is how many independent sources (cross-validation groups)
	// the value rests on; Cases are their case ids.
	Groups int      `json:"groups"`
	Cases  []string `json:"cases"`
}

// StackKey names a (engine, chip family) pair in Params.Stack.
func StackKey(e Engine, family string) string {
	if e == "" {
		e = Other
	}
	return string(e) + "/" + strings.ToLower(family)
}

// StackFor returns the stack entry an engine on a chip family runs with,
// and its key: the family's own, else its nearest ancestor's, along the
// same inheritance its efficiency parameters follow (a Hygon DCU runs vLLM
// as a CDNA3 part does, an Ascend 950 as a 910C does); nil with none up the
// chain.
func (p *Params) StackFor(e Engine, family string) (string, *Stack) {
	name := strings.ToLower(family)
	for range len(p.Families) + 1 {
		if s := p.Stack[StackKey(e, name)]; s != nil {
			return StackKey(e, name), s
		}
		f := p.Families[name]
		if f == nil || f.Parent == "" {
			break
		}
		name = strings.ToLower(f.Parent)
	}
	return "", nil
}

// StackEfficiency returns the decode and prefill stack efficiencies of an
// engine on a chip family ([Params.StackFor]); 1 where none applies.
func (p *Params) StackEfficiency(e Engine, family string) (decode, prefill float64) {
	decode, prefill = 1, 1
	_, s := p.StackFor(e, family)
	if s == nil {
		return
	}
	if s.Decode != nil {
		decode = s.Decode.Value
	}
	if s.Prefill != nil {
		prefill = s.Prefill.Value
	}
	return
}

func (p *Params) checkStack() error {
	for k, s := range p.Stack {
		for _, e := range []*StackEff{s.Decode, s.Prefill} {
			if e != nil && !(e.Value > 0.05 && e.Value < 20) {
				return fmt.Errorf("perf params: stack %s: value %g: want in (0.05, 20)", k, e.Value)
			}
		}
	}
	return nil
}

// stacked divides a step's time by the stack efficiency of its phase: a
// step that carries prompt tokens runs at the prefill efficiency, one
// that only decodes at the decode efficiency.
func (in *Instance) stacked(b *Batch, s Step) Step {
	eff := in.stackDecode
	if b.PrefillTokens > 0 {
		eff = in.stackPrefill
	}
	if eff == 1 || eff <= 0 {
		return s
	}
	k := units.Seconds(1 / eff)
	for _, p := range [...]*Part{&s.Projections, &s.FFN, &s.Experts, &s.Attention, &s.Elementwise, &s.LMHead,
		&s.Draft, &s.TPComm, &s.EPComm, &s.PPComm, &s.Overhead} {
		p.Seconds *= k
	}
	s.Total *= k
	return s
}
