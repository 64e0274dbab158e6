package train

import (
	"fmt"
	"math"
	"strings"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
)

// Recompute is the activation recomputation policy.
type Recompute string

// Recompute policies (Megatron's --recompute-granularity): none stores
// every activation; selective recomputes the attention core (Korthikanti
// et al. 2022); full stores only each layer's input and reruns the layer's
// forward pass in the backward pass; block recomputes whole layers, but
// only as many of each stage's as the memory needs (Megatron's
// --recompute-method block --recompute-num-layers k, with k the fewest
// that fit).
const (
	RecomputeNone      Recompute = "none"
	RecomputeSelective Recompute = "selective"
	RecomputeFull      Recompute = "full"
	RecomputeBlock     Recompute = "block"
)

// ParseRecompute accepts none, selective or full.
func ParseRecompute(s string) (Recompute, error) {
	switch r := Recompute(strings.ToLower(strings.TrimSpace(s))); r {
	case RecomputeNone, RecomputeSelective, RecomputeFull, RecomputeBlock:
		return r, nil
	}
	return "", fmt.Errorf("recompute %q: want none, selective, full or block", s)
}

// Layout is how a job is spread over the devices. Degrees count devices
// as the framework sees them (a 910C package is two). TP·CP·PP·DP is the
// device count; EP folds over DP·CP·TP, as Megatron's parallel folding
// does (experts are not split by tensor parallelism).
type Layout struct {
	TP int `json:"tp"`
	PP int `json:"pp"`
	DP int `json:"dp"`
	EP int `json:"ep"`
	CP int `json:"cp"`
	// VPP is the virtual pipeline stages per rank (interleaved 1F1B);
	// 1 is plain 1F1B.
	VPP int `json:"vpp"`
	// ZeRO is the optimizer-state sharding stage over the data-parallel
	// ranks: 0 none, 1 optimizer states (Megatron's distributed
	// optimizer), 2 and gradients, 3 and parameters (FSDP).
	ZeRO      int       `json:"zero"`
	Recompute Recompute `json:"recompute"`
	// MicroBatch is the sequences of one micro-batch.
	MicroBatch int `json:"micro_batch"`
	// TPOverlap hides tensor-parallel collectives behind the GEMMs they
	// feed (TransformerEngine's comm-GEMM overlap, torchtitan's AsyncTP,
	// MindSpeed's MC2); without it they are exposed, as in Megatron-LM
	// before 2023.
	TPOverlap bool `json:"tp_overlap"`
	// EPOverlap hides the expert all-to-all behind another micro-batch's
	// compute (DeepSeek's DualPipe, Megatron's 1F1B A2A overlap,
	// MindSpeed's fb-overlap); without it dispatch and combine are exposed.
	EPOverlap bool `json:"ep_overlap"`
}

// String is the layout in the order frameworks print it.
func (l Layout) String() string {
	s := fmt.Sprintf("tp%d pp%d dp%d", l.TP, l.PP, l.DP)
	if l.EP > 1 {
		s += fmt.Sprintf(" ep%d", l.EP)
	}
	if l.CP > 1 {
		s += fmt.Sprintf(" cp%d", l.CP)
	}
	if l.VPP > 1 {
		s += fmt.Sprintf(" vpp%d", l.VPP)
	}
	return s + fmt.Sprintf(" zero%d %s mb%d", l.ZeRO, l.Recompute, l.MicroBatch)
}

// Job is what is trained where: a model on chips, at a precision, with a
// sequence length and a global batch.
type Job struct {
	Model *model.Model
	Chip  *hardware.Chip
	// Node supplies the scale-up domain and link overrides; nil means an
	// 8-device domain with the chip's own links.
	Node  *hardware.Node
	Chips int
	// DevicesPerChip is how many devices the framework sees per chip; 0
	// means Chip.EngineDevices().
	DevicesPerChip int
	// Precision of the GEMMs: bf16 or fp16, or fp8 (the GEMMs in fp8,
	// attention, norms, weights and optimizer in 16/32 bit).
	Precision hardware.Precision
	SeqLen    int
	// GlobalBatch is the sequences of one optimizer step.
	GlobalBatch int
	// FlashAttention says attention never materialises the s×s scores
	// (FlashAttention and its vendor ports, used by every framework since
	// 2023); false is the Megatron-LM of 2021-22, which stored them.
	FlashAttention bool
	// Dropout says the model trains with dropout (classic GPT), whose
	// masks Korthikanti et al. count in the activations.
	Dropout bool
	// Efficiency is the training stack's measured share of the modelled
	// speed (a [Calibration]'s answer for the chip's family): a step
	// takes 1/Efficiency of the modelled one, the difference shown as the
	// step's Stack part. 0 or 1: the model alone.
	Efficiency float64
}

// Devices is the device count of the job.
func (j *Job) Devices() int { return j.Chips * j.dpc() }

func (j *Job) dpc() int {
	if j.DevicesPerChip > 0 {
		return j.DevicesPerChip
	}
	if j.Chip == nil {
		return 1
	}
	return j.Chip.EngineDevices()
}

// LayoutError is a layout the job cannot run: a degree that does not
// divide, or a product that misses the device count.
type LayoutError struct {
	Field string
	Value int
	Msg   string
}

func (e *LayoutError) Error() string { return fmt.Sprintf("%s %d: %s", e.Field, e.Value, e.Msg) }

// check validates l against j, filling defaults (0 → 1, VPP 1).
func check(j *Job, l *Layout) error {
	for _, v := range []*int{&l.TP, &l.PP, &l.EP, &l.CP, &l.VPP, &l.MicroBatch} {
		if *v == 0 {
			*v = 1
		}
	}
	if l.Recompute == "" {
		l.Recompute = RecomputeNone
	}
	m := j.Model
	n := j.Devices()
	if l.DP == 0 && l.TP > 0 && l.PP > 0 && l.CP > 0 {
		l.DP = n / (l.TP * l.PP * l.CP)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"tp", l.TP}, {"pp", l.PP}, {"dp", l.DP}, {"ep", l.EP}, {"cp", l.CP}, {"vpp", l.VPP}, {"micro_batch", l.MicroBatch}} {
		if f.v < 1 {
			return &LayoutError{f.name, f.v, "want a positive degree"}
		}
	}
	if p := l.TP * l.PP * l.CP * l.DP; p != n {
		return &LayoutError{"dp", l.DP, fmt.Sprintf("tp·pp·cp·dp = %d, want the %d devices of %d chips", p, n, j.Chips)}
	}
	if m.Heads%l.TP != 0 {
		return &LayoutError{"tp", l.TP, fmt.Sprintf("must divide the %d attention heads", m.Heads)}
	}
	if l.PP*l.VPP > m.Layers {
		return &LayoutError{"pp", l.PP, fmt.Sprintf("pp·vpp = %d exceeds the %d layers", l.PP*l.VPP, m.Layers)}
	}
	if l.VPP > 1 && l.PP == 1 {
		return &LayoutError{"vpp", l.VPP, "interleaving needs pp > 1"}
	}
	if l.EP > 1 {
		if !m.MoE() {
			return &LayoutError{"ep", l.EP, "the model has no experts"}
		}
		if m.Experts%l.EP != 0 {
			return &LayoutError{"ep", l.EP, fmt.Sprintf("must divide the %d experts", m.Experts)}
		}
		if (l.DP*l.CP*l.TP)%l.EP != 0 {
			return &LayoutError{"ep", l.EP, fmt.Sprintf("must divide dp·cp·tp = %d", l.DP*l.CP*l.TP)}
		}
	}
	if l.ZeRO < 0 || l.ZeRO > 3 {
		return &LayoutError{"zero", l.ZeRO, "want a stage 0 to 3"}
	}
	if j.SeqLen%l.CP != 0 {
		return &LayoutError{"cp", l.CP, fmt.Sprintf("must divide the sequence length %d", j.SeqLen)}
	}
	if j.GlobalBatch%(l.DP*l.MicroBatch) != 0 {
		return &LayoutError{"micro_batch", l.MicroBatch, fmt.Sprintf("dp·micro_batch = %d must divide the global batch of %d sequences", l.DP*l.MicroBatch, j.GlobalBatch)}
	}
	if _, err := ParseRecompute(string(l.Recompute)); err != nil {
		return err
	}
	return nil
}

// checkJob validates what does not depend on the layout.
func checkJob(j *Job) error {
	switch {
	case j.Model == nil || j.Chip == nil:
		return fmt.Errorf("train: a job needs a model and a chip")
	case j.Chips < 1:
		return fmt.Errorf("chips %d: want at least 1", j.Chips)
	case j.SeqLen < 1:
		return fmt.Errorf("sequence length %d: want at least 1", j.SeqLen)
	case j.GlobalBatch < 1:
		return fmt.Errorf("global batch %d: want at least 1 sequence", j.GlobalBatch)
	}
	switch j.Precision {
	case hardware.BF16, hardware.FP16, hardware.FP8:
	default:
		return fmt.Errorf("precision %q: want bf16, fp16 or fp8", j.Precision)
	}
	if !(j.Efficiency >= 0) || math.IsInf(j.Efficiency, 0) {
		return fmt.Errorf("efficiency %g: want a positive share of the modelled speed, or 0 for none", j.Efficiency)
	}
	if !j.Chip.MemoryGB.Known() {
		return fmt.Errorf("%s has no memory size in the catalog", j.Chip.ID)
	}
	return nil
}
