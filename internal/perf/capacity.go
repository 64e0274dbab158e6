package perf

import (
	"fmt"
	"math"

	"ersatz/internal/fit"
	"ersatz/internal/hardware"
	"ersatz/internal/units"
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

// FitOptions are the memory assumptions of the instance's engine, for
// sequences of context tokens: its precisions, its memory share (the
// deployment's, else the engine's) and its activation workspace (its step
// token budget). fit, predict, simulate and plan all size the KV cache
// from these.
func (in *Instance) FitOptions(context int) fit.Options {
	util, rule := memoryShare(in.eng, in.d.Chip, in.dpc, in.d.TP, in.d.PP, in.d.EP > 1 && in.d.DP > 1)
	if in.d.MemoryUtilization > 0 {
		util = in.d.MemoryUtilization
	}
	return fit.Options{
		Weights:           in.d.Weights,
		KV:                in.d.KV,
		Context:           max(context, 1),
		MemoryUtilization: util,
		Rule:              rule,
		BatchTokens:       in.maxBatchTokens,
	}
}

// MemoryShare is the memory share engine e takes by default on chip c in a
// tp × pp instance (deepEP: DeepEP's all-to-all buffers are reserved), the
// value its own flag would carry (vLLM --gpu-memory-utilization, SGLang
// --mem-fraction-static, TensorRT-LLM free_gpu_memory_fraction, MindIE
// NPU_MEMORY_FRACTION), so that launch lines can state what a plan assumed.
func (p *Params) MemoryShare(e Engine, c *hardware.Chip, tp, pp int, deepEP bool) float64 {
	util, _ := memoryShare(p.Engine(e), c, c.EngineDevices(), tp, pp, deepEP)
	return util
}

func memoryShare(eng *EngineParams, c *hardware.Chip, devicesPerChip, tp, pp int, deepEP bool) (float64, fit.MemoryRule) {
	util := eng.MemoryUtilization
	switch eng.MemoryRule {
	case "static":
		return util, fit.RuleStatic
	case "free":
		return util, fit.RuleFree
	case "sglang":
		if c.MemoryGB.Known() {
			util = sglangMemFraction(c.MemoryGB.Value*float64(units.GiB)/float64(max(devicesPerChip, 1)), tp, pp, deepEP)
		}
		return util, fit.RuleStatic
	}
	return util, fit.RuleDevice
}

// sglangMemFraction is SGLang's default mem_fraction_static for a device of
// memBytes in a tp × pp instance: the share left after a reserve, in MB, of
// 512 + 1.5 × the activation tokens (its chunked-prefill size by device
// memory, at least 2048) + tp·pp/8 × 1024 + 2 × the largest graphed decode
// batch, at least 10 GB on devices over 60 GB, plus 2 GB for DeepEP's
// all-to-all buffers (python/sglang/srt/arg_groups/memory_hook.py,
// handle_gpu_memory_settings and reserve_for_graph_mb; the chunk and batch
// defaults by memory are its GPU-size table). The share is rounded to three
// places as SGLang does.
func sglangMemFraction(memBytes float64, tp, pp int, deepEP bool) float64 {
	mb := memBytes / (1 << 20)
	gb := memBytes / 1e9
	// SGLang's defaults by device memory: chunked-prefill size and the
	// largest graphed decode batch below and from tp 4.
	row := struct{ chunk, bsSmallTP, bs float64 }{16384, 512, 512}
	for _, r := range []struct{ belowGB, chunk, bsSmallTP, bs float64 }{
		{20, 2048, 8, 8}, {35, 4096, 48, 160}, {60, 4096, 32, 160}, {160, 8192, 256, 512},
	} {
		if gb < r.belowGB {
			row = struct{ chunk, bsSmallTP, bs float64 }{r.chunk, r.bsSmallTP, r.bs}
			break
		}
	}
	chunk, graphBS := row.chunk, row.bs
	if tp < 4 {
		graphBS = row.bsSmallTP
	}
	reserved := 512 + 1.5*max(chunk, 2048) + float64(tp*pp)/8*1024 + 2*graphBS
	if mb > 60*1024 {
		reserved = max(reserved, 10*1024)
	}
	if deepEP {
		reserved += 2 * 1024
	}
	return math.Round((mb-reserved)/mb*1000) / 1000
}

// FitChip is the chip as the engine sees it: its devices, not the
// package's dies, so that fit's per-device account matches the instance.
func (in *Instance) FitChip() *hardware.Chip {
	chip := *in.d.Chip
	chip.Devices, chip.Dies = in.dpc, in.dpc
	return &chip
}

// Capacity returns the instance's KV capacity for sequences of context
// tokens, from [Instance.FitOptions].
func (in *Instance) Capacity(context int) (Capacity, error) {
	r, err := fit.Check(in.d.Model, in.FitChip(), in.layout, in.FitOptions(context))
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
