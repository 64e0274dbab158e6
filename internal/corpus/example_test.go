package corpus_test

import (
	"fmt"
	"os"

	"ersatz/internal/corpus"
)

func Example() {
	data := []byte(`
version: 1
cases:
  - id: demo
    source: "a vendor blog"
    claim: vendor
    model: meta-llama/Llama-3.1-8B-Instruct
    chip: h100-sxm
    precision: {weights: fp8}
    instances: [{role: mixed, tp: 2}]
    workload: {input_tokens: 1000, output_tokens: 1000, load: {offline: true}}
    metric: output_tokens_per_s_per_chip
    measured: 10000
    dataset: sharegpt
`)
	f, warnings, err := corpus.Parse(data, corpus.CorpusMode)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range warnings {
		fmt.Println("warning:", w)
	}
	c := f.Cases[0]
	fmt.Println(c.Serving, c.Phase, c.Chips(), c.Precision.Weights)

	// A predictor that is 10 % high on every case.
	p := corpus.PredictorFunc(func(c *corpus.Case) (corpus.Prediction, error) {
		return corpus.Prediction{Value: c.Measured * 1.1, Low: c.Measured, High: c.Measured * 1.2}, nil
	})
	r := corpus.Evaluate(f.Cases, p)
	r.WriteText(os.Stdout, nil)
	// Output:
	// warning: cases[0] (id demo).dataset: unknown field, ignored
	// aggregated all 2 fp8
	// id    chip      metric                        measured  predicted  error   band
	// demo  h100-sxm  output_tokens_per_s_per_chip  10000     11000      +10.0%  10000..12000 ok
	//
	// engine   n  failed  median |error|  within 25%  within band  band width
	// unknown  1  0       10.0%           100%        100%         18%
	//
	// metric                        n  failed  median |error|  within 25%  within band  band width
	// output_tokens_per_s_per_chip  1  0       10.0%           100%        100%         18%
	//
	// all: n 1, failed 0, median |error| 10.0%, mape 10.0%, within 25% 100%, within band 100%, median band width 18%
}
