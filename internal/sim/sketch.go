package sim

import "math"

// Sketch is a streaming distribution of non-negative values: count, exact
// mean, min and max, and quantiles from a log-linear histogram of fixed
// size (64 KiB), whatever the number of values.
//
// Accuracy: each power of two is split into 128 equal buckets and a
// quantile reports its bucket's midpoint, so for values in [2⁻³⁰, 2³⁴)
// (about a nanosecond to 500 years, for seconds) the result is within
// 1/256 ≈ 0.4% of a value of the requested rank. Values outside that range
// land in the end buckets and are clamped to the exact min or max. The rank
// is the nearest rank, ⌈q·n⌉.
//
// Bucketing reads the float's exponent and top mantissa bits directly (as
// HDR histograms do), which costs a few nanoseconds per value.
type Sketch struct {
	counts   []uint64
	n        uint64
	sum      float64
	min, max float64
}

const (
	sketchSubBits = 7
	sketchMinExp  = -30
	sketchMaxExp  = 34
	sketchBuckets = (sketchMaxExp - sketchMinExp) << sketchSubBits
)

// sketchBase is the bucket key of 2^sketchMinExp.
var sketchBase = int(math.Float64bits(math.Ldexp(1, sketchMinExp)) >> (52 - sketchSubBits))

// Add records v; negative values count as 0.
func (s *Sketch) Add(v float64) {
	if s.counts == nil {
		s.counts = make([]uint64, sketchBuckets)
		s.min, s.max = math.Inf(1), math.Inf(-1)
	}
	if !(v > 0) {
		v = 0
	}
	s.n++
	s.sum += v
	if v < s.min {
		s.min = v
	}
	if v > s.max {
		s.max = v
	}
	i := int(math.Float64bits(v)>>(52-sketchSubBits)) - sketchBase
	if i < 0 {
		i = 0
	} else if i >= sketchBuckets {
		i = sketchBuckets - 1
	}
	s.counts[i]++
}

// Count returns the number of values added.
func (s *Sketch) Count() int64 { return int64(s.n) }

// Mean returns the exact mean, or 0 with no values.
func (s *Sketch) Mean() float64 {
	if s.n == 0 {
		return 0
	}
	return s.sum / float64(s.n)
}

// Max returns the largest value, or 0 with no values.
func (s *Sketch) Max() float64 {
	if s.n == 0 {
		return 0
	}
	return s.max
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) within the accuracy above,
// or 0 with no values.
func (s *Sketch) Quantile(q float64) float64 {
	if s.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			lo := math.Float64frombits(uint64(i+sketchBase) << (52 - sketchSubBits))
			hi := math.Float64frombits(uint64(i+1+sketchBase) << (52 - sketchSubBits))
			return math.Min(math.Max((lo+hi)/2, s.min), s.max)
		}
	}
	return s.max
}

// Dist is a summary of a latency distribution, in seconds.
type Dist struct {
	Count int64   `json:"count"`
	MeanS float64 `json:"mean_s"`
	P50S  float64 `json:"p50_s"`
	P90S  float64 `json:"p90_s"`
	P99S  float64 `json:"p99_s"`
	MaxS  float64 `json:"max_s"`
}

// Dist summarises the sketch.
func (s *Sketch) Dist() Dist {
	return Dist{Count: s.Count(), MeanS: s.Mean(), P50S: s.Quantile(0.5), P90S: s.Quantile(0.9), P99S: s.Quantile(0.99), MaxS: s.Max()}
}
