// Package fit answers the first question a planner asks: do a model's
// weights fit on these devices, and how much KV cache is left?
//
// Parallel degrees count devices as the serving engine sees them: a Huawei
// 910C package is two dies, so eight 910C chips are sixteen devices and run
// tp 16. TP × PP devices form one instance; DP is attention data
// parallelism inside it (attention tensor parallelism is TP/DP), and EP the
// expert-parallel width inside one pipeline stage.
package fit

import (
	"fmt"
	"math"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/units"
)

// Layout is an instance's parallel degrees, in devices.
type Layout struct {
	TP int `json:"tp"`
	PP int `json:"pp"`
	EP int `json:"ep"`
	DP int `json:"dp"`
}

// Devices is the device count of one instance (TP × PP).
func (l Layout) Devices() int { return l.TP * l.PP }

// AttnTP is the tensor-parallel degree of attention (TP / DP).
func (l Layout) AttnTP() int { return l.TP / l.DP }

func (l Layout) String() string {
	return fmt.Sprintf("tp%d pp%d ep%d dp%d", l.TP, l.PP, l.EP, l.DP)
}

// Options are the memory assumptions of a fit. The zero value is not
// useful; start from DefaultOptions.
type Options struct {
	Weights hardware.Precision // storage of linear-layer weights
	KV      hardware.Precision // storage of the KV cache
	// Context is the tokens each sequence holds (prompt plus output) for
	// the "sequences that fit" figure.
	Context int
	// MemoryUtilization is the engine's memory share, read by Rule (vLLM's
	// --gpu-memory-utilization, default 0.9).
	MemoryUtilization float64
	// Rule is how the engine turns its share into a KV-cache budget; the
	// zero value is RuleDevice.
	Rule MemoryRule
	// BatchTokens sizes the activation workspace the engine reserves
	// (vLLM profiles a forward pass of max_num_batched_tokens).
	BatchTokens int
}

// MemoryRule is how an engine sizes its KV cache from its memory share f of
// a device of M bytes holding weights W, an activation workspace A and a
// runtime reserve R.
type MemoryRule string

const (
	// RuleDevice: everything fits in f × M, the KV cache takes what is
	// left: KV = f·M − W − A − R. vLLM and vllm-ascend
	// (gpu_memory_utilization of the device's total memory,
	// Worker.determine_available_memory) and MindIE (NPU_MEMORY_FRACTION
	// of the total less what is in use after warm-up, Generator.warm_up).
	RuleDevice MemoryRule = ""
	// RuleStatic: f × M holds the weights and the KV pool; activations
	// and graphs live in the rest: KV = f·M − W (SGLang's
	// mem_fraction_static, model_runner profile_max_num_token).
	RuleStatic MemoryRule = "static"
	// RuleFree: the KV cache takes f of what is free after the weights
	// and a warm-up pass: KV = f·(M − W − A − R) (TensorRT-LLM's
	// KvCacheConfig.free_gpu_memory_fraction, KvCacheCreator).
	RuleFree MemoryRule = "free"
)

// DefaultOptions mirror vLLM's defaults: 90% of memory, an 8192-token
// profiling pass, bf16 weights and KV cache, 8192-token sequences.
var DefaultOptions = Options{
	Weights:           hardware.BF16,
	KV:                hardware.BF16,
	Context:           8192,
	MemoryUtilization: 0.9,
	BatchTokens:       8192,
}

// runtimeReserve is memory every engine holds outside weights, KV and
// activations: CUDA/CANN context, graphs, communication buffers. 1 GiB is
// the order vLLM reports for CUDA graphs plus NCCL buffers on 8-GPU nodes;
// it is an estimate.
const runtimeReserve = 1 * units.GiB

// Result is the memory account of one device of an instance.
type Result struct {
	Model   string `json:"model"`
	Chip    string `json:"chip"`
	Layout  Layout `json:"layout"`
	Devices int    `json:"devices"`
	Chips   int    `json:"chips"`
	// Per-device bytes.
	DeviceMemory  units.Bytes `json:"device_memory_bytes"`
	Usable        units.Bytes `json:"usable_bytes"` // DeviceMemory × utilization
	Weights       units.Bytes `json:"weight_bytes"`
	Activations   units.Bytes `json:"activation_bytes"`
	Runtime       units.Bytes `json:"runtime_bytes"`
	KVFree        units.Bytes `json:"kv_free_bytes"`         // may be negative when it does not fit
	KVPerToken    units.Bytes `json:"kv_bytes_per_token"`    // per device, full attention
	KVPerSequence units.Bytes `json:"kv_bytes_per_sequence"` // per device, at Context
	KVTokens      int         `json:"kv_tokens"`             // per instance
	Sequences     int         `json:"sequences"`             // per instance, at Context
	Context       int         `json:"context"`
	WeightsTotal  units.Bytes `json:"weight_bytes_total"` // the whole model
	Fits          bool        `json:"fits"`
	Reason        string      `json:"reason,omitempty"` // why it does not fit
}

// LayoutError is an impossible parallel layout.
type LayoutError struct {
	Field string // "tp", "pp", "ep", "dp"
	Value int
	Msg   string
}

func (e *LayoutError) Error() string {
	return fmt.Sprintf("%s %d: %s", e.Field, e.Value, e.Msg)
}

// CheckLayout reports whether l can run m on devices of c.
func CheckLayout(m *model.Model, l Layout) error {
	for _, d := range []struct {
		name string
		v    int
	}{{"tp", l.TP}, {"pp", l.PP}, {"ep", l.EP}, {"dp", l.DP}} {
		if d.v < 1 {
			return &LayoutError{d.name, d.v, "want a positive integer"}
		}
	}
	if l.TP%l.DP != 0 {
		return &LayoutError{"dp", l.DP, fmt.Sprintf("must divide tp %d (attention runs tp/dp-way tensor parallel)", l.TP)}
	}
	atp := l.AttnTP()
	if m.Heads%atp != 0 {
		return &LayoutError{"tp", l.TP, fmt.Sprintf("attention tensor parallelism %d must divide the %d attention heads of %s", atp, m.Heads, m.ID)}
	}
	if !m.MLA() && m.KVHeads%atp != 0 && atp%m.KVHeads != 0 {
		return &LayoutError{"tp", l.TP, fmt.Sprintf("attention tensor parallelism %d and the %d KV heads of %s must divide one another", atp, m.KVHeads, m.ID)}
	}
	if l.PP > m.Layers {
		return &LayoutError{"pp", l.PP, fmt.Sprintf("more stages than the %d layers of %s", m.Layers, m.ID)}
	}
	if l.EP > 1 && !m.MoE() {
		return &LayoutError{"ep", l.EP, fmt.Sprintf("%s is dense; expert parallelism needs a mixture-of-experts model", m.ID)}
	}
	// An EP that does not divide the routed experts fills its ranks with
	// redundant copies; more ranks than experts hold one expert each, the
	// extra ones shared and redundant experts (CloudMatrix384's EP320 for
	// DeepSeek's 256). ExpertsPerDevice counts them.
	if l.EP > l.TP {
		return &LayoutError{"ep", l.EP, fmt.Sprintf("expert parallelism spans the tp %d devices of one pipeline stage; want ep ≤ tp", l.TP)}
	}
	if l.TP%l.EP != 0 {
		return &LayoutError{"ep", l.EP, fmt.Sprintf("must divide tp %d", l.TP)}
	}
	return nil
}

// Check computes the memory account of m on c with layout l. It returns an
// error only for impossible input (layout, precision); a model that is too
// large is a Result with Fits false and a Reason.
func Check(m *model.Model, c *hardware.Chip, l Layout, o Options) (Result, error) {
	if err := CheckLayout(m, l); err != nil {
		return Result{}, err
	}
	if o.MemoryUtilization <= 0 || o.MemoryUtilization > 1 {
		return Result{}, fmt.Errorf("memory utilization %g: want a fraction in (0, 1]", o.MemoryUtilization)
	}
	if o.Weights.Bytes() == 0 {
		return Result{}, fmt.Errorf("weights precision %q: want bf16, fp16, fp8, int8, int4 or fp4", o.Weights)
	}
	if o.KV.Bytes() == 0 {
		return Result{}, fmt.Errorf("kv-cache precision %q: want bf16, fp16, fp8, int8, int4 or fp4", o.KV)
	}
	dies := c.EngineDevices()
	r := Result{
		Model:        m.ID,
		Chip:         c.ID,
		Layout:       l,
		Devices:      l.Devices(),
		Chips:        (l.Devices() + dies - 1) / dies,
		DeviceMemory: c.Memory() / units.Bytes(dies),
		Context:      o.Context,
		WeightsTotal: units.Bytes(m.WeightBytes(o.Weights)),
	}
	r.Weights = units.Bytes(DeviceWeights(m, l, o.Weights))
	r.Activations = units.Bytes(activations(m, l, o.BatchTokens))
	r.Runtime = runtimeReserve
	f, mem := o.MemoryUtilization, r.DeviceMemory
	switch o.Rule {
	case RuleDevice:
		r.Usable = mem * units.Bytes(f)
	case RuleStatic:
		// The rest of memory must hold the activations and the runtime.
		r.Usable = min(mem*units.Bytes(f)+r.Activations+r.Runtime, mem)
	case RuleFree:
		r.Usable = r.Weights + r.Activations + r.Runtime + (mem-r.Weights-r.Activations-r.Runtime)*units.Bytes(f)
		if r.Usable > mem { // nothing free: the weights alone overflow
			r.Usable = mem
		}
	default:
		return Result{}, fmt.Errorf("memory rule %q: want device, static or free", o.Rule)
	}
	r.KVFree = r.Usable - r.Weights - r.Activations - r.Runtime

	shard := float64(KVShard(m, l))
	r.KVPerToken = units.Bytes(m.KVBytesPerToken(o.KV) / float64(l.PP) / shard)
	ctx := max(o.Context, 1)
	r.KVPerSequence = units.Bytes(m.KVBytes(ctx, o.KV) / float64(l.PP) / shard)
	if r.KVFree > 0 && r.KVPerToken > 0 {
		r.KVTokens = int(float64(r.KVFree)/float64(r.KVPerToken)) * l.DP
		r.Sequences = int(float64(r.KVFree)/float64(r.KVPerSequence)) * l.DP
	}
	switch {
	case r.Weights+r.Activations+r.Runtime > r.Usable:
		r.Reason = fmt.Sprintf("weights %.1f GB + activations %.1f GB + runtime %.1f GB per device exceed the %.1f GB usable (%.0f%% of %.1f GB)",
			r.Weights.GB(), r.Activations.GB(), r.Runtime.GB(), r.Usable.GB(), float64(r.Usable)/float64(r.DeviceMemory)*100, r.DeviceMemory.GB())
	case r.Sequences < 1:
		r.Reason = fmt.Sprintf("one %d-token sequence needs %.2f GB of KV cache per device, but only %.2f GB is left after the weights",
			ctx, r.KVPerSequence.GB(), r.KVFree.GB())
	default:
		r.Fits = true
	}
	return r, nil
}

// KVShard is how many ways one token's KV cache is split across the
// attention tensor-parallel devices: by KV head for GQA (replicated once
// there are more devices than KV heads), not at all for MLA, whose latent
// every rank holds whole (as vLLM and SGLang store it).
func KVShard(m *model.Model, l Layout) int {
	if m.MLA() {
		return 1
	}
	return max(min(l.AttnTP(), m.KVHeads), 1)
}

// DeviceWeights is the weight bytes of the fullest device: the pipeline
// stage with the most layers, holding the larger of the embedding and the
// LM head (both when pp is 1). Attention weights split TP/DP ways; dense
// FFN, shared and routed experts, embeddings and head split TP ways (with
// EP < TP, experts are tensor-split inside each EP group, which gives the
// same bytes per device); routers are replicated. Embeddings, head and
// routers stay 16-bit, as quantised checkpoints keep them.
func DeviceWeights(m *model.Model, l Layout, p hardware.Precision) float64 {
	tp := float64(l.TP)
	stageLayers := math.Ceil(float64(m.Layers) / float64(l.PP))
	frac := stageLayers / float64(m.Layers)
	db := m.DenseBytes(p) // 16-bit where a checkpoint quantizes only its experts
	perLayerAttn := m.AttnParams() / float64(l.AttnTP()) * db
	dense := float64(m.DenseFFNLayers())*m.DenseFFNParams() + float64(m.MoELayers())*m.SharedParams()
	experts := float64(m.MoELayers()) * ExpertsPerDevice(m, l) * m.ExpertParams() * m.ExpertBytes(p) / float64(l.TP/max(l.EP, 1))
	router := float64(m.MoELayers()) * m.RouterParams() * 2
	body := stageLayers*perLayerAttn + frac*(dense*db/tp+experts+router)
	emb, head := m.EmbeddingParams()*2/tp, m.LMHeadParams()*2/tp
	if l.PP == 1 {
		return body + emb + head
	}
	return body + max(emb, head)
}

// ExpertsPerDevice is the routed-expert slots each EP rank holds: E/EP
// when EP divides the E experts, else ceil(E/EP) with redundant copies in
// the spare slots (DeepSeek's EP144: 2 slots a GPU, 256 experts plus 32
// redundant), and one when EP exceeds E.
func ExpertsPerDevice(m *model.Model, l Layout) float64 {
	if !m.MoE() {
		return 0
	}
	ep := max(l.EP, 1)
	if m.Experts%ep == 0 {
		return float64(m.Experts / ep)
	}
	return math.Ceil(float64(m.Experts) / float64(ep))
}

// activations estimates the workspace of a forward pass over batchTokens
// tokens: a few hidden-sized buffers and the FFN intermediate of one layer
// (16-bit), plus logits of the last tokens. It is an estimate of what
// vLLM's profiling run finds, within a factor of two on the cases we
// checked by hand; it is small next to weights and KV.
func activations(m *model.Model, l Layout, batchTokens int) float64 {
	ffn := float64(m.Intermediate) / float64(l.TP)
	if m.MoE() {
		ffn = max(ffn, float64(m.MoEIntermediate*m.ExpertsPerToken)/float64(l.EP))
	}
	perToken := (6*float64(m.Hidden) + 3*ffn) * 2
	logits := 256 * float64(m.Vocab) / float64(l.TP) * 4
	return float64(batchTokens)*perToken + logits
}
