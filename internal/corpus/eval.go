package corpus

import (
	"fmt"
	"math"
	"sort"
)

// Prediction is a predictor's answer for one case, in the case's metric.
// Low and High bound Value from the uncertainty of the inputs; both zero
// means no band. Detail is whatever the predictor wants shown; it is
// written into the JSON report and must marshal.
type Prediction struct {
	Value, Low, High float64
	Detail           any
}

// Predictor predicts the metric of a case.
type Predictor interface {
	Predict(c *Case) (Prediction, error)
}

// PredictorFunc adapts a function to [Predictor].
type PredictorFunc func(c *Case) (Prediction, error)

// Predict calls f(c).
func (f PredictorFunc) Predict(c *Case) (Prediction, error) { return f(c) }

// Result is one case of a [Report]. Predicted, Error, Low and High are nil
// when the case could not be predicted; Reason then says why.
type Result struct {
	ID        string   `json:"id"`
	Metric    string   `json:"metric"`
	Measured  float64  `json:"measured"`
	Predicted *float64 `json:"predicted"`
	// Error is Predicted/Measured − 1.
	Error  *float64 `json:"error"`
	Low    *float64 `json:"low"`
	High   *float64 `json:"high"`
	Reason string   `json:"reason,omitempty"`
	// Unreadable marks a case that could not be read; Reason says why.
	Unreadable bool `json:"unreadable,omitempty"`
	// InBand reports Low <= Measured <= High.
	InBand bool   `json:"in_band"`
	Chip   string `json:"chip"`
	Engine string `json:"engine,omitempty"`
	Vendor string `json:"vendor,omitempty"`
	Claim  string `json:"claim,omitempty"`
	Detail any    `json:"detail,omitempty"`
}

// AbsError is |Error|, or 1.0 for a failed case (the convention the
// summary uses).
func (r *Result) AbsError() float64 {
	if r.Error == nil {
		return 1
	}
	return math.Abs(*r.Error)
}

// Summary aggregates a set of results. Failed cases count in N, with an
// absolute error of 1.0; WithinBand and Within25Pct are fractions of N.
type Summary struct {
	N              int     `json:"n"`
	Failed         int     `json:"failed"`
	MedianAbsError float64 `json:"median_abs_error"`
	MAPE           float64 `json:"mape"`
	WithinBand     float64 `json:"within_band"`
	Within25Pct    float64 `json:"within_25pct"`
	// MedianBandWidth is the median of (high − low) / predicted over the
	// cases with a band.
	MedianBandWidth float64 `json:"median_band_width"`
}

// Report is the outcome of [Evaluate]. Its JSON form is the spec's
// `ersatz validate --json` object.
type Report struct {
	Cases   []Result `json:"cases"`
	Summary Summary  `json:"summary"`
	// ByMetric, ByClaim and ByVendor summarise subsets. ByVendor is
	// filled by [Report.SetVendors].
	ByMetric map[string]Summary `json:"by_metric,omitempty"`
	ByEngine map[string]Summary `json:"by_engine,omitempty"`
	ByClaim  map[string]Summary `json:"by_claim,omitempty"`
	ByVendor map[string]Summary `json:"by_vendor,omitempty"`
	// BandLevel is the probability the bands are meant to hold the
	// measured figure with (0: not stated); Note, printed under the
	// text report, says how the predictions and bands were made.
	BandLevel float64 `json:"band_level,omitempty"`
	Note      string  `json:"note,omitempty"`
}

// Evaluate predicts every case with p and compares the prediction with the
// measured figure. It never drops a case: one that cannot be predicted is
// kept with a Reason and counts as a failure.
func Evaluate(cases []Case, p Predictor) *Report {
	r := &Report{Cases: make([]Result, 0, len(cases))}
	for i := range cases {
		r.Cases = append(r.Cases, evaluate(&cases[i], p))
	}
	r.summarize()
	return r
}

// summarize fills the overall, per-metric and per-claim summaries.
func (r *Report) summarize() {
	r.Summary = Summarize(r.Cases)
	r.ByMetric = groupBy(r.Cases, func(x *Result) string { return x.Metric })
	r.ByClaim = groupBy(r.Cases, func(x *Result) string { return x.Claim })
	r.ByEngine = groupBy(r.Cases, func(x *Result) string { return x.Engine })
}

// EvaluateFile is [Evaluate] over a parsed file: the cases that could not
// be read are reported in their place in the file, each with "unreadable:"
// and its problems as the Reason, and count as failures.
func EvaluateFile(f *File, p Predictor) *Report {
	r := Evaluate(f.Cases, p)
	if len(f.Unreadable) == 0 {
		return r
	}
	all := make([]Result, 0, len(r.Cases)+len(f.Unreadable))
	read := r.Cases
	for _, u := range f.Unreadable {
		for len(all) < u.Index && len(read) > 0 {
			all, read = append(all, read[0]), read[1:]
		}
		all = append(all, unreadable(&u))
	}
	r.Cases = append(all, read...)
	r.summarize()
	return r
}

func unreadable(u *Unreadable) Result {
	id := u.ID
	if id == "" {
		id = fmt.Sprintf("cases[%d]", u.Index)
	}
	c := &u.Case
	return Result{ID: id, Metric: c.Metric, Measured: c.Measured, Chip: c.Chip, Claim: c.Claim, Engine: c.Engine,
		Unreadable: true, Reason: "unreadable: " + u.Reason()}
}

func evaluate(c *Case, p Predictor) (res Result) {
	res = Result{ID: c.ID, Metric: c.Metric, Measured: c.Measured, Chip: c.Chip, Claim: c.Claim, Engine: c.Engine}
	if !(c.Measured > 0) {
		res.Reason = "case has no measured value"
		return res
	}
	defer func() {
		if v := recover(); v != nil {
			res = Result{ID: c.ID, Metric: c.Metric, Measured: c.Measured, Chip: c.Chip, Claim: c.Claim, Engine: c.Engine,
				Reason: fmt.Sprintf("predictor panicked: %v", v)}
		}
	}()
	pred, err := p.Predict(c)
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	res.Detail = pred.Detail
	if math.IsNaN(pred.Value) || math.IsInf(pred.Value, 0) || pred.Value <= 0 {
		res.Reason = fmt.Sprintf("predictor returned %g, want a finite value > 0", pred.Value)
		return res
	}
	v, e := pred.Value, pred.Value/c.Measured-1
	res.Predicted, res.Error = &v, &e
	if pred.Low != 0 || pred.High != 0 {
		lo, hi := pred.Low, pred.High
		res.Low, res.High = &lo, &hi
		res.InBand = lo <= c.Measured && c.Measured <= hi
	}
	return res
}

// Summarize computes the summary of a set of results.
func Summarize(rs []Result) Summary {
	s := Summary{N: len(rs)}
	if s.N == 0 {
		return s
	}
	abs := make([]float64, 0, len(rs))
	var sum float64
	var band, w25 int
	var widths []float64
	for i := range rs {
		r := &rs[i]
		a := r.AbsError()
		abs = append(abs, a)
		sum += a
		if r.Error == nil {
			s.Failed++
			continue
		}
		if r.InBand {
			band++
		}
		if r.Low != nil && *r.Predicted > 0 {
			widths = append(widths, (*r.High-*r.Low) / *r.Predicted)
		}
		if a <= 0.25 {
			w25++
		}
	}
	s.MedianAbsError = median(abs)
	s.MedianBandWidth = median(widths)
	s.MAPE = sum / float64(s.N)
	s.WithinBand = float64(band) / float64(s.N)
	s.Within25Pct = float64(w25) / float64(s.N)
	return s
}

func groupBy(rs []Result, key func(*Result) string) map[string]Summary {
	groups := map[string][]Result{}
	for i := range rs {
		k := key(&rs[i])
		if k == "" {
			k = "unknown"
		}
		groups[k] = append(groups[k], rs[i])
	}
	out := make(map[string]Summary, len(groups))
	for k, g := range groups {
		out[k] = Summarize(g)
	}
	return out
}

// SetVendors records each case's vendor, as vendorOf(chip) gives it, and
// fills ByVendor. An empty vendor is reported as "unknown".
func (r *Report) SetVendors(vendorOf func(chip string) string) {
	if vendorOf == nil {
		return
	}
	for i := range r.Cases {
		r.Cases[i].Vendor = vendorOf(r.Cases[i].Chip)
	}
	r.ByVendor = groupBy(r.Cases, func(x *Result) string { return x.Vendor })
}

// median is the middle value (the mean of the two middle ones for an even
// count), or 0 for none. It sorts xs.
func median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	sort.Float64s(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
