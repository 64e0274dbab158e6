package deploy_test

import (
	"fmt"
	"strings"

	"ersatz/internal/deploy"
	"ersatz/internal/hardware"
	"ersatz/internal/plan"
)

// A decode instance of 16 H20 spans two HGX nodes, so it becomes a
// LeaderWorkerSet; the prefill pool fits in one node, a Deployment.
func ExampleKubernetes() {
	p := &plan.Plan{Chip: "h20", Vendor: "nvidia", Node: "hgx-h20-8", Serving: "disaggregated",
		Weights: "fp8", KVCache: "fp8", Layout: "tp16 pp1 ep16 dp16", Replicas: 2,
		PrefillLayout: "tp8 pp1 ep8 dp1", PrefillReplicas: 3, ChipsTotal: 56, Nodes: 7}
	files, err := deploy.Kubernetes(p, hardware.Default(), deploy.Options{Model: "deepseek-ai/DeepSeek-R1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		fmt.Println(f.Name)
	}
	// Output:
	// deepseek-r1-model-cache.yaml
	// deepseek-r1-prefill-deployment.yaml
	// deepseek-r1-prefill-service.yaml
	// deepseek-r1-decode-leaderworkerset.yaml
	// deepseek-r1-decode-service.yaml
}

// The launch line of an 8-GPU H200 instance at fp8, its flags vLLM's.
func ExampleLaunch() {
	p := &plan.Plan{Chip: "h200-sxm", Vendor: "nvidia", Node: "hgx-h200-8", Serving: "aggregated",
		Weights: "fp8", KVCache: "bf16", Layout: "tp8 pp1 ep8 dp1", Replicas: 1, ChipsTotal: 8, Nodes: 1}
	files, err := deploy.Launch(p, hardware.Default(), deploy.Options{Model: "deepseek-ai/DeepSeek-R1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	script := string(files[0].Data)
	start := strings.Index(script, "exec vllm")
	fmt.Println(script[start : start+strings.Index(script[start:], ";;")])
	// Output:
	// exec vllm serve deepseek-ai/DeepSeek-R1 \
	//     --port 8000 \
	//     --tensor-parallel-size 8 \
	//     --enable-expert-parallel \
	//     --quantization fp8 \
	//     --max-model-len 8192 \
	//     --gpu-memory-utilization 0.9 \
	//     --max-num-seqs 1024 \
	//     --max-num-batched-tokens 8192
}
