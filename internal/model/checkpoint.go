package model

import (
	"encoding/json"
	"fmt"
	"strings"

	"ersatz/internal/hardware"
)

// Checkpoint is how the released weights are stored, from the config's
// quantization_config (or the catalog entry of a quantized release).
type Checkpoint struct {
	// Method is quantization_config.quant_method ("fp8", "mxfp4", ...);
	// empty for a 16-bit checkpoint.
	Method string `json:"method,omitempty"`
	// Weights is the stored precision of the quantized layers; empty means
	// 16-bit.
	Weights hardware.Precision `json:"weights,omitempty"`
	// ExpertsOnly: only the routed experts are quantized; attention, the
	// dense FFN and shared experts stay 16-bit (gpt-oss's MXFP4 keeps
	// self_attn in modules_to_not_convert).
	ExpertsOnly bool `json:"experts_only,omitempty"`
}

// readLimits reads the context (max_position_embeddings, which engines
// take as the longest sequence: vLLM's default max_model_len) and the
// checkpoint's quantization.
func (m *Model) readLimits(c config) error {
	v, _, err := c.integer("max_position_embeddings")
	if err != nil {
		return err
	}
	m.MaxContext = max(v, 0)
	if !c.has("quantization_config") {
		return nil
	}
	var q struct {
		Method  string   `json:"quant_method"`
		Bits    int      `json:"bits"`
		Skip    []string `json:"modules_to_not_convert"`
		Ignored []string `json:"ignore"`
	}
	if err := json.Unmarshal(c["quantization_config"], &q); err != nil {
		return fieldErr("quantization_config", "want an object with quant_method (got %s)", show(c["quantization_config"]))
	}
	m.Checkpoint.Method = lowerTrim(q.Method)
	switch m.Checkpoint.Method {
	case "fp8", "fbgemm_fp8":
		m.Checkpoint.Weights = hardware.FP8
	case "mxfp4":
		m.Checkpoint.Weights = hardware.FP4
	case "awq", "gptq":
		if q.Bits == 4 {
			m.Checkpoint.Weights = hardware.INT4
		} else if q.Bits == 8 {
			m.Checkpoint.Weights = hardware.INT8
		}
	}
	for _, s := range append(q.Skip, q.Ignored...) {
		if strings.Contains(s, "self_attn") {
			m.Checkpoint.ExpertsOnly = m.MoE()
		}
	}
	return nil
}

func lowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CheckpointPrecision is the weight precision m runs at on c when none is
// asked for: the checkpoint's own wherever c can serve it. A 16-bit
// checkpoint runs 16-bit. An 8-bit one runs 8-bit on a chip that computes
// in it, and dequantized to 16 bits on one that does not (the fp8 releases
// of DeepSeek on Ascend 910B). A 4-bit one stays 4-bit: 4-bit formats are
// storage that kernels widen before the matmul, so a chip without 4-bit
// compute runs it weight-only (gpt-oss's MXFP4 on H100, as vLLM's Marlin
// and Triton kernels do); the activations are then 16-bit, see
// WeightOnly. Every command takes its default weights from here.
func (m *Model) CheckpointPrecision(c *hardware.Chip) hardware.Precision {
	sixteen := hardware.BF16
	if !c.Runs(hardware.BF16) && c.Runs(hardware.FP16) {
		sixteen = hardware.FP16
	}
	switch p := m.Checkpoint.Weights; p {
	case hardware.FP8, hardware.INT8:
		if c.Runs(p) {
			return p
		}
	case hardware.FP4, hardware.INT4:
		return p
	}
	return sixteen
}

// WeightOnly reports whether weights at p on c are storage only, widened
// to 16 bits for the matmul: int4 always, fp4 on a chip without fp4.
func WeightOnly(p hardware.Precision, c *hardware.Chip) bool {
	return p == hardware.INT4 || p == hardware.FP4 && !c.Runs(hardware.FP4)
}

// DenseBytes is the bytes per parameter of attention, the dense FFN and
// shared experts when the weights run at p: 16-bit where the checkpoint
// quantizes only its routed experts and p is its precision, p otherwise.
// Routed experts are always at p.Bytes().
func (m *Model) DenseBytes(p hardware.Precision) float64 {
	if m.Checkpoint.ExpertsOnly && p == m.Checkpoint.Weights {
		return 2
	}
	return p.Bytes()
}

// ExpertBytes is the bytes per routed-expert parameter at p: p.Bytes(),
// plus the block scales of an MXFP4 checkpoint run at its own precision
// (one 8-bit e8m0 scale per 32 elements, OCP MX spec v1.0: 4.25 bits).
func (m *Model) ExpertBytes(p hardware.Precision) float64 {
	if m.Checkpoint.Method == "mxfp4" && p == hardware.FP4 {
		return p.Bytes() + 1.0/32
	}
	return p.Bytes()
}

// ContextError is a sequence longer than the model takes.
type ContextError struct {
	Model          string
	Prompt, Output int // Output < 0: a single length (Prompt) was given
	Context        int
}

func (e *ContextError) Error() string {
	if e.Output < 0 {
		return fmt.Sprintf("%d tokens exceed the %d-token context of %s (max_position_embeddings)", e.Prompt, e.Context, e.Model)
	}
	return fmt.Sprintf("prompt %d + output %d = %d tokens exceed the %d-token context of %s (max_position_embeddings)",
		e.Prompt, e.Output, e.Prompt+e.Output, e.Context, e.Model)
}

// CheckContext refuses a prompt plus output longer than the model's
// context; output < 0 checks a single sequence length. A model whose
// config gives no context takes any length.
func (m *Model) CheckContext(prompt, output int) error {
	n := prompt + max(output, 0)
	if m.MaxContext > 0 && n > m.MaxContext {
		return &ContextError{Model: m.ID, Prompt: prompt, Output: output, Context: m.MaxContext}
	}
	return nil
}
