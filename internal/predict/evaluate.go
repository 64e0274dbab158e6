package predict

import (
	"ersatz/internal/corpus"
	"ersatz/internal/perf"
)

// Evaluation is everything predict reports of one case: the steady-state
// result, the case's metric with its band when it names one, and the KV
// capacity of its first instance (the decode instance when disaggregated).
type Evaluation struct {
	Result   perf.Result
	Metric   *corpus.Prediction // nil when the case names no metric
	KVTokens int                // per instance; 0 when it cannot be sized
}

// Evaluate answers a case in one call. metric answers the case's metric
// (a predictor whose bands are calibrated intervals, say); nil means p.
func (p *Predictor) Evaluate(c *corpus.Case, metric corpus.Predictor) (Evaluation, error) {
	if metric == nil {
		metric = p
	}
	sc, err := p.Scenario(c)
	if err != nil {
		return Evaluation{}, err
	}
	r, err := perf.Serve(sc)
	if err != nil {
		return Evaluation{}, err
	}
	ev := Evaluation{Result: r}
	if c.Metric != "" {
		pr, err := metric.Predict(c)
		if err != nil {
			return Evaluation{}, err
		}
		ev.Metric = &pr
	}
	for _, in := range []*perf.Instance{sc.Mixed, sc.Decode, sc.Prefill} {
		if in == nil {
			continue
		}
		if cp, err := in.Capacity(int(c.Workload.InputTokens + c.Workload.OutputTokens)); err == nil {
			ev.KVTokens = cp.KVTokens
		}
		break
	}
	return ev, nil
}
