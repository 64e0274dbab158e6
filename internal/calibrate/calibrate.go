// Package calibrate fits the performance model's efficiency parameters to
// measurements of real (or emulated) serving: each measurement is a bench
// run's requests (arrival, lengths, TTFT, TPOT) with the deployment it ran
// on. The model of a run is the simulator replaying the run's own
// arrivals and lengths, with step times from perf at candidate
// parameters; the fit minimises the squared log error of mean TTFT and
// mean TPOT over all runs, within bounds, and gives each parameter a
// bootstrap interval over requests. It does no I/O.
package calibrate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"ersatz/internal/perf"
	"ersatz/internal/serving"
	"ersatz/internal/sim"
	"ersatz/internal/workload"
)

// Request is one measured request. StartS is when it was sent, from the
// run's start; a failed request (OK false) still loaded the server, so it
// is replayed, but it counts in no mean.
type Request struct {
	StartS        float64
	Input, Output int
	TTFTS, TPOTS  float64
	OK            bool
}

// Measurement is one bench run and the deployment it ran on.
type Measurement struct {
	Name       string // where it came from (a file name)
	Deployment serving.Deployment
	MaxContext int // sizes the KV cache as the engine would; 0 means the longest request
	Requests   []Request
}

// Knob is a fitted parameter: a family's (Engine "") or an engine's.
type Knob struct {
	Name   string // a params.yaml key: gemm_eff, mem_eff, attn_eff, kernel_overhead_s, step_overhead_s, kernel_scale, ...
	Family string // the chip family, for family parameters
	Engine string // the engine, for engine parameters
	Lo, Hi float64
}

func (k Knob) String() string {
	if k.Engine != "" {
		return k.Engine + "." + k.Name
	}
	return k.Family + "." + k.Name
}

// Bounds of the known knobs.
var bounds = map[string][2]float64{
	"gemm_eff": {0.05, 1}, "mem_eff": {0.05, 1}, "attn_eff": {0.05, 1}, "comm_eff": {0.05, 1}, "lowp_gemm_scale": {0.1, 1},
	"kernel_overhead_s": {0, 50e-6}, "hop_latency_s": {0, 20e-6}, "moe_imbalance": {1, 3},
	"step_overhead_s": {0, 0.05}, "seq_overhead_s": {0, 1e-3}, "kernel_scale": {0.1, 1.5},
}

var engineKnobs = map[string]bool{"step_overhead_s": true, "seq_overhead_s": true, "kernel_scale": true}

// NewKnob returns the knob name for a family (family parameters) or an
// engine (engine parameters), with its bounds.
func NewKnob(name, family, engine string) (Knob, error) {
	b, ok := bounds[name]
	if !ok {
		names := make([]string, 0, len(bounds))
		for n := range bounds {
			names = append(names, n)
		}
		sort.Strings(names)
		return Knob{}, fmt.Errorf("calibrate: parameter %q: want one of %s", name, strings.Join(names, ", "))
	}
	k := Knob{Name: name, Lo: b[0], Hi: b[1]}
	if engineKnobs[name] {
		k.Engine = engine
	} else {
		k.Family = family
	}
	return k, nil
}

// Options configure a fit.
type Options struct {
	Base      *perf.Params // the parameters the fit starts from and overlays
	Knobs     []Knob
	Bootstrap int    // resamples for the intervals; 0 means 200
	Seed      uint64 // for the bootstrap
	// Tolerance is the fit's relative resolution on each parameter:
	// the model's objective has small kinks (a discrete schedule moves
	// as step times change), on which the minimiser stops within about
	// 1% of the exact point (checked on planted parameters), so intervals
	// are never narrower than ± Tolerance. 0 means 0.01.
	Tolerance float64
}

// Estimate is one fitted parameter.
type Estimate struct {
	Knob
	Before, Value float64
	Lo, Hi        float64 // the 95% interval
}

// RunError is a measurement's error before and after the fit.
type RunError struct {
	Name                         string
	Requests                     int
	MeasuredTTFTS, MeasuredTPOTS float64
	BeforeTTFTS, BeforeTPOTS     float64
	AfterTTFTS, AfterTPOTS       float64
}

// Fit is the outcome.
type Fit struct {
	Estimates []Estimate
	Runs      []RunError
	Params    *perf.Params // Base with the fitted values
	Evals     int          // model evaluations (simulations of every run)
}

// Calibrate fits o.Knobs to the measurements.
func Calibrate(ms []Measurement, o Options) (*Fit, error) {
	if len(ms) == 0 {
		return nil, errors.New("calibrate: want at least one measurement")
	}
	if len(o.Knobs) == 0 {
		return nil, errors.New("calibrate: want at least one parameter to fit")
	}
	if len(o.Knobs) > 2*len(ms) {
		return nil, fmt.Errorf("calibrate: %d parameters from %d runs (2 measures each): want at most %d parameters", len(o.Knobs), len(ms), 2*len(ms))
	}
	if o.Base == nil {
		o.Base = perf.DefaultParams()
	}
	if o.Bootstrap == 0 {
		o.Bootstrap = 200
	}
	if o.Tolerance == 0 {
		o.Tolerance = 0.01
	}
	f := &fitter{ms: ms, o: o}
	for i := range ms {
		if err := f.prepare(&ms[i]); err != nil {
			return nil, err
		}
	}
	x0 := make([]float64, len(o.Knobs))
	for i, k := range o.Knobs {
		v, err := get(o.Base, k)
		if err != nil {
			return nil, err
		}
		x0[i] = v
	}
	before, err := f.predict(x0)
	if err != nil {
		return nil, err
	}
	x, err := f.minimise(x0)
	if err != nil {
		return nil, err
	}
	after, err := f.predict(x)
	if err != nil {
		return nil, err
	}
	lo, hi, err := f.intervals(x, after)
	if err != nil {
		return nil, err
	}
	fit := &Fit{Evals: f.evals}
	fit.Params, _ = with(o.Base, o.Knobs, x)
	for i, k := range o.Knobs {
		fit.Estimates = append(fit.Estimates, Estimate{Knob: k, Before: x0[i], Value: x[i], Lo: lo[i], Hi: hi[i]})
	}
	for i, m := range f.ms {
		fit.Runs = append(fit.Runs, RunError{Name: m.Name, Requests: len(f.ok[i]),
			MeasuredTTFTS: f.meas[i].ttft, MeasuredTPOTS: f.meas[i].tpot,
			BeforeTTFTS: mean(before[i].ttft, f.ok[i]), BeforeTPOTS: mean(before[i].tpot, f.okTPOT[i]),
			AfterTTFTS: mean(after[i].ttft, f.ok[i]), AfterTPOTS: mean(after[i].tpot, f.okTPOT[i])})
	}
	return fit, nil
}

type means struct{ ttft, tpot float64 }

// perRequest is the model's TTFT and TPOT of every request of a run.
type perRequest struct{ ttft, tpot []float64 }

type fitter struct {
	ms     []Measurement
	o      Options
	ok     [][]int // indices of successful requests, per run
	okTPOT [][]int // of those with at least 2 output tokens
	meas   []means
	evals  int
}

func (f *fitter) prepare(m *Measurement) error {
	if len(m.Requests) == 0 {
		return fmt.Errorf("calibrate: %s: no requests", m.Name)
	}
	var ok, okT []int
	var ttft, tpot float64
	longest := 0
	for i, r := range m.Requests {
		longest = max(longest, r.Input+r.Output)
		if !r.OK {
			continue
		}
		ok = append(ok, i)
		ttft += r.TTFTS
		if r.Output > 1 {
			okT = append(okT, i)
			tpot += r.TPOTS
		}
	}
	if len(ok) == 0 || len(okT) == 0 {
		return fmt.Errorf("calibrate: %s: no successful request with two or more output tokens", m.Name)
	}
	if m.MaxContext == 0 {
		m.MaxContext = longest
	}
	f.ok = append(f.ok, ok)
	f.okTPOT = append(f.okTPOT, okT)
	f.meas = append(f.meas, means{ttft / float64(len(ok)), tpot / float64(len(okT))})
	return nil
}

func mean(xs []float64, idx []int) float64 {
	var s float64
	for _, i := range idx {
		s += xs[i]
	}
	return s / float64(len(idx))
}

// predict simulates every run at parameter values x.
func (f *fitter) predict(x []float64) ([]perRequest, error) {
	f.evals++
	p, err := with(f.o.Base, f.o.Knobs, x)
	if err != nil {
		return nil, err
	}
	out := make([]perRequest, len(f.ms))
	for i, m := range f.ms {
		if out[i], err = replay(m, p); err != nil {
			return nil, fmt.Errorf("calibrate: %s: %w", m.Name, err)
		}
	}
	return out, nil
}

// replay simulates a run's requests on its deployment under p.
func replay(m Measurement, p *perf.Params) (perRequest, error) {
	dep, err := rebuild(m.Deployment, p)
	if err != nil {
		return perRequest{}, err
	}
	cfg, err := serving.Config(dep, p, m.MaxContext)
	if err != nil {
		return perRequest{}, err
	}
	order := make([]int, len(m.Requests))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return m.Requests[order[a]].StartS < m.Requests[order[b]].StartS })
	reqs := make([]workload.Request, len(order))
	for j, i := range order {
		r := m.Requests[i]
		reqs[j] = workload.Request{ID: int64(i), ArrivalS: r.StartS, Input: r.Input, Output: max(r.Output, 1)}
	}
	pr := perRequest{ttft: make([]float64, len(m.Requests)), tpot: make([]float64, len(m.Requests))}
	_, err = sim.Run(cfg, workload.FromSlice(reqs), rand.New(rand.NewPCG(1, 1)), sim.RecordFunc(func(r *sim.Record) {
		pr.ttft[r.ID], pr.tpot[r.ID] = r.TTFTS(), r.TPOTS()
	}))
	return pr, err
}

// rebuild makes the deployment's instances anew under p.
func rebuild(d serving.Deployment, p *perf.Params) (serving.Deployment, error) {
	in, err := perf.New(d.Pool.Instance.Deployment(), p)
	if err != nil {
		return d, err
	}
	d.Pool.Instance = in
	if d.Prefill != nil {
		pre := *d.Prefill
		if pre.Instance, err = perf.New(pre.Instance.Deployment(), p); err != nil {
			return d, err
		}
		d.Prefill = &pre
	}
	return d, nil
}

// residuals are the log errors of mean TTFT and mean TPOT, per run, over
// the requests idx (nil: the successful ones).
func (f *fitter) residuals(pred []perRequest, ok, okT [][]int, meas []means) []float64 {
	r := make([]float64, 0, 2*len(pred))
	for i := range pred {
		r = append(r, math.Log(mean(pred[i].ttft, ok[i])/meas[i].ttft), math.Log(mean(pred[i].tpot, okT[i])/meas[i].tpot))
	}
	return r
}

// minimise is Levenberg–Marquardt on the log of each knob, with the
// Jacobian by forward differences of 1% (wide enough to step over the
// small discontinuities a discrete schedule puts in the model; widened to
// 3% and 9% when steps stop gaining) and every trial point clamped to the
// bounds.
func (f *fitter) minimise(x0 []float64) ([]float64, error) {
	ks := f.o.Knobs
	n := len(ks)
	clamp := func(x []float64) {
		for i, k := range ks {
			x[i] = math.Min(math.Max(x[i], math.Max(k.Lo, 1e-12)), k.Hi)
		}
	}
	x := append([]float64(nil), x0...)
	clamp(x)
	sse := func(r []float64) float64 {
		var s float64
		for _, v := range r {
			s += v * v
		}
		return s
	}
	eval := func(x []float64) ([]float64, error) {
		pred, err := f.predict(x)
		if err != nil {
			return nil, err
		}
		return f.residuals(pred, f.ok, f.okTPOT, f.meas), nil
	}
	r, err := eval(x)
	if err != nil {
		return nil, err
	}
	lambda, h0 := 1e-2, 0.01
	for iter := 0; iter < 30; iter++ {
		J := mat.NewDense(len(r), n, nil)
		for j := range n {
			xp := append([]float64(nil), x...)
			h := h0
			if xp[j]*math.Exp(h) > ks[j].Hi {
				h = -h
			}
			xp[j] *= math.Exp(h)
			rp, err := eval(xp)
			if err != nil {
				return nil, err
			}
			for i := range rp {
				J.Set(i, j, (rp[i]-r[i])/h)
			}
		}
		var jtj mat.Dense
		jtj.Mul(J.T(), J)
		var g mat.VecDense
		g.MulVec(J.T(), mat.NewVecDense(len(r), r))
		improved := false
		for try := 0; try < 8; try++ {
			a := mat.DenseCopyOf(&jtj)
			for j := range n {
				a.Set(j, j, a.At(j, j)*(1+lambda)+1e-12)
			}
			var d mat.VecDense
			if err := d.SolveVec(a, &g); err != nil {
				lambda *= 10
				continue
			}
			xn := make([]float64, n)
			for j := range n {
				xn[j] = x[j] * math.Exp(-d.AtVec(j))
			}
			clamp(xn)
			rn, err := eval(xn)
			if err != nil {
				return nil, err
			}
			if sse(rn) < sse(r) {
				step := 0.0
				for j := range n {
					step = math.Max(step, math.Abs(math.Log(xn[j]/x[j])))
				}
				gain := 1 - sse(rn)/sse(r)
				x, r, improved = xn, rn, true
				lambda = math.Max(lambda/10, 1e-6)
				switch {
				case gain < 0.01 && h0 < 0.1:
					// Crawling along a kink of the schedule: look wider.
					h0, lambda = h0*3, 1e-2
				case (step < f.o.Tolerance/10 && lambda <= 1e-3) || gain < 1e-4:
					return f.polish(x, sse(r)) // converged
				}
				break
			}
			lambda *= 10
		}
		if !improved {
			if h0 < 0.1 {
				h0, lambda = h0*3, 1e-2 // stalled on a kink: look wider
				continue
			}
			break
		}
	}
	return f.polish(x, sse(r))
}

// polish runs Nelder–Mead from x in log space on a small simplex: where
// the schedule's discontinuities stall the Jacobian's steps, a direct
// search still moves.
func (f *fitter) polish(x []float64, best float64) ([]float64, error) {
	ks := f.o.Knobs
	toX := func(z []float64) []float64 {
		xs := make([]float64, len(z))
		for i, k := range ks {
			xs[i] = math.Min(math.Max(math.Exp(z[i]), math.Max(k.Lo, 1e-12)), k.Hi)
		}
		return xs
	}
	z0 := make([]float64, len(x))
	for i := range x {
		z0[i] = math.Log(x[i])
	}
	var failure error
	prob := optimize.Problem{Func: func(z []float64) float64 {
		pred, err := f.predict(toX(z))
		if err != nil {
			failure = err
			return math.Inf(1)
		}
		var s float64
		for _, r := range f.residuals(pred, f.ok, f.okTPOT, f.meas) {
			s += r * r
		}
		return s
	}}
	res, err := optimize.Minimize(prob, z0, &optimize.Settings{FuncEvaluations: 30 * len(x),
		Converger: &optimize.FunctionConverge{Absolute: 1e-9, Iterations: 10}}, &optimize.NelderMead{SimplexSize: 0.03})
	if failure != nil {
		return nil, failure
	}
	if res == nil || res.F >= best {
		if res == nil && err != nil {
			return nil, fmt.Errorf("calibrate: minimising: %w", err)
		}
		return x, nil
	}
	return toX(res.X), nil
}

// intervals bootstraps over requests: each resample draws every run's
// requests with replacement, and the parameters move by the Gauss–Newton
// step that the resample's residuals call for (the Jacobian taken once, by
// finite differences, at the fit). The interval is the 2.5th to 97.5th
// percentile, widened to at least ± the fit's tolerance.
func (f *fitter) intervals(x []float64, at []perRequest) (lo, hi []float64, err error) {
	n := len(x)
	r0 := f.residuals(at, f.ok, f.okTPOT, f.meas)
	J := mat.NewDense(len(r0), n, nil)
	for j, k := range f.o.Knobs {
		h := 0.02 * math.Max(math.Abs(x[j]), (k.Hi-k.Lo)*0.01)
		xp := append([]float64(nil), x...)
		if xp[j]+h > k.Hi {
			h = -h
		}
		xp[j] += h
		pred, err := f.predict(xp)
		if err != nil {
			return nil, nil, err
		}
		rp := f.residuals(pred, f.ok, f.okTPOT, f.meas)
		for i := range rp {
			J.Set(i, j, (rp[i]-r0[i])/h)
		}
	}
	var jtj mat.Dense
	jtj.Mul(J.T(), J)
	var inv mat.Dense
	if err := inv.Inverse(&jtj); err != nil {
		return nil, nil, fmt.Errorf("calibrate: the runs do not determine %v apart (singular Jacobian); fit fewer parameters or add runs at other loads", f.o.Knobs)
	}
	var step mat.Dense
	step.Mul(&inv, J.T())
	rng := rand.New(rand.NewPCG(f.o.Seed, 0xb007))
	samples := make([][]float64, n)
	ok, okT := make([][]int, len(f.ms)), make([][]int, len(f.ms))
	meas := make([]means, len(f.ms))
	for range f.o.Bootstrap {
		for i, m := range f.ms {
			ok[i] = resample(ok[i][:0], f.ok[i], rng)
			okT[i] = resample(okT[i][:0], f.okTPOT[i], rng)
			var t1, t2 float64
			for _, j := range ok[i] {
				t1 += m.Requests[j].TTFTS
			}
			for _, j := range okT[i] {
				t2 += m.Requests[j].TPOTS
			}
			meas[i] = means{t1 / float64(len(ok[i])), t2 / float64(len(okT[i]))}
		}
		r := mat.NewVecDense(len(r0), f.residuals(at, ok, okT, meas))
		var d mat.VecDense
		d.MulVec(&step, r)
		for j, k := range f.o.Knobs {
			samples[j] = append(samples[j], math.Min(math.Max(x[j]-d.AtVec(j), k.Lo), k.Hi))
		}
	}
	lo, hi = make([]float64, n), make([]float64, n)
	for j := range n {
		s := samples[j]
		sort.Float64s(s)
		lo[j] = math.Min(quantile(s, 0.025), x[j]*(1-f.o.Tolerance))
		hi[j] = math.Max(quantile(s, 0.975), x[j]*(1+f.o.Tolerance))
	}
	return lo, hi, nil
}

func resample(dst, from []int, rng *rand.Rand) []int {
	for range from {
		dst = append(dst, from[rng.IntN(len(from))])
	}
	return dst
}

func quantile(sorted []float64, q float64) float64 {
	r := q * float64(len(sorted)-1)
	i := int(r)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (r-float64(i))*(sorted[i+1]-sorted[i])
}
