package deploy

import (
	"strings"

	"ersatz/internal/hardware"
)

// A stack is one vendor's serving stack: the engine build, its image, how
// the container asks Kubernetes for devices, and the engine's own flags.
// Every value is taken from the source named beside it (docs/deploy.md
// lists them); a value no source gives is a placeholder that says so.
type stack struct {
	vendor string
	engine string // the engine build, as its project names it
	// serve is the server's command line before the model; modelFlag says
	// the model goes in --model rather than as the first argument.
	serve     []string
	modelFlag bool
	// prelude runs in the container's shell before the server (a venv).
	prelude string
	// extra flags every launch of this engine carries.
	extra []string
	env   []envVar
	// multiNodeEnv is added when an instance spans nodes.
	multiNodeEnv []envVar
	mounts       []hostMount
	toleration   string // a NoSchedule taint key the device nodes carry, if known
	// kvConnector is the --kv-transfer-config connector for P/D pools;
	// producerConsumer says the engine wants kv_producer/kv_consumer roles
	// (and the pools' sizes) rather than kv_both.
	kvConnector      string
	producerConsumer bool
	kvKnown          bool
	// note is what the stack's docs ask beyond the launch line.
	note string
}

// envVar is an environment variable; fromPodIP takes the pod's IP.
type envVar struct {
	name, value string
	fromPodIP   bool
}

// hostMount is a host path the container needs (driver libraries, tools).
type hostMount struct{ path string }

const (
	// vllmVersion is the vLLM release vllm-ascend v0.23.0 pairs with
	// (vllm-ascend mkdocs.yml extra.vllm_version, Aug 2026).
	vllmVersion       = "v0.23.0"
	vllmAscendVersion = "v0.23.0"
)

// stackFor returns the serving stack of a vendor's chips.
func stackFor(vendor string) (*stack, bool) {
	s, ok := stacks[vendor]
	return s, ok
}

var stacks = map[string]*stack{
	// vLLM docs deployment/docker and deployment/k8s; NixlConnector from
	// vLLM docs features/nixl_connector_usage.md.
	"nvidia": {vendor: "nvidia", engine: "vLLM", serve: []string{"vllm", "serve"}, toleration: "nvidia.com/gpu",
		kvConnector: "NixlConnector", kvKnown: true},
	// ROCm vLLM docs: VLLM_ROCM_USE_AITER=1 recommended on MI300 and later.
	"amd": {vendor: "amd", engine: "vLLM (ROCm)", serve: []string{"vllm", "serve"},
		env: []envVar{{name: "VLLM_ROCM_USE_AITER", value: "1"}}, kvConnector: "NixlConnector", kvKnown: true},
	// vllm-ascend quick_start.md (image, host mounts) and
	// tutorials/features/pd_disaggregation_mooncake_*.md (HCCL env,
	// MooncakeConnectorV1 with producer/consumer roles).
	"huawei": {vendor: "huawei", engine: "vllm-ascend", serve: []string{"vllm", "serve"},
		multiNodeEnv: []envVar{{name: "HCCL_IF_IP", fromPodIP: true}, {name: "GLOO_SOCKET_IFNAME", value: "eth0"},
			{name: "TP_SOCKET_IFNAME", value: "eth0"}, {name: "HCCL_SOCKET_IFNAME", value: "eth0"},
			{name: "HCCL_BUFFSIZE", value: "1024"}, {name: "OMP_PROC_BIND", value: "false"}},
		mounts: []hostMount{{"/usr/local/dcmi"}, {"/usr/local/bin/npu-smi"}, {"/usr/local/Ascend/driver/lib64"},
			{"/usr/local/Ascend/driver/version.info"}, {"/etc/ascend_install.info"}},
		kvConnector: "MooncakeConnectorV1", producerConsumer: true, kvKnown: true},
	// Cambricon/vllm-mlu README: the Cambricon PyTorch container's venv.
	"cambricon": {vendor: "cambricon", engine: "vllm-mlu", serve: []string{"vllm", "serve"},
		prelude: "source /torch/venv3/pytorch_infer/bin/activate"},
	// baidu/vLLM-Kunlun docs/source/quick_start.md: the OpenAI server
	// module with the mp executor.
	"kunlunxin": {vendor: "kunlunxin", engine: "vLLM-Kunlun", serve: []string{"python", "-m", "vllm.entrypoints.openai.api_server"},
		modelFlag: true, extra: []string{"--distributed-executor-backend", "mp"},
		note: "vLLM-Kunlun's quick start sources /workspace/vllm-kunlun/setup_env.sh before serving; build it into your image's environment"},
	// MinerU dcu.Dockerfile: Hygon's vLLM build on DTK; /opt/hyhal from the host.
	"hygon": {vendor: "hygon", engine: "vLLM (Hygon DTK)", serve: []string{"vllm", "serve"},
		mounts: []hostMount{{"/opt/hyhal"}}},
}

// image returns the container image for a chip and whether it is a
// placeholder.
func (s *stack) image(c *hardware.Chip) (string, bool) {
	switch s.vendor {
	case "nvidia":
		return "vllm/vllm-openai:" + vllmVersion, false
	case "amd":
		return "vllm/vllm-openai-rocm:latest", false
	case "huawei":
		base := "quay.io/ascend/vllm-ascend:" + vllmAscendVersion
		switch {
		case strings.HasPrefix(c.ID, "ascend-910b"):
			return base, false
		case c.ID == "ascend-910c":
			return base + "-a3", false
		case c.ID == "ascend-310p":
			return base + "-310p", false
		case c.ID == "ascend-950dt":
			return base + "-950dt", false
		}
		return "REPLACE-ME/vllm-ascend:unknown-tag (no vllm-ascend image documented for " + c.ID + ")", true
	case "cambricon":
		return "REPLACE-ME/cambricon-pytorch-vllm-mlu:unknown-tag (Cambricon ships its PyTorch container as a tarball on request; load it and push it to your registry)", true
	case "kunlunxin":
		return "REPLACE-ME/vllm-kunlun:unknown-tag (no public serving image; build one on wjie520/vllm_kunlun:uv_base per vLLM-Kunlun docs/source/installation.md)", true
	case "hygon":
		return "harbor.sourcefind.cn:5443/dcu/admin/base/vllm:REPLACE-ME (0.9.2-ubuntu22.04-dtk25.04.2-...; full tag not recorded)", true
	}
	return "REPLACE-ME (no image known)", true
}

// resource is the device plugin's extended resource for a chip, one unit
// per device the engine sees (an Ascend 910C package is two NPUs).
func (s *stack) resource(c *hardware.Chip) (string, bool) {
	switch s.vendor {
	case "nvidia":
		return "nvidia.com/gpu", false // NVIDIA/k8s-device-plugin internal/lm/mig-strategy.go
	case "amd":
		return "amd.com/gpu", false // ROCm/k8s-device-plugin internal/pkg/plugin/plugin.go
	case "huawei":
		// Ascend/ascend-device-plugin pkg/common/constants.go (MindCluster).
		switch {
		case strings.HasPrefix(c.ID, "ascend-910"):
			return "huawei.com/Ascend910", false
		case c.ID == "ascend-310p":
			return "huawei.com/Ascend310P", false
		}
		return "huawei.com/REPLACE-ME-" + c.ID, true
	case "cambricon":
		return "cambricon.com/mlu", false // cambricon-k8s-device-plugin pkg/mlu/server.go
	case "kunlunxin":
		return "kunlunxin.com/xpu", false // HAMi devices.kunlun.resourceCountName
	case "hygon":
		return "hygon.com/dcu", false // seen in many manifests; no official plugin doc found
	}
	return "REPLACE-ME/device", true
}

// label is one node-selector entry; placeholder says its value is unknown.
type label struct {
	key, value  string
	placeholder bool
}

// nodeLabels select nodes that hold the chip, with the keys the vendors'
// labellers publish.
func (s *stack) nodeLabels(c *hardware.Chip, node *hardware.Node) []label {
	unknown := func(key string) label { return label{key: key, value: "REPLACE-ME_" + c.ID, placeholder: true} }
	switch s.vendor {
	case "nvidia": // gpu-feature-discovery: the NVML product name, spaces as '-'
		if v, ok := nvidiaProducts[c.ID]; ok {
			return []label{{key: "nvidia.com/gpu.product", value: v}}
		}
		return []label{unknown("nvidia.com/gpu.product")}
	case "amd": // ROCm k8s-node-labeller: sysfs product_name, spaces as '_'
		if v, ok := amdProducts[c.ID]; ok {
			return []label{{key: "amd.com/gpu.product-name", value: v}}
		}
		return []label{unknown("amd.com/gpu.product-name")}
	case "huawei":
		// MindCluster node labels: accelerator (ascend-device-plugin deploy
		// yamls), accelerator-type, and the chip name (its ChipNameLabel),
		// with values as published manifests use them.
		a910 := label{key: "accelerator", value: "huawei-Ascend910"}
		switch {
		case strings.HasPrefix(c.ID, "ascend-910b") && node != nil && node.ID == "atlas-800-a2":
			return []label{a910, {key: "accelerator-type", value: "module-910b-8"},
				{key: "node.kubernetes.io/npu.chip.name", value: strings.ToUpper(strings.TrimPrefix(c.ID, "ascend-"))}}
		case c.ID == "ascend-910c" && node != nil && node.ID == "atlas-800-a3":
			return []label{a910, {key: "accelerator-type", value: "module-a3-16"}}
		case strings.HasPrefix(c.ID, "ascend-910"):
			return []label{a910}
		case c.ID == "ascend-310p":
			return []label{{key: "accelerator", value: "huawei-Ascend310P"}}
		}
		return []label{unknown("accelerator")}
	case "cambricon": // cambricon-k8s-device-plugin pkg/nodeLabel: key "Model"
		return []label{unknown("Model")}
	}
	// Kunlunxin and Hygon publish no chip-model node label; the resource
	// name alone selects the vendor's nodes.
	return nil
}

// Product labels seen in published manifests and node-label dumps;
// others are placeholders.
var (
	nvidiaProducts = map[string]string{"h100-sxm": "NVIDIA-H100-80GB-HBM3", "h200-sxm": "NVIDIA-H200", "h20": "NVIDIA-H20",
		"a100-sxm": "NVIDIA-A100-SXM4-80GB"}
	amdProducts = map[string]string{"mi300x": "AMD_Instinct_MI300X_OAM"}
)

// quantization returns the engine flags for a weight precision, and a note
// when the flag alone is not enough (a pre-quantized checkpoint is needed)
// or no flag is documented.
func (s *stack) quantization(weights string) (flags []string, note string, placeholder bool) {
	switch weights {
	case "", "bf16":
		return nil, "", false
	case "fp16":
		return []string{"--dtype", "float16"}, "", false
	}
	switch s.vendor + "/" + weights {
	case "nvidia/fp8", "amd/fp8", "hygon/fp8", "cambricon/fp8":
		return []string{"--quantization", "fp8"}, "", false
	case "huawei/int8", "huawei/int4":
		return []string{"--quantization", "ascend"}, "serve a ModelSlim " + map[string]string{"int8": "W8A8", "int4": "W4A8"}[weights] + " checkpoint of the model (vllm-ascend --quantization ascend)", false
	case "cambricon/int8":
		return []string{"--quantization", "smoothquant"}, "serve a SmoothQuant W8A8 checkpoint of the model", false
	case "nvidia/int8", "amd/int8", "hygon/int8", "kunlunxin/int8":
		return nil, "serve a W8A8 checkpoint (compressed-tensors) of the model; vLLM reads the method from its config", false
	case "nvidia/int4", "amd/int4", "hygon/int4", "kunlunxin/int4", "cambricon/int4":
		return nil, "serve an AWQ or GPTQ int4 checkpoint of the model; the engine reads the method from its config", false
	case "nvidia/fp4", "amd/fp4":
		return nil, "serve an FP4 checkpoint (NVFP4 or MXFP4) of the model; vLLM reads the method from its config", false
	}
	return nil, "REPLACE-ME: no " + weights + " weight flag is documented for " + s.engine, true
}

// image is the container image of a pool under the options' engine, and
// whether it is a placeholder.
func (o *Options) image(pl *pool) (string, bool) {
	if o.Engine == "sglang" {
		return sglangImage(pl)
	}
	return pl.stack.image(pl.chip)
}

// engineLabel is the engine build of a pool, in a few words.
func (o *Options) engineLabel(pl *pool) string {
	if o.Engine == "sglang" {
		return "SGLang"
	}
	return pl.stack.engine
}

// engineName names the engine a launch runs.
func (s *stack) engineName(o *Options) string {
	switch o.Engine {
	case "mindie":
		return "MindIE (mindieservice_daemon, config.json)"
	case "sglang":
		return "SGLang (flags: python/sglang/srt/server_args.py)"
	}
	return s.engine + " (vLLM flags: vllm/engine/arg_utils.py)"
}
