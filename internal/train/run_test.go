package train

import (
	"math"
	"testing"

	"ersatz/internal/hardware"
)

// Daly's interval and the goodput, by hand: δ = 60 s, M = 3600 s, R = 600 s.
// x = δ/2M = 0.008333; √(2δM) = 657.27; τ = 657.27·(1 + √x/3 + x/9) − δ =
// 657.27·1.031355 − 60 = 617.88 s. Loss per unit wall time
// (R + (τ+δ)/2)/M = (600 + 338.94)/3600 = 0.26082; wall = compute ·
// (1 + 60/617.88)/(1 − 0.26082) = 1.48421 · compute: goodput 0.67376.
func TestGoodputDaly(t *testing.T) {
	wall, good, tau := goodput(1000, 60, 600, 3600)
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"tau", tau, 617.876}, {"wall", wall, 1484.21}, {"goodput", good, 0.673757}} {
		if math.Abs(c.got/c.want-1) > 1e-5 {
			t.Errorf("%s = %.6g, want %.6g", c.name, c.got, c.want)
		}
	}
	// Young's first term when δ ≪ M: δ = 1 s, M = 10^6 s: τ ≈ √(2·10^6) − 1.
	if _, _, tau := goodput(1, 1, 0, 1e6); math.Abs(tau/(math.Sqrt(2e6)-1)-1) > 1e-3 {
		t.Errorf("Young limit: tau %.6g", tau)
	}
	// Failures faster than a restart: no progress.
	if _, good, _ := goodput(1, 10, 3600, 1800); good != 0 {
		t.Errorf("hopeless run: goodput %g, want 0", good)
	}
}

// The catalog's H100 rate is Llama 3's: 419 interruptions over 54 days on
// 16,384 GPUs, 0.173 per GPU-year; on 16,384 GPUs that is a mean of
// 365.25·24/(0.173·16384) = 3.09 hours between interruptions, the
// paper's "one every three hours".
func TestFailureRateLlama3(t *testing.T) {
	c, _ := catalog().Chip("h100-sxm")
	rate, lo, hi, _ := FailureRate(c)
	if math.Abs(rate/(419/(54.0/365.25*16384))-1) > 0.01 {
		t.Errorf("H100 rate %g, want 419/(54 d × 16384) per year", rate)
	}
	if lo >= rate || hi <= rate {
		t.Errorf("band %g..%g around %g", lo, hi, rate)
	}
	if mtbf := 365.25 * 24 / (rate * 16384); math.Abs(mtbf-3.09) > 0.02 {
		t.Errorf("MTBF on 16,384 H100: %.3g h, want 3.09", mtbf)
	}
	// A domestic part is an estimate with a ×0.5–2 band.
	a, _ := catalog().Chip("ascend-910c")
	r, lo, hi, _ := FailureRate(a)
	if lo != r/2 || hi != 2*r {
		t.Errorf("910C band %g..%g around %g, want ×0.5–2", lo, hi, r)
	}
}

// A run: days are tokens over throughput over goodput; chip-hours are
// chips × wall hours; cost and energy follow from the caller's prices.
func TestPlanRun(t *testing.T) {
	j := job(t, "meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", 64, 8192, 512, hardware.BF16)
	e := newEst(t, j)
	r, err := e.Evaluate(Layout{TP: 1, PP: 1, DP: 64, ZeRO: 1, Recompute: RecomputeFull, MicroBatch: 1})
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.Plan(r, RunOptions{Tokens: 1e12, USDPerChipHour: 2, WattsPerChip: 1000})
	if err != nil {
		t.Fatal(err)
	}
	compute := 1e12 / r.TokensPerSecond / 86400
	if math.Abs(run.ComputeDays/compute-1) > 1e-9 || math.Abs(run.Days*run.Goodput/compute-1) > 1e-9 {
		t.Errorf("days %g, goodput %g, compute days %g", run.Days, run.Goodput, compute)
	}
	if math.Abs(run.ChipHours-run.Days*24*64) > 1e-6 || math.Abs(run.CostUSD-2*run.ChipHours) > 1e-6 || math.Abs(run.EnergyMWh-run.ChipHours/1000) > 1e-9 {
		t.Errorf("chip-hours %g, cost %g, energy %g", run.ChipHours, run.CostUSD, run.EnergyMWh)
	}
	if !(run.DaysLow < run.Days && run.Days < run.DaysHigh) {
		t.Errorf("band %g..%g around %g", run.DaysLow, run.DaysHigh, run.Days)
	}
	// 8.03e9 parameters × 14 B = 112 GB written at 64 × 122 MB/s.
	total, _ := j.Model.Params()
	if want := total * 14 / (64 * DefaultCheckpointShare); math.Abs(run.CheckpointSeconds/want-1) > 1e-9 {
		t.Errorf("checkpoint %g s, want %g", run.CheckpointSeconds, want)
	}
	if _, err := e.Plan(r, RunOptions{}); err == nil {
		t.Error("a run without tokens should be refused")
	}
}

// Model FLOPs: 6N, plus 12·L·s·d per token (full) or half of about it
// (causal: (s+1)/2 keys on average). Llama-3.1-8B at s = 8192: d = 32·128
// = 4096, so full adds 12·32·8192·4096 = 12.88e9 and causal
// 12.88e9·8193/16384 = 6.44e9.
func TestModelFLOPsConventions(t *testing.T) {
	j := job(t, "meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", 8, 8192, 8, hardware.BF16)
	m := j.Model
	n6 := 6 * m.ComputeParams()
	if got := ModelFLOPsPerToken(m, 8192, None); got != n6 {
		t.Errorf("none: %g, want 6N %g", got, n6)
	}
	full := 12 * 32 * 8192 * 4096.0
	if got := ModelFLOPsPerToken(m, 8192, Full) - n6; math.Abs(got/full-1) > 1e-9 {
		t.Errorf("full attention: %g, want %g", got, full)
	}
	if got := ModelFLOPsPerToken(m, 8192, Causal) - n6; math.Abs(got/(full*8193/16384)-1) > 1e-9 {
		t.Errorf("causal attention: %g, want %g", got, full*8193/16384)
	}
}
