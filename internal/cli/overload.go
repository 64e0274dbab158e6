package cli

import (
	"fmt"

	"ersatz/internal/perf"
	"ersatz/internal/serving"
)

// warnOverload says, as predict does, when synthetic arrivals exceed what
// the deployment can carry: the analytic model's throughput at its largest
// batch (the slower pool's when disaggregated). Queues then grow for the
// whole run and the tail latencies measure the run's length, not the
// deployment.
func warnOverload(e *env, dep serving.Deployment, tr *trafficFlags) {
	sc := perf.Scenario{
		Workload: perf.Workload{InputTokens: float64(tr.input), OutputTokens: float64(tr.output)},
		Load:     perf.Load{Kind: perf.Offline},
	}
	if dep.Prefill == nil {
		sc.Mixed, sc.MixedCount = dep.Pool.Instance, dep.Pool.Replicas
	} else {
		sc.Decode, sc.DecodeCount = dep.Pool.Instance, dep.Pool.Replicas
		sc.Prefill, sc.PrefillCount = dep.Prefill.Instance, dep.Prefill.Replicas
	}
	res, err := perf.Serve(sc)
	if err != nil || res.OutputTPS <= 0 || tr.output < 1 {
		return
	}
	capacity := res.OutputTPS / float64(tr.output)
	if tr.rate > capacity {
		fmt.Fprintf(e.stderr, "ersatz simulate: warning: arrivals of %.3g req/s exceed the deployment's capacity of about %.3g req/s; queues grow for the whole run, so latencies depend on --requests\n", tr.rate, capacity)
	}
}
