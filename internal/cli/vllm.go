package cli

import (
	"flag"
	"strings"
)

// vLLM's spellings of the deployment flags, so a `vllm serve` command line
// carries over. --tensor-parallel-size and --pipeline-parallel-size are
// --tp and --pp; --gpu-memory-utilization, --kv-cache-dtype and
// --max-model-len are --memory-utilization, --kv-cache and --context.
// --data-parallel-size keeps vLLM's meaning, which differs from --dp: vLLM
// runs D copies of a tp-way attention and, for an MoE model, one expert
// layer over all D×tp devices, which ersatz writes tp D×tp, dp D;
// --enable-expert-parallel puts the experts on every device (ep = D×tp).
type vllmFlags struct {
	dp  int
	eep bool
}

func (v *vllmFlags) register(fs *flag.FlagSet) {
	alias(fs, "tensor-parallel-size", "tp")
	alias(fs, "pipeline-parallel-size", "pp")
	alias(fs, "gpu-memory-utilization", "memory-utilization")
	alias(fs, "kv-cache-dtype", "kv-cache")
	alias(fs, "max-model-len", "context")
	fs.IntVar(&v.dp, "data-parallel-size", 0, "vLLM's data parallelism: D copies of the tp-way attention sharing one expert layer over D×tp devices (an MoE model only)")
	fs.BoolVar(&v.eep, "enable-expert-parallel", false, "vLLM's expert parallelism: experts spread over every device of the instance (ep = tp × data-parallel-size)")
}

// kvDtype reads vLLM's --kv-cache-dtype values: auto is the default, and
// the fp8 variants are fp8.
func kvDtype(s string) string {
	switch v := lower(s); {
	case v == "auto":
		return ""
	case strings.HasPrefix(v, "fp8"):
		return "fp8"
	case v == "bfloat16":
		return "bf16"
	case v == "float16", v == "half":
		return "fp16"
	default:
		return s
	}
}
