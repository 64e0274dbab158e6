package workload_test

import (
	"fmt"
	"strings"

	"ersatz/internal/workload"
)

func ExampleNewMooncake() {
	const trace = `{"timestamp": 0, "input_length": 600, "output_length": 20, "hash_ids": [7, 8]}
{"timestamp": 1500, "input_length": 530, "output_length": 5, "hash_ids": [7, 9]}
`
	// 64-token blocks: each 512-token id covers 8 of them. The second
	// prompt's 8 full blocks (512 tokens) all lie under id 7, shared.
	m, err := workload.NewMooncake(strings.NewReader(trace), workload.TraceOptions{Name: "mooncake.jsonl", BlockTokens: 64})
	if err != nil {
		panic(err)
	}
	var r workload.Request
	var first []uint64
	for m.Next(&r) {
		if first == nil {
			first = append(first, r.Hashes...)
		}
		shared := 0
		for shared < len(first) && shared < len(r.Hashes) && first[shared] == r.Hashes[shared] {
			shared++
		}
		fmt.Printf("id %d at %.1f s: %d in, %d out, %d full blocks, %d shared with the first\n",
			r.ID, r.ArrivalS, r.Input, r.Output, len(r.Hashes), shared)
	}
	if err := m.Err(); err != nil {
		panic(err)
	}
	// Output:
	// id 1 at 0.0 s: 600 in, 20 out, 9 full blocks, 9 shared with the first
	// id 2 at 1.5 s: 530 in, 5 out, 8 full blocks, 8 shared with the first
}
