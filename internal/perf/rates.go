package perf

import (
	"math"

	"ersatz/internal/hardware"
	"ersatz/internal/units"
)

// setRates derives per-device rates; hw scales the chip's datasheet
// figures and eff the efficiency parameters (1, 1 for the nominal
// instance; see [Instance.Variant]).
func (in *Instance) setRates(hw, eff float64) {
	c, f, e := in.d.Chip, in.fam, in.eng
	dpc := float64(in.dpc)
	peak, _ := c.Peak(in.compute)
	if in.compute == hardware.FP4 && !c.Runs(hardware.FP4) {
		peak, _ = c.Peak(hardware.FP8)
	}
	ks := e.KernelScale.Value
	clamp := func(x float64) float64 { return math.Min(x, 1) }
	geff := f.GEMMEff.Value * effScale(eff, f.GEMMEff.Spread)
	lowp := f.LowPrecisionScale.Value * effScale(eff, f.LowPrecisionScale.Spread)
	switch in.compute.Bytes() {
	case 1:
		geff *= lowp
	case 0.5:
		geff *= lowp * lowp
	}
	in.gemmRate = float64(peak) / dpc * hwScale(hw, confOf(c.DenseTFLOPS[in.compute])) * clamp(geff*ks)
	// Attention runs in 16 bit, except fp8 KV with an engine whose
	// attention kernels compute in fp8 (TensorRT-LLM's FMHA).
	ap := sixteenBit(c)
	if in.d.KV == hardware.FP8 && in.d.Engine == TRTLLM && c.Runs(hardware.FP8) {
		ap = hardware.FP8
	}
	apeak, ok := c.Peak(ap)
	if !ok {
		apeak = peak
	}
	in.attnRate = float64(apeak) / dpc * hwScale(hw, confOf(c.DenseTFLOPS[ap])) *
		clamp(f.AttnEff.Value*ks*effScale(eff, f.AttnEff.Spread))
	in.memBW = float64(c.MemoryBandwidth()) / dpc * hwScale(hw, confOf(c.MemoryTBps)) *
		clamp(f.MemEff.Value*effScale(eff, f.MemEff.Spread))
	comm := clamp(f.CommEff.Value * effScale(eff, f.CommEff.Spread))
	up, upConf := in.scaleUp()
	out, outConf := in.scaleOut()
	up *= hwScale(hw, upConf) * comm
	out *= hwScale(hw, outConf) * comm
	in.upBW, in.outBW = up, out
	in.linkBW = in.groupBW(in.attnTP, up, out)
	in.epBW = in.groupBW(in.d.EP, up, out)
	in.ppBW = up
	if in.d.TP*in.d.PP > in.domain() {
		in.ppBW = out
	}
	in.hop = f.HopLatency.Value * costScale(eff, f.HopLatency.Spread)
	in.kernel = f.KernelOverhead.Value * costScale(eff, f.KernelOverhead.Spread)
	in.stepFixed = e.StepOverhead.Value * costScale(eff, e.StepOverhead.Spread)
	in.perSeq = e.SeqOverhead.Value * costScale(eff, e.SeqOverhead.Spread)
	in.eagerDense, in.eagerMoE = 0, 0
	if e.EagerLayer != nil {
		in.eagerDense = e.EagerLayer.Value * costScale(eff, e.EagerLayer.Spread)
		in.eagerMoE = e.EagerMoELayer.Value * costScale(eff, e.EagerMoELayer.Spread)
	}
	in.imbalance = 1 + (f.MoEImbalance.Value-1)*costScale(eff, f.MoEImbalance.Spread)
}

// effScale moves an efficiency by its spread: eff = 1 nominal, < 1
// pessimistic, > 1 optimistic (see Variant).
func effScale(eff, spread float64) float64 {
	switch {
	case eff < 1:
		return 1 - spread
	case eff > 1:
		return 1 + spread
	}
	return 1
}

// costScale moves a cost (time, imbalance) the opposite way.
func costScale(eff, spread float64) float64 {
	switch {
	case eff < 1:
		return 1 + spread
	case eff > 1:
		return 1 - spread
	}
	return 1
}

// hwScale moves a datasheet figure by its confidence's spread.
func hwScale(hw float64, c hardware.Confidence) float64 {
	switch {
	case hw < 1:
		return 1 - c.Spread()
	case hw > 1:
		return 1 + c.Spread()
	}
	return 1
}

func confOf(v *hardware.Value) hardware.Confidence {
	if v == nil {
		return hardware.Estimate
	}
	return v.Confidence
}

// domain is the scale-up domain in devices.
func (in *Instance) domain() int {
	if in.d.Node != nil && in.d.Node.ScaleUpDomain > 0 {
		return in.d.Node.ScaleUpDomain * in.dpc
	}
	return 8 * in.dpc
}

// scaleUp returns the per-device scale-up bandwidth per direction.
func (in *Instance) scaleUp() (float64, hardware.Confidence) {
	if n := in.d.Node; n != nil && n.ScaleUpGBpsPerDir.Known() {
		return n.ScaleUpGBpsPerDir.Value * units.Giga / float64(in.dpc), n.ScaleUpGBpsPerDir.Confidence
	}
	c := in.d.Chip
	if !c.ScaleUpGBpsPerDir.Known() {
		return 16 * units.Giga, hardware.Estimate // PCIe Gen3 x16 as a floor
	}
	return c.ScaleUpGBpsPerDir.Value * units.Giga / float64(in.dpc), c.ScaleUpGBpsPerDir.Confidence
}

// scaleOut returns the per-device scale-out bandwidth per direction.
func (in *Instance) scaleOut() (float64, hardware.Confidence) {
	if n := in.d.Node; n != nil && n.ScaleOutGBpsPerDir.Known() {
		return n.ScaleOutGBpsPerDir.Value * units.Giga / float64(in.dpc), n.ScaleOutGBpsPerDir.Confidence
	}
	c := in.d.Chip
	if !c.ScaleOutGBpsPerDir.Known() {
		return 12.5 * units.Giga, hardware.Estimate // one 100 Gb/s NIC
	}
	return c.ScaleOutGBpsPerDir.Value * units.Giga / float64(in.dpc), c.ScaleOutGBpsPerDir.Confidence
}

// groupBW is the per-direction bandwidth a collective over n devices
// gets: scale-up inside the domain (on a full mesh only the links to the
// group's peers count), scale-out beyond it.
func (in *Instance) groupBW(n int, up, out float64) float64 {
	if n <= 1 {
		return up
	}
	dom := in.domain()
	if n > dom {
		return out
	}
	if in.d.Node != nil && in.d.Node.Topology == "mesh" && dom > 1 {
		return up * float64(n-1) / float64(dom-1)
	}
	return up
}
