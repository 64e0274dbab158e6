package perf

import (
	"fmt"

	"ersatz/internal/hardware"
)

// Rates are one device's achievable rates after the family's efficiency
// parameters: what the training estimator (internal/train) prices work
// with, so that training and serving share one set of measurements.
// Bandwidths are per direction.
type Rates struct {
	GEMM      float64 // FLOP/s of a large matmul at the compute precision
	Attention float64 // FLOP/s of compute-bound attention (16 bit)
	Memory    float64 // B/s of a streaming kernel
	ScaleUp   float64 // B/s per direction inside the scale-up domain, after comm_eff
	ScaleOut  float64 // B/s per direction across it, after comm_eff
	Hop       float64 // s per collective step
	Kernel    float64 // s of fixed cost per kernel
	Imbalance float64 // busiest EP rank's expert load over the mean
	// Domain is the scale-up domain in devices; Mesh says its links are a
	// full mesh (only the links to a group's peers count).
	Domain int
	Mesh   bool
	// Spreads of the efficiencies the rates rest on, for reporting.
	Family string
}

// DeviceRates returns the per-device rates of chip in node (nil: an
// 8-device domain with the chip's links) with matmuls in compute, at
// nominal (variant 0), pessimistic (< 0) or optimistic (> 0) inputs, moved
// exactly as [Instance.Variant] moves them. Training kernels are the
// vendor libraries' (cuBLAS, TransformerEngine, CANN), so no engine
// kernel scale applies.
func DeviceRates(chip *hardware.Chip, node *hardware.Node, devicesPerChip int, compute hardware.Precision, p *Params, variant int) (Rates, error) {
	if chip == nil {
		return Rates{}, fmt.Errorf("perf: rates need a chip")
	}
	if p == nil {
		p = DefaultParams()
	}
	if !chip.Runs(compute) {
		return Rates{}, lacks(chip, compute)
	}
	if !chip.MemoryTBps.Known() {
		return Rates{}, fmt.Errorf("%s has no memory bandwidth in the catalog", chip.ID)
	}
	fam, err := p.Family(chip.Family)
	if err != nil {
		return Rates{}, err
	}
	eng := *p.Engine(Other)
	eng.KernelScale = &Param{Value: 1}
	in := &Instance{d: Deployment{Chip: chip, Node: node, TP: 1, PP: 1, EP: 1, DP: 1}, fam: fam, eng: &eng, compute: compute}
	in.dpc = devicesPerChip
	if in.dpc <= 0 {
		in.dpc = chip.EngineDevices()
	}
	in.attnTP = 1
	in.setRates(1, 1)
	if variant != 0 {
		in = in.Variant(variant)
	}
	return Rates{
		GEMM: in.gemmRate, Attention: in.attnRate, Memory: in.memBW,
		ScaleUp: in.upBW, ScaleOut: in.outBW, Hop: in.hop, Kernel: in.kernel,
		Imbalance: in.imbalance, Domain: in.domain(),
		Mesh:   node != nil && node.Topology == "mesh",
		Family: chip.Family,
	}, nil
}
