package fit_test

import (
	"fmt"

	"ersatz/internal/fit"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
)

// DeepSeek-R1 in fp8 on one 8 × H20 server: 671B weights take 84 GB of each
// 96 GiB device, leaving room for about 83k tokens of MLA cache.
func ExampleCheck() {
	m, _ := model.Default().Model("deepseek-ai/DeepSeek-R1")
	h20, _ := hardware.Default().Chip("h20")
	o := fit.DefaultOptions
	o.Weights = hardware.FP8
	r, _ := fit.Check(m, h20, fit.Layout{TP: 8, PP: 1, EP: 1, DP: 1}, o)
	fmt.Printf("fits %v, weights %.1f GB per device, %d KV tokens, %d sequences of %d tokens\n",
		r.Fits, r.Weights.GB(), r.KVTokens, r.Sequences, r.Context)
	// Output: fits true, weights 84.3 GB per device, 83413 KV tokens, 10 sequences of 8192 tokens
}
