package train_test

import (
	"fmt"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/train"
)

// Price one layout of Llama-3.1-70B on 64 H100 and plan a 1T-token run.
func ExampleEstimator_Evaluate() {
	cat := hardware.Default()
	chip, _ := cat.Chip("h100-sxm")
	node, _ := cat.NodeOf(chip)
	m, _ := model.Default().Model("meta-llama/Llama-3.1-70B-Instruct")
	est, err := train.New(train.Job{Model: m, Chip: chip, Node: node, Chips: 64, Precision: hardware.BF16,
		SeqLen: 8192, GlobalBatch: 256, FlashAttention: true}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := est.Evaluate(train.Layout{TP: 8, PP: 4, DP: 2, VPP: 5, ZeRO: 1, Recompute: train.RecomputeFull, MicroBatch: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	run, _ := est.Plan(r, train.RunOptions{Tokens: 1e12})
	fmt.Printf("%s: MFU %.0f%%, %.0f GB per device, %.0f days for 1T tokens\n", r.Layout, r.MFU*100, r.Memory.Total.GB(), run.Days)
	// Output:
	// tp8 pp4 dp2 vpp5 zero1 full mb1: MFU 39%, 30 GB per device, 214 days for 1T tokens
}
