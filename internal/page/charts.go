package page

import (
	"fmt"
	"math"
	"sort"

	"ersatz/internal/perf"
	"ersatz/internal/plan"
)

// palette colours the curves; the first is the recommendation's.
var palette = []string{"#0f7b55", "#2f6fb3", "#c0392b", "#8e44ad", "#d08a1d", "#555555"}

// entry is one plan on a chart, with its role.
type entry struct {
	p     *plan.Plan
	label string
	role  string // recommended | allow | review | deny | pair | baseline
	// allowed says whether the policy allows the plan's chips; chip names
	// the point on a chart.
	allowed bool
	chip    string
}

func entries(res *plan.Result) []entry {
	var out []entry
	if br := res.Baseline; br != nil {
		out = append(out, entry{p: br.Plan, label: fmt.Sprintf("%s (now)", br.Chip), role: "baseline", chip: br.Chip + " now"})
	}
	for _, c := range res.Chips {
		if c.Best == nil {
			continue
		}
		role := decision(c.Decision)
		if c.Best == res.Recommended {
			role = "recommended"
		}
		out = append(out, entry{p: c.Best, label: c.Chip, role: role, allowed: role != "deny", chip: c.Chip})
	}
	return out
}

// costChart is $/h per chip beside each plan's TPOT with its band and the
// target, one row per chip in the table's order.
func costChart(res *plan.Result) *Chart {
	es := entries(res)
	if len(es) == 0 {
		return nil
	}
	const rowH, top, left, gap, right = 20.0, 34.0, 150.0, 60.0, 24.0
	w := 960.0
	h := top + rowH*float64(len(es)) + 40
	pw := (w - left - gap - right) / 2
	c := &Chart{ID: "cost", Title: "Cost and latency per chip",
		Caption: "Left: cost per hour of each chip's best plan. Right: its TPOT at the target percentile; the whisker is the band from uncertain inputs, the dashed line the target.",
		W:       int(w), H: int(h)}
	maxCost, maxTPOT := 0.0, res.SLO.TPOTS
	for _, e := range es {
		maxCost = math.Max(maxCost, e.p.CostUSDPerHour)
		maxTPOT = math.Max(maxTPOT, e.p.TPOTS)
	}
	// The band may run far past the target; the axis stops at twice the
	// target or the largest point, and longer whiskers are clipped.
	maxTPOT = math.Max(maxTPOT, 2*res.SLO.TPOTS)
	ct, _, chi := niceTicks(0, maxCost, 5)
	tt, _, thi := niceTicks(0, maxTPOT*1e3, 5)
	cost := &scale{lo: 0, hi: chi, a: left, b: left + pw}
	tpot := &scale{lo: 0, hi: thi, a: left + pw + gap, b: w - right}
	frameH := rowH * float64(len(es))
	p1 := Panel{Frame: Box{left, top, pw, frameH}, Title: "$ per hour", XLabel: "$/h"}
	p2 := Panel{Frame: Box{left + pw + gap, top, pw, frameH}, Title: fmt.Sprintf("TPOT p%g (ms)", res.SLO.Percentile), XLabel: "ms"}
	p1.axes(cost, nil, ct, nil, num, nil)
	p2.axes(tpot, nil, tt, nil, num, nil)
	for i, e := range es {
		y := top + rowH*float64(i)
		p1.YCats = append(p1.YCats, Tick{y + rowH/2, e.label})
		x1 := cost.at(e.p.CostUSDPerHour)
		c.Rects = append(c.Rects, Rect{Box: Box{left, y + 3, math.Max(x1-left, 1), rowH - 6}, Class: "bar " + e.role, Mark: true,
			Title: fmt.Sprintf("%s: $%s/h, %d chips, %s kW", e.label, num(e.p.CostUSDPerHour), e.p.ChipsTotal, num(e.p.PowerKW))})
		c.Texts = append(c.Texts, Text{X: x1 + 4, Y: y + rowH/2 + 4, S: "$" + num(e.p.CostUSDPerHour), Class: "val"})
		lo, hi, mid := tpot.at(e.p.TPOTLowS*1e3), tpot.at(e.p.TPOTHighS*1e3), tpot.at(e.p.TPOTS*1e3)
		c.Lines = append(c.Lines, Line{Points: pts(lo, y+rowH/2, hi, y+rowH/2), Class: "whisker " + e.role, Mark: true,
			Title: fmt.Sprintf("%s: TPOT %s (band %s–%s)", e.label, ms(e.p.TPOTS), ms(e.p.TPOTLowS), ms(e.p.TPOTHighS))})
		c.Dots = append(c.Dots, Dot{X: mid, Y: y + rowH/2, R: 4, Class: "pt " + e.role})
	}
	if res.SLO.TPOTS > 0 {
		x := tpot.at(res.SLO.TPOTS * 1e3)
		c.Lines = append(c.Lines, Line{Points: pts(x, top, x, top+frameH), Class: "target", Title: "TPOT target " + ms(res.SLO.TPOTS)})
	}
	c.Panels = []Panel{p1, p2}
	c.Legend = legend(es)
	c.count()
	return c
}

func legend(es []entry) []Legend {
	names := map[string]string{"recommended": "recommended", "allow": "allowed", "review": "needs review", "deny": "denied by the policy",
		"pair": "prefill on one chip, decode on another", "baseline": "the fleet run now"}
	seen := map[string]bool{}
	var out []Legend
	for _, role := range []string{"recommended", "allow", "review", "deny", "pair", "baseline"} {
		for _, e := range es {
			if e.role == role && !seen[role] {
				seen[role] = true
				out = append(out, Legend{Label: names[role], Class: role})
			}
		}
	}
	return out
}

// paretoChart is every plan's cost against its TPOT, with the frontier
// of plans no other beats on both.
func paretoChart(res *plan.Result) *Chart {
	es := entries(res)
	allowed := map[string]bool{}
	for _, c := range res.Chips {
		d := decision(c.Decision)
		allowed[c.Chip] = d != "deny"
		for _, o := range c.Others {
			es = append(es, entry{p: o, label: c.Chip + " (alternative)", role: d, allowed: d != "deny", chip: c.Chip})
		}
	}
	for _, p := range res.CrossChip {
		ok := allowed[p.Chip] && allowed[p.PrefillChip]
		role := "pair"
		switch {
		case p == res.Recommended:
			role = "recommended"
		case !ok:
			role = "deny"
		}
		es = append(es, entry{p: p, label: chipLabel(p), role: role, allowed: ok, chip: chipLabel(p)})
	}
	if len(es) == 0 {
		return nil
	}
	const w, h, left, top, right, bottom = 960.0, 420.0, 70.0, 30.0, 30.0, 50.0
	c := &Chart{ID: "pareto", Title: "Cost against latency",
		Caption: "Every plan found, its cost per hour (log scale) against its TPOT; below and to the left is better. The line joins the plans the policy allows that no other allowed plan beats on both.",
		W:       int(w), H: int(h)}
	lo, hi, tmax := math.Inf(1), 0.0, res.SLO.TPOTS
	for _, e := range es {
		lo, hi = math.Min(lo, e.p.CostUSDPerHour), math.Max(hi, e.p.CostUSDPerHour)
		tmax = math.Max(tmax, e.p.TPOTS)
	}
	xt, xlo, xhi := logTicks(lo, hi)
	yt, _, yhi := niceTicks(0, tmax*1e3*1.05, 5)
	x := &scale{lo: xlo, hi: xhi, a: left, b: w - right, log: true}
	y := &scale{lo: 0, hi: yhi, a: h - bottom, b: top}
	p := Panel{Frame: Box{left, top, w - left - right, h - top - bottom}, XLabel: "$ per hour (log)", YLabel: fmt.Sprintf("TPOT p%g (ms)", res.SLO.Percentile)}
	p.axes(x, y, xt, yt, num, num)
	c.Panels = []Panel{p}
	// Draw the denied first so the allowed sit on top.
	sort.SliceStable(es, func(i, j int) bool { return es[i].role == "deny" && es[j].role != "deny" })
	for _, e := range es {
		r := 4.5
		if e.role == "recommended" || e.role == "baseline" {
			r = 7
		}
		c.Dots = append(c.Dots, Dot{X: x.at(e.p.CostUSDPerHour), Y: y.at(e.p.TPOTS * 1e3), R: r, Class: "pt " + e.role, Mark: true,
			Title: fmt.Sprintf("%s: $%s/h, TPOT %s, %d chips", e.label, num(e.p.CostUSDPerHour), ms(e.p.TPOTS), e.p.ChipsTotal)})
	}
	var permitted []entry
	for _, e := range es {
		if e.allowed {
			permitted = append(permitted, e)
		}
	}
	front := frontier(permitted)
	var xy []float64
	var labelled []Text
	label := func(e entry, dy float64, anchor string) {
		px, py := x.at(e.p.CostUSDPerHour), y.at(e.p.TPOTS*1e3)
		t := Text{X: px, Y: py + dy, S: e.chip, Class: "lab", Anchor: anchor}
		if anchor == "" {
			t.X += 9
		}
		for _, o := range labelled {
			if o.S == t.S || math.Abs(o.Y-t.Y) < 13 && math.Abs(o.X-t.X) < 90 {
				return // a label there already; the tooltip names the point
			}
		}
		labelled = append(labelled, t)
	}
	for _, e := range es {
		switch e.role {
		case "recommended":
			label(e, -13, "middle")
		case "baseline":
			label(e, 21, "middle")
		}
	}
	for _, e := range front {
		xy = append(xy, x.at(e.p.CostUSDPerHour), y.at(e.p.TPOTS*1e3))
		label(e, 4, "")
	}
	c.Texts = append(c.Texts, labelled...)
	if len(xy) >= 4 {
		c.Lines = append(c.Lines, Line{Points: pts(xy...), Class: "frontier", Title: "Pareto frontier"})
	}
	if res.SLO.TPOTS > 0 {
		yy := y.at(res.SLO.TPOTS * 1e3)
		c.Lines = append(c.Lines, Line{Points: pts(left, yy, w-right, yy), Class: "target", Title: "TPOT target " + ms(res.SLO.TPOTS)})
	}
	c.Legend = legend(es)
	c.count()
	return c
}

// frontier returns the plans no other is both cheaper and faster than,
// cheapest first.
func frontier(es []entry) []entry {
	s := append([]entry(nil), es...)
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].p.CostUSDPerHour != s[j].p.CostUSDPerHour {
			return s[i].p.CostUSDPerHour < s[j].p.CostUSDPerHour
		}
		return s[i].p.TPOTS < s[j].p.TPOTS
	})
	var out []entry
	best := math.Inf(1)
	for _, e := range s {
		if e.p.TPOTS < best {
			out = append(out, e)
			best = e.p.TPOTS
		}
	}
	return out
}

// curveCharts are TPOT and TTFT against the arrival rate for the top
// plans, each curve ending where its plan saturates, with the band of the
// first (the recommendation) shaded.
func curveCharts(res *plan.Result, curves []Curve) []*Chart {
	if len(curves) == 0 {
		return nil
	}
	pct := res.SLO.Percentile
	mk := func(id, title, ylabel string, val, lo, hi func(plan.CurvePoint) float64, target float64) *Chart {
		const w, h, left, top, right, bottom = 470.0, 330.0, 64.0, 24.0, 16.0, 48.0
		c := &Chart{ID: id, Title: title, W: int(w), H: int(h)}
		xmax, ymax := 0.0, target
		for _, cv := range curves {
			for _, pt := range cv.Points {
				if pt.Saturated {
					continue
				}
				xmax = math.Max(xmax, pt.RatePerS)
				ymax = math.Max(ymax, val(pt))
			}
		}
		ymax = math.Min(ymax, math.Max(3*target, 1e-9))
		if target == 0 {
			ymax = 0
			for _, cv := range curves {
				for _, pt := range cv.Points {
					if !pt.Saturated {
						ymax = math.Max(ymax, val(pt))
					}
				}
			}
		}
		xt, _, xhi := niceTicks(0, xmax, 5)
		yt, _, yhi := niceTicks(0, ymax*1e3*1.05, 5)
		x := &scale{lo: 0, hi: xhi, a: left, b: w - right}
		y := &scale{lo: 0, hi: yhi, a: h - bottom, b: top}
		p := Panel{Frame: Box{left, top, w - left - right, h - top - bottom}, XLabel: "arrival rate (req/s)", YLabel: ylabel}
		p.axes(x, y, xt, yt, num, num)
		c.Panels = []Panel{p}
		for i, cv := range curves {
			color := palette[i%len(palette)]
			var line, band []float64
			var bandLo []float64
			for _, pt := range cv.Points {
				if pt.Saturated {
					break
				}
				line = append(line, x.at(pt.RatePerS), y.at(val(pt)*1e3))
				band = append(band, x.at(pt.RatePerS), y.at(hi(pt)*1e3))
				bandLo = append([]float64{x.at(pt.RatePerS), y.at(lo(pt) * 1e3)}, bandLo...)
			}
			if len(line) < 2 {
				continue
			}
			if i == 0 && len(line) >= 4 {
				c.Lines = append(c.Lines, Line{Points: pts(append(band, bandLo...)...), Class: "band", Color: color, Title: cv.Label + ": band"})
			}
			c.Lines = append(c.Lines, Line{Points: pts(line...), Class: "curve " + cv.Role, Color: color, Mark: true, Title: cv.Label})
			for j := 0; j+1 < len(line); j += 2 {
				c.Dots = append(c.Dots, Dot{X: line[j], Y: line[j+1], R: 2.5, Class: "cpt", Color: color})
			}
			c.Legend = append(c.Legend, Legend{Label: cv.Label, Color: color})
		}
		if target > 0 {
			yy := y.at(target * 1e3)
			c.Lines = append(c.Lines, Line{Points: pts(left, yy, w-right, yy), Class: "target", Title: "target " + ms(target)})
		}
		if r := res.Traffic.RatePerS; r > 0 {
			xx := x.at(r)
			c.Lines = append(c.Lines, Line{Points: pts(xx, top, xx, h-bottom), Class: "rule", Title: fmt.Sprintf("planned rate %s req/s", num(r))})
		}
		c.count()
		return c
	}
	tp := mk("tpot-curve", "TPOT against load", fmt.Sprintf("TPOT p%g (ms)", pct),
		func(p plan.CurvePoint) float64 { return p.TPOTS }, func(p plan.CurvePoint) float64 { return p.TPOTLowS }, func(p plan.CurvePoint) float64 { return p.TPOTHighS }, res.SLO.TPOTS)
	tf := mk("ttft-curve", "TTFT against load", fmt.Sprintf("TTFT p%g (ms)", pct),
		func(p plan.CurvePoint) float64 { return p.TTFTS }, func(p plan.CurvePoint) float64 { return p.TTFTLowS }, func(p plan.CurvePoint) float64 { return p.TTFTHighS }, res.SLO.TTFTS)
	tp.Caption = "Each top plan, as sized, at lower and higher arrival rates; a curve ends where its plan saturates. The shaded band is the recommendation's; the vertical line is the planned rate, the dashed line the target."
	tf.Caption = tp.Caption
	return []*Chart{tp, tf}
}

// parts of a step, in a fixed order with their colours.
var parts = []struct {
	name, color string
	get         func(s *perf.Step) perf.Part
}{
	{"projections", "#2f6fb3", func(s *perf.Step) perf.Part { return s.Projections }},
	{"FFN", "#5b8fd1", func(s *perf.Step) perf.Part { return s.FFN }},
	{"experts", "#0f7b55", func(s *perf.Step) perf.Part { return s.Experts }},
	{"attention", "#d08a1d", func(s *perf.Step) perf.Part { return s.Attention }},
	{"elementwise", "#9aa5b1", func(s *perf.Step) perf.Part { return s.Elementwise }},
	{"LM head", "#8e44ad", func(s *perf.Step) perf.Part { return s.LMHead }},
	{"draft", "#b565a7", func(s *perf.Step) perf.Part { return s.Draft }},
	{"TP all-reduce", "#c0392b", func(s *perf.Step) perf.Part { return s.TPComm }},
	{"EP all-to-all", "#e67e22", func(s *perf.Step) perf.Part { return s.EPComm }},
	{"PP transfer", "#a04000", func(s *perf.Step) perf.Part { return s.PPComm }},
	{"overhead", "#555555", func(s *perf.Step) perf.Part { return s.Overhead }},
}

// stepChart stacks each pool's mean step by component.
func stepChart(pools []perf.Pool) *Chart {
	if len(pools) == 0 {
		return nil
	}
	const w, left, right, top, rowH = 960.0, 150.0, 64.0, 24.0, 34.0
	h := top + rowH*float64(len(pools)) + 44
	c := &Chart{ID: "step", Title: "What one step of the recommendation spends its time on",
		Caption: "The mean engine step of each pool at the planned load, by component; hover a segment for its time and its bound (compute, memory, network or overhead).",
		W:       int(w), H: int(h)}
	// Each pool's step is a bar of its own length, 100%: a prefill step
	// can be twenty times a decode step, and the shares are what differ.
	x := &scale{lo: 0, hi: 100, a: left, b: w - right}
	pn := Panel{Frame: Box{left, top, w - left - right, rowH * float64(len(pools))}, XLabel: "share of the step (%); the step's length at the right"}
	pn.axes(x, nil, []float64{0, 20, 40, 60, 80, 100}, nil, num, nil)
	used := map[string]bool{}
	for i, p := range pools {
		y := top + rowH*float64(i)
		what := fmt.Sprintf("%s, batch %s", p.Role, num(p.Batch))
		if p.Role == "prefill" {
			what = fmt.Sprintf("prefill, %s tokens", num(p.Batch))
		}
		pn.YCats = append(pn.YCats, Tick{y + rowH/2, what})
		at := 0.0
		st := p.Step
		for _, part := range parts {
			pt := part.get(&st)
			sec := float64(pt.Seconds)
			if sec <= 0 {
				continue
			}
			x0, x1 := x.at(100*at/float64(st.Total)), x.at(100*(at+sec)/float64(st.Total))
			at += sec
			used[part.name] = true
			c.Rects = append(c.Rects, Rect{Box: Box{x0, y + 5, math.Max(x1-x0, 0.5), rowH - 10}, Class: "seg", Color: part.color, Mark: true,
				Title: fmt.Sprintf("%s %s: %s (%.0f%%, %s-bound)", p.Role, part.name, ms(sec), 100*sec/float64(st.Total), pt.Bound)})
		}
		c.Texts = append(c.Texts, Text{X: w - right + 4, Y: y + rowH/2 + 4, S: ms(float64(st.Total)), Class: "val"})
	}
	c.Panels = []Panel{pn}
	for _, part := range parts {
		if used[part.name] {
			c.Legend = append(c.Legend, Legend{Label: part.name, Color: part.color})
		}
	}
	c.count()
	return c
}
