package page

import (
	"fmt"
	"math"
	"strings"

	"ersatz/internal/report"
)

// The charts are SVG drawn here, not in the browser, so the page shows
// them without scripts and prints as it looks. A chart is plain values
// (boxes, lines, labels) that the template writes as SVG elements; every
// label goes through html/template's escaping.

// Chart is one SVG figure of one or more panels.
type Chart struct {
	ID      string // data-chart, for tests and links
	Title   string
	Caption string
	W, H    int
	Panels  []Panel
	Rects   []Rect
	Lines   []Line
	Dots    []Dot
	Texts   []Text
	Legend  []Legend
	// Marks counts the data marks drawn (bars, bands, points, curves,
	// segments): the elements of class "mark".
	Marks int
}

// Panel is one plotting area with its axes.
type Panel struct {
	Frame          Box
	Title          string
	XLabel, YLabel string
	XTicks, YTicks []Tick
	// YCats are category labels (one per row) instead of a value axis.
	YCats []Tick
}

// Box is a rectangle in SVG units.
type Box struct{ X, Y, W, H float64 }

// Tick is an axis tick at Pos (SVG units) with its label.
type Tick struct {
	Pos   float64
	Label string
}

// Rect is a bar or a band; Mark says whether it is a data mark.
type Rect struct {
	Box
	Class string
	Color string
	Title string
	Mark  bool
}

// Line is a polyline or a rule.
type Line struct {
	Points string
	Class  string
	Title  string
	Mark   bool
	Color  string
}

// Dot is a data point.
type Dot struct {
	X, Y, R float64
	Class   string
	Title   string
	Color   string
	Mark    bool
}

// Text is a label.
type Text struct {
	X, Y   float64
	S      string
	Anchor string // start | middle | end
	Class  string
}

// Legend is one entry of a chart's key.
type Legend struct {
	Label string
	Class string
	Color string
}

// scale maps data to SVG units, linear or logarithmic.
type scale struct {
	lo, hi   float64 // data
	a, b     float64 // SVG
	log      bool
	reversed bool
}

func (s scale) at(v float64) float64 {
	lo, hi := s.lo, s.hi
	if s.log {
		v, lo, hi = math.Log10(math.Max(v, 1e-12)), math.Log10(lo), math.Log10(hi)
	}
	f := 0.0
	if hi > lo {
		f = (v - lo) / (hi - lo)
	}
	f = math.Max(0, math.Min(1, f))
	return s.a + f*(s.b-s.a)
}

// niceTicks returns about n round values spanning [lo, hi] and the range
// they cover.
func niceTicks(lo, hi float64, n int) (ticks []float64, tlo, thi float64) {
	if !(hi > lo) {
		hi = lo + 1
	}
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/float64(n))))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if (hi-lo)/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	tlo, thi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	for v := tlo; v <= thi+step/2; v += step {
		ticks = append(ticks, math.Round(v/step)*step)
	}
	return ticks, tlo, thi
}

// logTicks returns 1-2-5 values spanning [lo, hi].
func logTicks(lo, hi float64) (ticks []float64, tlo, thi float64) {
	lo, hi = math.Max(lo, 1e-9), math.Max(hi, lo*1.01)
	tlo = math.Pow(10, math.Floor(math.Log10(lo)))
	thi = math.Pow(10, math.Ceil(math.Log10(hi)))
	for d := tlo; d < thi*1.001; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := d * m; v >= tlo && v <= thi*1.001 {
				ticks = append(ticks, v)
			}
		}
	}
	// Trim the decades the data does not reach, keeping one tick each side.
	first, last := 0, len(ticks)-1
	for first+1 < len(ticks) && ticks[first+1] <= lo {
		first++
	}
	for last-1 >= 0 && ticks[last-1] >= hi {
		last--
	}
	ticks = ticks[first : last+1]
	return ticks, ticks[0], ticks[len(ticks)-1]
}

func pts(xy ...float64) string {
	var b strings.Builder
	for i := 0; i+1 < len(xy); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", xy[i], xy[i+1])
	}
	return b.String()
}

func num(v float64) string { return report.Num(v, 3) }

// ms formats seconds as milliseconds, or seconds from 1 s up.
func ms(s float64) string {
	if s >= 1 {
		return report.Num(s, 3) + " s"
	}
	return report.Num(s*1e3, 3) + " ms"
}

// axes fills a panel's ticks from its scales.
func (p *Panel) axes(x, y *scale, xt, yt []float64, xf, yf func(float64) string) {
	if x != nil {
		for _, v := range xt {
			p.XTicks = append(p.XTicks, Tick{x.at(v), xf(v)})
		}
	}
	if y != nil {
		for _, v := range yt {
			p.YTicks = append(p.YTicks, Tick{y.at(v), yf(v)})
		}
	}
}

// count tallies the data marks.
func (c *Chart) count() {
	c.Marks = 0
	for _, r := range c.Rects {
		if r.Mark {
			c.Marks++
		}
	}
	for _, l := range c.Lines {
		if l.Mark {
			c.Marks++
		}
	}
	for _, d := range c.Dots {
		if d.Mark {
			c.Marks++
		}
	}
}
