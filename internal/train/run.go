package train

import (
	"fmt"
	"math"

	"ersatz/internal/hardware"
)

// RunOptions are what a whole training run needs beyond one step.
type RunOptions struct {
	// Tokens is the run's token budget.
	Tokens float64
	// CheckpointBytesPerSecond is the storage's aggregate write bandwidth;
	// 0 means DefaultCheckpointShare per chip.
	CheckpointBytesPerSecond float64
	// RestartSeconds is the time from an interruption to training again
	// (rescheduling, process start, communicator set-up, checkpoint load);
	// 0 means DefaultRestartSeconds.
	RestartSeconds float64
	// USDPerChipHour and WattsPerChip price the run (the caller's cost
	// basis: internal/plan's Costs); 0 leaves cost or energy out.
	USDPerChipHour float64
	WattsPerChip   float64
}

// Defaults of a run, each an estimate documented in docs/train.md.
const (
	// DefaultCheckpointShare is storage write bandwidth per chip: the
	// Llama 3 cluster's Tectonic store sustains 2 TB/s for 16,384 GPUs
	// (Llama 3 Herd of Models, §3.3.1), 122 MB/s per GPU.
	DefaultCheckpointShare = 2e12 / 16384
	// DefaultRestartSeconds is 10 minutes: an ersatz estimate (restarts at
	// 10K-GPU scale are reported in minutes to tens of minutes).
	DefaultRestartSeconds = 600
	// checkpointBytesPerParam is what a resumable checkpoint stores: 16-bit
	// weights and fp32 master weights, momentum and variance.
	checkpointBytesPerParam = 2 + 12
	// defaultInterruptions is used for chips without a catalog figure:
	// the H100 rate of the Llama 3 run, as an estimate.
	defaultInterruptions = 0.173
)

// Run is a whole training run at one layout.
type Run struct {
	Tokens float64 `json:"tokens"`
	// ComputeDays is the time at the step rate without interruptions.
	ComputeDays float64 `json:"compute_days"`
	// Days is wall-clock time with checkpoints, lost work and restarts.
	Days          float64 `json:"days"`
	DaysLow       float64 `json:"days_low"`
	DaysHigh      float64 `json:"days_high"`
	ChipHours     float64 `json:"chip_hours"`
	ChipHoursLow  float64 `json:"chip_hours_low"`
	ChipHoursHigh float64 `json:"chip_hours_high"`
	// InterruptionsPerChipYear is the failure rate used and where it
	// came from (the catalog, or the estimate for chips without one).
	InterruptionsPerChipYear float64 `json:"interruptions_per_chip_year"`
	FailureSource            string  `json:"failure_source"`
	// Interruptions is the expected count over the run; MTBFHours the
	// cluster's mean time between them.
	Interruptions float64 `json:"interruptions"`
	MTBFHours     float64 `json:"mtbf_hours"`
	// CheckpointSeconds is one checkpoint's write time; the interval is
	// Daly's optimum for it and the MTBF.
	CheckpointBytes           float64 `json:"checkpoint_bytes"`
	CheckpointSeconds         float64 `json:"checkpoint_s"`
	CheckpointIntervalSeconds float64 `json:"checkpoint_interval_s"`
	RestartSeconds            float64 `json:"restart_s"`
	// Goodput is the share of wall time spent on steps that count.
	Goodput float64 `json:"goodput"`
	CostUSD float64 `json:"cost_usd,omitempty"`
	// EnergyMWh is the run's wall energy at the caller's watts per chip.
	EnergyMWh float64 `json:"energy_mwh,omitempty"`
}

// FailureRate returns the chip's interruptions per chip-year, the
// relative band around it and where it came from. Estimates get a wide
// band (×0.5 to ×2); published figures their confidence's spread.
func FailureRate(c *hardware.Chip) (rate, low, high float64, source string) {
	v := c.InterruptionsPerChipYear
	if !v.Known() {
		return defaultInterruptions, defaultInterruptions / 2, defaultInterruptions * 2,
			"estimate: no figure for " + c.ID + " in the catalog; the H100 rate of the Llama 3 run"
	}
	if v.Confidence == hardware.Estimate {
		return v.Value, v.Value / 2, v.Value * 2, "catalog (estimate): " + v.Note
	}
	s := v.Confidence.Spread()
	return v.Value, v.Value * (1 - s), v.Value * (1 + s), "catalog (" + string(v.Confidence) + "): " + v.Source
}

// Plan computes the run of o.Tokens at r's throughput.
func (e *Estimator) Plan(r Result, o RunOptions) (Run, error) {
	j := e.e.job
	if !(o.Tokens > 0) {
		return Run{}, fmt.Errorf("tokens %g: want a positive token budget", o.Tokens)
	}
	if r.TokensPerSecond <= 0 {
		return Run{}, fmt.Errorf("train: the step has no throughput")
	}
	bw := o.CheckpointBytesPerSecond
	if bw <= 0 {
		bw = DefaultCheckpointShare * float64(j.Chips)
	}
	restart := o.RestartSeconds
	if restart <= 0 {
		restart = DefaultRestartSeconds
	}
	total, _ := j.Model.Params()
	rate, lo, hi, src := FailureRate(j.Chip)
	run := Run{Tokens: o.Tokens, InterruptionsPerChipYear: rate, FailureSource: src, RestartSeconds: restart}
	run.CheckpointBytes = total * checkpointBytesPerParam
	run.CheckpointSeconds = run.CheckpointBytes / bw
	tokensPerStep := float64(j.GlobalBatch) * float64(j.SeqLen)
	at := func(step, rate float64) (wall, good, tau, mtbf float64) {
		compute := o.Tokens / tokensPerStep * step
		mtbf = 365.25 * 86400 / (rate * float64(j.Chips))
		wall, good, tau = goodput(compute, run.CheckpointSeconds, restart, mtbf)
		return wall, good, tau, mtbf
	}
	wall, good, tau, mtbf := at(float64(r.Step.Total), rate)
	run.ComputeDays = o.Tokens / r.TokensPerSecond / 86400
	run.Days = wall / 86400
	run.Goodput = good
	run.CheckpointIntervalSeconds = tau
	run.MTBFHours = mtbf / 3600
	run.Interruptions = wall / mtbf
	run.ChipHours = wall / 3600 * float64(j.Chips)
	wl, _, _, _ := at(float64(r.StepLow), lo)
	wh, _, _, _ := at(float64(r.StepHigh), hi)
	run.DaysLow, run.DaysHigh = wl/86400, wh/86400
	run.ChipHoursLow, run.ChipHoursHigh = wl/3600*float64(j.Chips), wh/3600*float64(j.Chips)
	run.CostUSD = run.ChipHours * o.USDPerChipHour
	run.EnergyMWh = run.ChipHours * o.WattsPerChip / 1e6
	return run, nil
}

// goodput returns the wall time of compute seconds of steps, the share
// that is useful, and the checkpoint interval. The interval is Daly's
// optimum (Daly 2006, "A higher order estimate of the optimum checkpoint
// interval for restart dumps", eq. 37): τ = √(2δM)·(1 + √(δ/2M)/3 +
// δ/18M) − δ for δ < 2M, else M; Young's √(2δM) is its first term. Each
// interval pays one write δ; each interruption (every M seconds of wall
// time) pays the restart R and, on average, half an interval of work and
// its write redone: wall = compute·(1 + δ/τ) / (1 − (R + (τ+δ)/2)/M).
func goodput(compute, delta, restart, mtbf float64) (wall, good, tau float64) {
	if delta < 2*mtbf {
		x := delta / (2 * mtbf)
		tau = math.Sqrt(2*delta*mtbf)*(1+math.Sqrt(x)/3+x/9) - delta
	} else {
		tau = mtbf
	}
	tau = math.Max(tau, delta)
	loss := (restart + (tau+delta)/2) / mtbf
	if loss >= 1 {
		return math.Inf(1), 0, tau
	}
	wall = compute * (1 + delta/tau) / (1 - loss)
	return wall, compute / wall, tau
}
