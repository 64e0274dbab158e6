package deploy

import (
	"fmt"
	"strconv"
)

// SGLang's server (python -m sglang.launch_server) for plans modelled with
// --engine sglang, on the vendors SGLang ships a build for: NVIDIA, AMD
// and Ascend (--device npu). Flag names are the fields of SGLang's
// ServerArgs (python/sglang/srt/server_args.py: the flag is the field name
// with dashes). SGLang counts --tp-size over the whole instance, with DP
// attention inside it, as ersatz does; an instance across nodes runs the
// same command on every node with --nnodes, --node-rank and
// --dist-init-addr (SGLang's multi-node and LWS examples).

const sglangDistPort = 20000 // the dist-init port of SGLang's LWS example

var sglangServe = []string{"python3", "-m", "sglang.launch_server"}

// sglangCheck refuses vendors SGLang has no build for.
func sglangCheck(ps []*pool) error {
	for _, pl := range ps {
		switch pl.stack.vendor {
		case "nvidia", "amd", "huawei":
		default:
			return fmt.Errorf("engine sglang: %s is a %s chip, for which SGLang ships no build; plan with --engine vllm (%s)", pl.chip.ID, pl.chip.Vendor, pl.stack.engine)
		}
	}
	return nil
}

// sglangImage is the image of SGLang's build for a pool's chip.
func sglangImage(pl *pool) (string, bool) {
	switch pl.stack.vendor {
	case "nvidia":
		return "lmsysorg/sglang:latest", false
	case "amd":
		return "lmsysorg/sglang:REPLACE-ME-rocm (SGLang's ROCm images; pick a release tag)", true
	}
	suffix := "-910b"
	if pl.chip.ID == "ascend-910c" {
		suffix = "-a3"
	}
	return "quay.io/ascend/sglang:REPLACE-ME-cannREPLACE-ME" + suffix + " (pick a release and CANN version; docs.sglang.io Ascend quickstart)", true
}

// sglangArgs is the server's command line for one pool.
func (o *Options) sglangArgs(pl *pool) ([]string, []note) {
	l := pl.layout
	var notes []note
	argv := append(append([]string(nil), sglangServe...), "--model-path", o.Model, "--host", "0.0.0.0", "--port", strconv.Itoa(Port),
		"--tp-size", strconv.Itoa(l.TP))
	if pl.stack.vendor == "huawei" {
		argv = append(argv, "--device", "npu", "--attention-backend", "ascend")
	}
	if l.PP > 1 {
		argv = append(argv, "--pp-size", strconv.Itoa(l.PP))
	}
	if l.DP > 1 {
		argv = append(argv, "--dp-size", strconv.Itoa(l.DP), "--enable-dp-attention")
	}
	if l.EP > 1 {
		argv = append(argv, "--ep-size", strconv.Itoa(l.EP))
	}
	switch v := pl.stack.vendor + "/" + pl.weights; v {
	case "nvidia/bf16", "amd/bf16", "huawei/bf16":
	case "nvidia/fp16", "amd/fp16", "huawei/fp16":
		argv = append(argv, "--dtype", "float16")
	case "nvidia/fp8", "amd/fp8":
		argv = append(argv, "--quantization", "fp8")
	case "huawei/int8", "huawei/int4":
		argv = append(argv, "--quantization", "modelslim")
		notes = append(notes, note{text: pl.role + " pool: serve a ModelSlim " + pl.weights + " checkpoint (SGLang --quantization modelslim)"})
	default:
		notes = append(notes, note{text: pl.role + " pool, " + pl.weights + " weights: serve a pre-quantized checkpoint (w8a8_int8, AWQ/GPTQ, ModelOpt FP4 or Quark) whose config names the method"})
	}
	switch pl.kv {
	case "", "bf16", "fp16":
	case "fp8":
		if pl.stack.vendor == "huawei" {
			notes = append(notes, note{text: "REPLACE-ME: the plan stores the KV cache in fp8; SGLang documents fp8 KV for CUDA", placeholder: true})
		} else {
			argv = append(argv, "--kv-cache-dtype", "fp8_e4m3")
		}
	default:
		notes = append(notes, note{text: "REPLACE-ME: the plan stores the KV cache in " + pl.kv + "; SGLang has no such --kv-cache-dtype", placeholder: true})
	}
	seqs, tokens, util := o.batchDefaults(pl)
	// The plan's cap is per DP rank (perf counts max_seqs × DP); SGLang's
	// --max-running-requests is the instance's.
	argv = append(argv, "--context-length", strconv.Itoa(o.MaxModelLen),
		"--mem-fraction-static", strconv.FormatFloat(util, 'g', -1, 64),
		"--max-running-requests", strconv.Itoa(seqs*l.DP), "--chunked-prefill-size", strconv.Itoa(tokens))
	if pl.other != nil {
		backend := "mooncake"
		if pl.stack.vendor == "huawei" {
			backend = "ascend" // MemFabric in place of Mooncake's transfer engine
		}
		argv = append(argv, "--disaggregation-mode", pl.role, "--disaggregation-transfer-backend", backend)
		if pl.other.stack != pl.stack {
			notes = append(notes, note{text: "REPLACE-ME: prefill and decode on two vendors' chips need a KV transfer between them, which SGLang does not document", placeholder: true})
		}
	}
	return argv, notes
}

// sglangCommands are the starts of a pool's pods: on every node of an
// instance the same server, told its rank.
func (o *Options) sglangCommands(pl *pool) (map[string]command, []note) {
	argv, notes := o.sglangArgs(pl)
	exe := len(sglangServe)
	if pl.nodes == 1 {
		return map[string]command{roleSingle: {argv: argv, exe: exe}}, notes
	}
	multi := func(rank string) []string {
		return append(append([]string(nil), argv...), "--nnodes", strconv.Itoa(pl.nodes), "--node-rank", rank,
			"--dist-init-addr", fmt.Sprintf("${LWS_LEADER_ADDRESS}:%d", sglangDistPort))
	}
	return map[string]command{
		roleLeader: {argv: multi("0"), exe: exe},
		roleWorker: {argv: multi("${LWS_WORKER_INDEX}"), exe: exe},
	}, notes
}
