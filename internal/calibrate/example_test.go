package calibrate_test

import (
	"fmt"

	"ersatz/internal/calibrate"
)

// Family parameters are named by the chip family, engine ones by the
// engine; each has bounds.
func ExampleNewKnob() {
	for _, name := range []string{"mem_eff", "step_overhead_s", "warp_speed"} {
		k, err := calibrate.NewKnob(name, "ascend", "vllm")
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%v in [%g, %g]\n", k, k.Lo, k.Hi)
	}
	// Output:
	// ascend.mem_eff in [0.05, 1]
	// vllm.step_overhead_s in [0, 0.05]
	// calibrate: parameter "warp_speed": want one of attn_eff, comm_eff, gemm_eff, hop_latency_s, kernel_overhead_s, kernel_scale, lowp_gemm_scale, mem_eff, moe_imbalance, seq_overhead_s, step_overhead_s
}
