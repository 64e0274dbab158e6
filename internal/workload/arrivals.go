package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Arrivals is an arrival process: successive calls return nondecreasing
// arrival times in seconds, and ok false when the process has no more.
type Arrivals interface {
	Next(rng *rand.Rand) (arrivalS float64, ok bool)
}

func checkRate(rate float64) error {
	if !(rate > 0) || math.IsInf(rate, 1) {
		return fmt.Errorf("workload: rate: want a positive finite requests per second (got %v)", rate)
	}
	return nil
}

// Poisson returns a Poisson process of rate requests per second:
// exponential gaps, the memoryless arrivals of many independent clients.
func Poisson(rate float64) (Arrivals, error) {
	if err := checkRate(rate); err != nil {
		return nil, err
	}
	return &poisson{rate: rate}, nil
}

type poisson struct{ rate, t float64 }

func (p *poisson) Next(rng *rand.Rand) (float64, bool) {
	p.t += rng.ExpFloat64() / p.rate
	return p.t, true
}

// Constant returns arrivals exactly 1/rate seconds apart, the first at
// 1/rate.
func Constant(rate float64) (Arrivals, error) {
	if err := checkRate(rate); err != nil {
		return nil, err
	}
	return &constant{gap: 1 / rate}, nil
}

type constant struct {
	gap float64
	n   float64
}

func (c *constant) Next(*rand.Rand) (float64, bool) {
	// Multiplying, not accumulating, keeps a million gaps free of drift.
	c.n++
	return c.n * c.gap, true
}

// Gamma returns a renewal process with gamma-distributed gaps of mean 1/rate
// and coefficient of variation cv (standard deviation over mean). cv = 1 is
// Poisson; cv > 1 is burstier (clustered arrivals, as in BurstGPT's fits);
// cv < 1 is more regular. The gamma shape is 1/cv².
func Gamma(rate, cv float64) (Arrivals, error) {
	if err := checkRate(rate); err != nil {
		return nil, err
	}
	if !(cv > 0) || math.IsInf(cv, 1) {
		return nil, fmt.Errorf("workload: cv: want a positive finite coefficient of variation (got %v)", cv)
	}
	shape := 1 / (cv * cv)
	return &gamma{shape: shape, scale: 1 / (rate * shape)}, nil
}

type gamma struct{ shape, scale, t float64 }

func (g *gamma) Next(rng *rand.Rand) (float64, bool) {
	g.t += sampleGamma(rng, g.shape) * g.scale
	return g.t, true
}

// sampleGamma draws from Gamma(shape, 1) by Marsaglia and Tsang's method
// (ACM TOMS 2000), boosting shapes below 1 with a uniform power.
func sampleGamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		u := rng.Float64()
		for u == 0 {
			u = rng.Float64()
		}
		return sampleGamma(rng, shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// TraceArrivals takes arrival times from another source, typically a trace
// reader, and ignores its lengths: real burstiness with synthetic shapes.
func TraceArrivals(src Source) Arrivals { return &traceArrivals{src: src} }

type traceArrivals struct {
	src Source
	r   Request
}

func (a *traceArrivals) Next(*rand.Rand) (float64, bool) {
	if !a.src.Next(&a.r) {
		return 0, false
	}
	return a.r.ArrivalS, true
}

// Err reports the underlying source's error.
func (a *traceArrivals) Err() error { return a.src.Err() }
