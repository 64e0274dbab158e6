package sim_test

import (
	"fmt"
	"math/rand/v2"

	"ersatz/internal/sim"
	"ersatz/internal/workload"
)

func Example() {
	// Two requests on one replica whose steps take a flat 10 ms.
	cfg := sim.Config{Pool: sim.Pool{
		Replicas: 1,
		Timer:    &sim.LinearStepTimer{BaseS: 0.010},
		Engine:   sim.EngineConfig{MaxNumBatchedTokens: 512, KVTokens: 4096},
	}}
	src := workload.FromSlice([]workload.Request{
		{ID: 1, ArrivalS: 0, Input: 1000, Output: 3}, // prefill in two chunks: 512 + 488
		{ID: 2, ArrivalS: 0.015, Input: 100, Output: 2},
	})
	sink := sim.RecordFunc(func(r *sim.Record) {
		fmt.Printf("request %d: TTFT %.0f ms, E2E %.0f ms\n", r.ID, r.TTFTS()*1e3, r.E2ES()*1e3)
	})
	sum, err := sim.Run(cfg, src, rand.New(rand.NewPCG(1, 1)), sink)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d finished in %.0f ms\n", sum.Finished, sum.DurationS*1e3)
	// Output:
	// request 1: TTFT 20 ms, E2E 40 ms
	// request 2: TTFT 15 ms, E2E 25 ms
	// 2 finished in 40 ms
}
