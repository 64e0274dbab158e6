package predict

import (
	"strings"
	"testing"

	"ersatz/internal/corpus"
)

// A disaggregated figure of one phase may list only the pool it measures;
// it must predict what the same case predicts with the other pool listed,
// since only the measured pool's figure is read.
func TestOnePoolCase(t *testing.T) {
	const one = `version: 1
cases:
  - {id: decode, claim: operator, source: s, model: deepseek-ai/DeepSeek-R1, chip: h20, engine: sglang,
     precision: {weights: fp8, kv_cache: bf16}, serving: disaggregated, phase: decode,
     instances: [{role: decode, chips: 16, tp: 16, dp: 16, ep: 16}],
     workload: {input_tokens: 4096, output_tokens: 1536, context_tokens: 4864, load: {batch_per_chip: 32}},
     metric: output_tokens_per_s_per_chip, measured: 675}
  - {id: prefill, claim: operator, source: s, model: Qwen/Qwen3-32B, chip: h100-sxm,
     precision: {weights: fp8}, serving: disaggregated, phase: prefill,
     instances: [{role: prefill, count: 2, tp: 2}],
     workload: {input_tokens: 4096, output_tokens: 256, load: {offline: true}},
     metric: input_tokens_per_s_per_chip, measured: 10000}
`
	// The same cases with the other pool added: a decode pool of 2 x TP4
	// beside the prefill pool, a prefill pool of 2 x TP8 beside the decode.
	both := strings.Replace(one, "instances: [{role: decode,", "instances: [{role: prefill, count: 2, tp: 8}, {role: decode,", 1)
	both = strings.Replace(both, "instances: [{role: prefill, count: 2, tp: 2}]", "instances: [{role: prefill, count: 2, tp: 2}, {role: decode, count: 2, tp: 4}]", 1)
	p := New(corpus.FS(), ".")
	predict := func(doc string) []float64 {
		f, _, err := corpus.Parse([]byte(doc), corpus.CorpusMode)
		if err != nil || len(f.Unreadable) > 0 {
			t.Fatalf("parse: %v %v", err, f.Unreadable)
		}
		var v []float64
		for i := range f.Cases {
			pr, err := p.Predict(&f.Cases[i])
			if err != nil {
				t.Fatalf("%s: %v", f.Cases[i].ID, err)
			}
			v = append(v, pr.Value)
		}
		return v
	}
	a, b := predict(one), predict(both)
	for i := range a {
		if d := a[i]/b[i] - 1; d > 1e-9 || d < -1e-9 {
			t.Errorf("case %d: one pool %g, both pools %g", i, a[i], b[i])
		}
	}
}
