package cli

import (
	"fmt"
	"math"

	"ersatz/internal/corpus"
	"ersatz/internal/perf"
	"ersatz/internal/serving"
)

// scenarioDeployment builds a simulated deployment from one case of a
// scenario file: its instances (aggregated, or prefill and decode pools)
// and, unless flags set them, its request lengths and arrival rate. The
// simulator runs open-loop arrivals, so a case loaded by concurrency or by
// a pinned batch needs --rate.
func scenarioDeployment(e *env, cats *catalogs, file, id string, pool serving.Pool, tr *trafficFlags, set map[string]bool, params *perf.Params) (serving.Deployment, string, error) {
	f, fsys, warns, err := loadCases(file, corpus.ScenarioMode)
	if err != nil {
		return serving.Deployment{}, "", err
	}
	for _, w := range warns {
		fmt.Fprintf(e.stderr, "ersatz simulate: warning: %v\n", w)
	}
	c := &f.Cases[0]
	if id != "" {
		c = nil
		for i := range f.Cases {
			if f.Cases[i].ID == id {
				c = &f.Cases[i]
			}
		}
		if c == nil {
			return serving.Deployment{}, "", usagef("--case %q: not in %s", id, file)
		}
	}
	cat, err := cats.hardware(e)
	if err != nil {
		return serving.Deployment{}, "", err
	}
	sc, err := newPredictor(cat, params, fsys).Scenario(c)
	if err != nil {
		return serving.Deployment{}, "", fmt.Errorf("case %s: %w", c.ID, err)
	}
	dep := serving.Deployment{Pool: pool}
	header := fmt.Sprintf("%s: %s on %s", c.ID, c.Model, c.Chip)
	switch {
	case sc.Mixed != nil:
		dep.Pool.Instance, dep.Pool.Replicas = sc.Mixed, max(sc.MixedCount, 1)
		header += fmt.Sprintf(", %d × %g chips", dep.Pool.Replicas, sc.Mixed.Chips())
	default:
		dep.Pool.Instance, dep.Pool.Replicas = sc.Decode, max(sc.DecodeCount, 1)
		pre := pool
		pre.Instance, pre.Replicas, pre.MaxNumSeqs = sc.Prefill, max(sc.PrefillCount, 1), 0
		dep.Prefill = &pre
		ch := sc.Prefill.Deployment().Chip
		dep.LinkBytesPerS = float64(ch.ScaleOutPerDir()) * float64(sc.Prefill.Devices()) / float64(ch.EngineDevices())
		header += fmt.Sprintf(", decode %d × %g chips", dep.Pool.Replicas, sc.Decode.Chips())
	}
	if !set["input-tokens"] && c.Workload.InputTokens > 0 {
		tr.input = int(math.Round(c.Workload.InputTokens))
	}
	if !set["output-tokens"] && c.Workload.OutputTokens > 0 {
		tr.output = int(math.Round(c.Workload.OutputTokens))
	}
	if tr.trace == "" && !set["rate"] {
		switch l := c.Workload.Load; l.Kind() {
		case corpus.LoadRate:
			tr.rate = *l.RatePerS
		case corpus.LoadOffline:
			// Every request arrives at once, as an offline benchmark submits them.
			tr.rate, tr.arrival = 1e9, "constant"
		default:
			kind := l.Kind()
			if kind == "" {
				kind = "the most under an SLO"
			}
			return serving.Deployment{}, "", usagef("case %s: its load (%s) needs a closed loop, which simulate does not run; give --rate", c.ID, kind)
		}
	}
	return dep, header, nil
}
