// Package units names the physical quantities ersatz computes with.
//
// Every quantity is a float64 in SI base units (bytes, FLOP, seconds) behind
// a named type, so a bandwidth cannot be added to a capacity by accident and
// a reader always knows the unit. Catalog files use the units vendors print
// (TFLOPS, GB, TB/s); conversion happens once, at load time.
package units

import (
	"fmt"
	"math"
	"strconv"
)

// Bytes is a size in bytes.
type Bytes float64

// FLOPs is a count of floating-point (or integer) operations; one
// multiply-add is two.
type FLOPs float64

// FLOPSRate is operations per second.
type FLOPSRate float64

// BytesPerSecond is a bandwidth. Where it describes a link, the field or
// variable name says whether it is per direction.
type BytesPerSecond float64

// Seconds is a duration in seconds. ersatz uses float seconds instead of
// time.Duration because model arithmetic needs fractions of a nanosecond.
type Seconds float64

// Watts is power.
type Watts float64

// Decimal multiples, as vendors use them (1 GB = 1e9 B, 1 TB/s = 1e12 B/s).
const (
	Kilo = 1e3
	Mega = 1e6
	Giga = 1e9
	Tera = 1e12
	Peta = 1e15
	GiB  = 1 << 30
)

// Time returns how long work takes at rate.
func (f FLOPs) Time(rate FLOPSRate) Seconds {
	if rate <= 0 {
		return Seconds(math.Inf(1))
	}
	return Seconds(float64(f) / float64(rate))
}

// Time returns how long moving b takes at bw.
func (b Bytes) Time(bw BytesPerSecond) Seconds {
	if bw <= 0 {
		return Seconds(math.Inf(1))
	}
	return Seconds(float64(b) / float64(bw))
}

// Milliseconds returns s in milliseconds.
func (s Seconds) Milliseconds() float64 { return float64(s) * 1e3 }

// Microseconds returns s in microseconds.
func (s Seconds) Microseconds() float64 { return float64(s) * 1e6 }

// String formats s with a unit that keeps three significant digits.
func (s Seconds) String() string {
	v := float64(s)
	switch a := math.Abs(v); {
	case a == 0:
		return "0s"
	case a < 1e-3:
		return fmt.Sprintf("%.3gµs", v*1e6)
	case a < 1:
		return fmt.Sprintf("%.3gms", v*1e3)
	default:
		return fmt.Sprintf("%.3gs", v)
	}
}

// String formats b in decimal units (GB), as datasheets do.
func (b Bytes) String() string { return scale(float64(b), "B") }

// String formats r as FLOP/s with a decimal prefix.
func (r FLOPSRate) String() string { return scale(float64(r), "FLOP/s") }

// String formats bw with a decimal prefix.
func (bw BytesPerSecond) String() string { return scale(float64(bw), "B/s") }

// GB returns b in decimal gigabytes.
func (b Bytes) GB() float64 { return float64(b) / Giga }

// GiB returns b in binary gibibytes.
func (b Bytes) GiB() float64 { return float64(b) / GiB }

// scale formats v with an SI prefix so that the mantissa is below 1000,
// printing three significant digits and never "1000k" (the threshold is
// checked on the rounded value, as benchunit does).
func scale(v float64, unit string) string {
	prefixes := []string{"", "k", "M", "G", "T", "P", "E"}
	a := math.Abs(v)
	i := 0
	for i < len(prefixes)-1 && a >= 1000 {
		a /= 1000
		v /= 1000
		i++
	}
	s := fmt.Sprintf("%.3g", v)
	if s == "1e+03" || s == "-1e+03" {
		if i < len(prefixes)-1 {
			v /= 1000
			i++
			s = fmt.Sprintf("%.3g", v)
		}
	}
	return s + " " + prefixes[i] + unit
}

// MarshalJSON writes s as a number of seconds, and an infinite or
// undefined duration (a queue that never drains) as null, which JSON can
// carry where +Inf cannot.
func (s Seconds) MarshalJSON() ([]byte, error) {
	v := float64(s)
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}
