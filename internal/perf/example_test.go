package perf_test

import (
	"fmt"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
)

func h100() *hardware.Chip {
	v := func(x float64) *hardware.Value { return &hardware.Value{Value: x, Confidence: hardware.Datasheet} }
	return &hardware.Chip{ID: "h100-sxm", Family: "hopper", Dies: 1,
		DenseTFLOPS: map[hardware.Precision]*hardware.Value{hardware.BF16: v(989), hardware.FP8: v(1979)},
		MemoryGB:    v(80), MemoryTBps: v(3.35), ScaleUpGBpsPerDir: v(450), ScaleOutGBpsPerDir: v(50)}
}

func llama70B() *model.Model {
	return &model.Model{ID: "meta-llama/Llama-3.1-70B", Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8,
		HeadDim: 128, Intermediate: 28672, Vocab: 128256}
}

// One decode step of 64 sequences of 2,000 tokens on Llama-3.1-70B in
// fp8 over two H100s: the weights are read once for all 64 tokens.
func ExampleInstance_Step() {
	in, err := perf.New(perf.Deployment{Model: llama70B(), Chip: h100(), Weights: hardware.FP8, KV: hardware.FP8, TP: 2, Engine: perf.TRTLLM}, nil)
	if err != nil {
		panic(err)
	}
	s := in.Step(&perf.Batch{DecodeSeqs: 64, DecodeTokens: 64, DecodeKV: 64 * 2000})
	fmt.Printf("step %v: ffn %v (%v), attention %v (%v), tp %v\n",
		s.Total, s.FFN.Seconds, s.FFN.Bound, s.Attention.Seconds, s.Attention.Bound, s.TPComm.Seconds)
	// Output:
	// step 22ms: ffn 11.2ms (memory), attention 3.7ms (memory), tp 665µs
}

// Offline throughput of four TP2 instances on eight H100s.
func ExampleServe() {
	in, err := perf.New(perf.Deployment{Model: llama70B(), Chip: h100(), Weights: hardware.FP8, KV: hardware.FP8, TP: 2, Engine: perf.TRTLLM}, nil)
	if err != nil {
		panic(err)
	}
	r, err := perf.Serve(perf.Scenario{Mixed: in, MixedCount: 4,
		Workload: perf.Workload{InputTokens: 1000, OutputTokens: 1000}, Load: perf.Load{Kind: perf.Offline}})
	if err != nil {
		panic(err)
	}
	p := r.Pools[0]
	fmt.Printf("%.0f output tok/s per chip at batch %.0f (%s), TPOT %v\n", r.OutputTPS/r.Chips, p.Batch, p.BatchLimit, r.TPOT.Mean)
	// Output:
	// 2200 output tok/s per chip at batch 257 (kv-cache), TPOT 58.4ms
}
