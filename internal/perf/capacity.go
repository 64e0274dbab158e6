package perf

import (
	"fmt"
	"math"

	"ersatz/internal/fit"
)

// kvBlock is the paged-KV block size: sequences hold whole blocks, so a
// sequence wastes half a block on average (vLLM, SGLang, TRT-LLM all page
// at 16-64 tokens; 16 is vLLM's default).
const kvBlock = 16

// Capacity is how many tokens of KV cache one instance holds, from
// internal/fit's memory account at the engine's memory share.
type Capacity struct {
	KVTokens int // per instance
	Fit      fit.Result
	Reason   string // why nothing fits, when KVTokens is 0
}

// Capacity returns the instance's KV capacity for sequences of context
// tokens. It uses the engine's memory share (vLLM 0.9) and activation
// workspace (its max_num_batched_tokens).
func (in *Instance) Capacity(context int) (Capacity, error) {
	chip := *in.d.Chip
	chip.Devices, chip.Dies = in.dpc, in.dpc // the engine's devices, not the package's dies
	o := fit.Options{
		Weights:           in.d.Weights,
		KV:                in.d.KV,
		Context:           max(context, 1),
		MemoryUtilization: in.eng.MemoryUtilization,
		BatchTokens:       in.maxBatchTokens,
	}
	r, err := fit.Check(in.d.Model, &chip, in.layout, o)
	if err != nil {
		return Capacity{}, err
	}
	c := Capacity{Fit: r, KVTokens: r.KVTokens}
	if !r.Fits {
		c.Reason = r.Reason
		if r.KVTokens <= 0 {
			c.KVTokens = 0
		}
	}
	return c, nil
}

// maxBatch is the largest decode batch the instance can hold: KV capacity
// at the mean context of a sequence in flight, the engine's sequence cap
// (per DP rank, each of which schedules on its own), and an explicit cap.
func (in *Instance) maxBatch(meanContext, peakContext float64) (float64, string, error) {
	cp, err := in.Capacity(int(math.Ceil(peakContext)))
	if err != nil {
		return 0, "", err
	}
	if cp.KVTokens <= 0 || !cp.Fit.Fits {
		reason := cp.Reason
		if reason == "" {
			reason = "no KV cache left after the weights"
		}
		return 0, "", fmt.Errorf("%s does not fit on %d× %s (tp %d, pp %d): %s",
			in.d.Model.ID, in.Devices(), in.d.Chip.ID, in.d.TP, in.d.PP, reason)
	}
	kv := float64(cp.KVTokens) / (meanContext + kvBlock/2)
	seqs := float64(in.maxSeqs * in.d.DP)
	if kv < seqs {
		return math.Max(kv, 1), "kv-cache", nil
	}
	return seqs, "max_seqs", nil
}
