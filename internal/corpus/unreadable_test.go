package corpus

import (
	"strings"
	"testing"
)

// mixed has three readable cases and four that cannot be read, in this
// order: good, bad-tp (out of range), bad-type (a string for a number),
// an unnamed case with a bad metric, decode-only (a disaggregated figure
// listing only its pool), good again (a repeated id), prefill-only.
const mixed = `version: 1
cases:
  - {id: good, claim: vendor, source: s, model: m, chip: h100-sxm, precision: {weights: fp8},
     instances: [{role: mixed, tp: 2}], workload: {input_tokens: 100, output_tokens: 100, load: {offline: true}},
     metric: output_tokens_per_s_per_chip, measured: 10}
  - {id: bad-tp, claim: vendor, source: s, model: m, chip: mi300x, precision: {weights: fp8},
     instances: [{role: mixed, tp: -2}], workload: {input_tokens: 100, output_tokens: 100, load: {offline: true}},
     metric: output_tokens_per_s_per_chip, measured: 10}
  - {id: bad-type, claim: vendor, source: s, model: m, chip: h100-sxm, precision: {weights: fp8},
     instances: [{role: mixed}], workload: {input_tokens: 100, output_tokens: 100, load: {offline: true}},
     metric: output_tokens_per_s_per_chip, measured: ten}
  - {claim: vendor, source: s, model: m, chip: h100-sxm, precision: {weights: fp8},
     instances: [{role: mixed}], workload: {input_tokens: 100, output_tokens: 100, load: {offline: true}},
     metric: tokens, measured: 10}
  - {id: decode-only, claim: operator, source: s, model: m, chip: h20, precision: {weights: fp8},
     serving: disaggregated, phase: decode, instances: [{role: decode, chips: 16, tp: 16, dp: 16, ep: 16}],
     workload: {input_tokens: 4096, output_tokens: 1536, context_tokens: 4864, load: {batch_per_chip: 32}},
     metric: output_tokens_per_s_per_chip, measured: 675}
  - {id: good, claim: vendor, source: s, model: m, chip: h100-sxm, precision: {weights: fp8},
     instances: [{role: mixed}], workload: {input_tokens: 100, output_tokens: 100, load: {offline: true}},
     metric: output_tokens_per_s_per_chip, measured: 10}
  - {id: prefill-only, claim: operator, source: s, model: m, chip: h20, precision: {weights: fp8},
     serving: disaggregated, phase: prefill, instances: [{role: prefill, count: 2, tp: 8}],
     workload: {input_tokens: 4096, output_tokens: 1, load: {offline: true}},
     metric: input_tokens_per_s_per_chip, measured: 5000}
`

func TestUnreadableCasesBesideTheOthers(t *testing.T) {
	f, warns, err := Parse([]byte(mixed), CorpusMode)
	if err != nil || len(warns) > 0 {
		t.Fatal(err, warns)
	}
	var ids []string
	for _, c := range f.Cases {
		ids = append(ids, c.ID)
	}
	if got := strings.Join(ids, " "); got != "good decode-only prefill-only" {
		t.Errorf("readable cases %q", got)
	}
	// 16 decode chips; 2 prefill instances x (tp 8 x pp 1) = 16 chips.
	if n := f.Cases[1].Chips(); n != 16 {
		t.Errorf("decode-only: %d chips, want 16", n)
	}
	if n := f.Cases[2].Chips(); n != 16 {
		t.Errorf("prefill-only: %d chips, want 16", n)
	}

	rep := EvaluateFile(f, PredictorFunc(func(c *Case) (Prediction, error) {
		return Prediction{Value: c.Measured}, nil
	}))
	want := []struct{ id, reason string }{
		{"good", ""},
		{"bad-tp", "unreadable: instances[0].tp: want >= 1 (got -2)"},
		{"bad-type", "unreadable: measured: want float64 (got string)"},
		{"cases[3]", `unreadable: id: want [a-z0-9-]+ (got ""); metric: want one of output_tokens_per_s_per_chip, input_tokens_per_s_per_chip, total_tokens_per_s_per_chip, tokens_per_s_per_user, ttft_ms_mean, tpot_ms_mean (got "tokens")`},
		{"decode-only", ""},
		{"good", `unreadable: id: want unique ids ("good" is also cases[0])`},
		{"prefill-only", ""},
	}
	if len(rep.Cases) != len(want) {
		t.Fatalf("%d results, want %d", len(rep.Cases), len(want))
	}
	for i, w := range want {
		r := rep.Cases[i]
		if r.ID != w.id || r.Reason != w.reason || r.Unreadable != (w.reason != "") {
			t.Errorf("result %d: %s %q (unreadable %v), want %s %q", i, r.ID, r.Reason, r.Unreadable, w.id, w.reason)
		}
	}
	// Four failures of seven; the three read cases are exact (|error| 0),
	// the four others count 1.0: median of {0,0,0,1,1,1,1} = 1.
	if s := rep.Summary; s.N != 7 || s.Failed != 4 || s.MedianAbsError != 1 {
		t.Errorf("summary %+v", s)
	}
	// What decoded of an unreadable case still groups it.
	if rep.Cases[1].Chip != "mi300x" || rep.Cases[1].Metric != "output_tokens_per_s_per_chip" {
		t.Errorf("bad-tp kept %+v", rep.Cases[1])
	}
}

func TestScenarioRefusesUnreadable(t *testing.T) {
	_, _, err := ParseScenario([]byte(mixed))
	if err == nil {
		t.Fatal("scenario with unreadable cases accepted")
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != 5 || lines[0] != "cases[1] (id bad-tp).instances[0].tp: want >= 1 (got -2)" {
		t.Errorf("error:\n%v", err)
	}
}
