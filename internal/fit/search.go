package fit

import (
	"ersatz/internal/hardware"
	"ersatz/internal/model"
)

// MaxChips bounds the search for the smallest deployment that fits.
const MaxChips = 1024

// Smallest returns the fewest chips of c that hold m with at least one
// sequence of o.Context tokens, and the layout that does it: tensor
// parallelism first (within the attention-head limits), then pipeline
// stages. EP equals TP for MoE models, so the experts spread as widely as
// the weights. ok is false when nothing up to MaxChips fits.
func Smallest(m *model.Model, c *hardware.Chip, o Options) (best Result, ok bool) {
	dies := c.EngineDevices()
	for chips := 1; chips <= MaxChips; chips++ {
		devices := chips * dies
		for tp := devices; tp >= 1; tp-- {
			if devices%tp != 0 {
				continue
			}
			l := Layout{TP: tp, PP: devices / tp, EP: 1, DP: 1}
			if m.MoE() {
				l.EP = largestDivisor(m.Experts, tp)
			}
			if CheckLayout(m, l) != nil {
				continue
			}
			r, err := Check(m, c, l, o)
			if err == nil && r.Fits {
				return r, true
			}
		}
	}
	return Result{}, false
}

// largestDivisor returns the largest d ≤ limit that divides both n and limit.
func largestDivisor(n, limit int) int {
	for d := limit; d > 1; d-- {
		if n%d == 0 && limit%d == 0 {
			return d
		}
	}
	return 1
}
