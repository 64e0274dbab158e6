package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Lengths is a distribution of token counts; every sample is at least 1.
type Lengths interface {
	Sample(rng *rand.Rand) int
}

// Fixed returns the distribution that is always n.
func Fixed(n int) (Lengths, error) {
	if n < 1 {
		return nil, fmt.Errorf("workload: fixed length: want at least 1 token (got %d)", n)
	}
	return fixed(n), nil
}

type fixed int

func (f fixed) Sample(*rand.Rand) int { return int(f) }

// Uniform returns integers uniform on [lo, hi], both included.
func Uniform(lo, hi int) (Lengths, error) {
	if lo < 1 || hi < lo {
		return nil, fmt.Errorf("workload: uniform length: want 1 ≤ lo ≤ hi (got lo %d, hi %d)", lo, hi)
	}
	return uniform{lo, hi}, nil
}

type uniform struct{ lo, hi int }

func (u uniform) Sample(rng *rand.Rand) int { return u.lo + rng.IntN(u.hi-u.lo+1) }

// Normal returns a normal distribution of the given mean and standard
// deviation, rounded to integers and truncated to at least 1 by redrawing
// (so the shape above 1 is kept, unlike clamping which piles mass on 1).
func Normal(mean, sd float64) (Lengths, error) {
	if !(mean >= 1) || !(sd >= 0) || math.IsInf(mean+sd, 0) {
		return nil, fmt.Errorf("workload: normal length: want mean ≥ 1 and sd ≥ 0, finite (got mean %v, sd %v)", mean, sd)
	}
	return normal{mean, sd}, nil
}

type normal struct{ mean, sd float64 }

func (n normal) Sample(rng *rand.Rand) int {
	// Redraw a bounded number of times: with mean ≥ 1 each draw is ≥ 0.5
	// with probability at least 1/2, so 64 failures do not happen in
	// practice; the bound only guarantees termination.
	for range 64 {
		v := math.Round(n.mean + n.sd*rng.NormFloat64())
		if v >= 1 {
			return clampInt(v)
		}
	}
	return 1
}

// LogNormal returns a log-normal distribution with the given mean and
// standard deviation of the lengths themselves (not of their logarithm),
// the usual fit for prompt and output lengths. Samples round to integers,
// at least 1.
func LogNormal(mean, sd float64) (Lengths, error) {
	if !(mean >= 1) || !(sd >= 0) || math.IsInf(mean+sd, 0) {
		return nil, fmt.Errorf("workload: lognormal length: want mean ≥ 1 and sd ≥ 0, finite (got mean %v, sd %v)", mean, sd)
	}
	// For X = exp(μ + σZ): E X = exp(μ + σ²/2), Var X = (exp σ² − 1)(E X)².
	s2 := math.Log1p(sd * sd / (mean * mean))
	return logNormal{mu: math.Log(mean) - s2/2, sigma: math.Sqrt(s2)}, nil
}

type logNormal struct{ mu, sigma float64 }

func (l logNormal) Sample(rng *rand.Rand) int {
	v := math.Round(math.Exp(l.mu + l.sigma*rng.NormFloat64()))
	if v < 1 {
		return 1
	}
	return clampInt(v)
}

// Empirical returns a distribution drawing uniformly from samples, e.g. the
// lengths of a trace. It keeps its own sorted copy.
func Empirical(samples []int) (Lengths, error) {
	if len(samples) == 0 {
		return nil, fmt.Errorf("workload: empirical length: want at least one sample (got none)")
	}
	s := slices.Clone(samples)
	for i, v := range s {
		if v < 1 {
			return nil, fmt.Errorf("workload: empirical length: sample %d: want at least 1 token (got %d)", i, v)
		}
	}
	slices.Sort(s) // sorted so equal sample sets give equal streams whatever their order
	return empirical(s), nil
}

type empirical []int

func (e empirical) Sample(rng *rand.Rand) int { return e[rng.IntN(len(e))] }

// clampInt converts a rounded positive float to int without overflow.
func clampInt(v float64) int {
	if v >= math.MaxInt32 {
		return math.MaxInt32
	}
	return int(v)
}
