package accuracy

import (
	"ersatz/internal/corpus"
	"ersatz/internal/perf"
)

// Phases of a regime.
const (
	Prefill = "prefill"
	Decode  = "decode"
)

// Phase is the part of serving a case's figure measures: prefill for a
// prefill-phase case and for input throughput and TTFT, decode for the
// rest (output and total throughput, per-user speed, TPOT).
func Phase(c *corpus.Case) string {
	switch {
	case c.Phase == "prefill", c.Metric == "input_tokens_per_s_per_chip", c.Metric == "ttft_ms_mean":
		return Prefill
	}
	return Decode
}

// Latency reports whether a metric falls as the stack gets faster: the
// serving latencies, and a training step's time and a run's chip-hours.
func Latency(metric string) bool {
	switch metric {
	case "ttft_ms_mean", "tpot_ms_mean", "step_time_s", "gpu_hours_total":
		return true
	}
	return false
}

// Engine is the case's engine, "other" when it names none.
func Engine(c *corpus.Case) string {
	if c.Engine == "" {
		return string(perf.Other)
	}
	return c.Engine
}

// Regime is where a prediction falls for its residual spread.
type Regime struct {
	Engine, Family, Phase string
}

func (r Regime) pair() string { return perf.StackKey(perf.Engine(r.Engine), r.Family) }

func (r Regime) key() string { return r.pair() + "/" + r.Phase }
