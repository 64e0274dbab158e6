// Package page renders a plan as one self-contained HTML page: the
// answer and why, the ban impact, charts of cost, latency and load, the
// step behind the recommendation, the per-chip table and every estimate
// and source the answer rests on. CSS, script and SVG are inline; nothing
// is fetched. Every string from a catalog, a policy or a config reaches
// the page through html/template, which escapes it.
package page

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"

	"ersatz/internal/hardware"
	"ersatz/internal/perf"
	"ersatz/internal/plan"
	"ersatz/internal/policy"
	"ersatz/internal/report"
)

//go:embed assets/page.html
var pageHTML string

//go:embed assets/style.css
var styleCSS string

//go:embed assets/sort.js
var sortJS string

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"num":  num,
	"ms":   ms,
	"add":  func(a, b float64) float64 { return a + b },
	"half": func(a float64) float64 { return a / 2 },
}).Parse(pageHTML))

// Report is what a page shows; the caller computes it.
type Report struct {
	// Command is the command line that produced the plan.
	Command string
	Version string
	Result  *plan.Result
	Catalog *hardware.Catalog
	// Words are the caller's sentences for the plan's values: the page
	// writes none of its own about the answer.
	Words Words
	// Curves are the top plans' latency against load.
	Curves []Curve
	// Steps are the recommended plan's pools at the planned load.
	Steps []perf.Pool
}

// Words are the sentences and labels the command line prints for a plan.
type Words struct {
	Answer  string // the one-sentence answer against the fleet, if any
	Why     string
	Binding func(plan.Binding) string
}

// Curve is one plan's latency at several rates.
type Curve struct {
	Label   string
	Role    string // recommended | allowed | denied | baseline
	Planned float64
	Points  []plan.CurvePoint
}

// Write renders the report.
func Write(w io.Writer, r *Report) error {
	v, err := build(r)
	if err != nil {
		return err
	}
	if err := tmpl.Execute(w, v); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

type view struct {
	*Report
	CSS       template.CSS
	JS        template.JS
	Title     string
	Subtitle  string
	Headline  string
	Answer    bool
	Why       string
	Cards     []card
	Impacts   []impactView
	Charts    []*Chart
	Header    []string
	Rows      []row
	Cross     []row
	NoPlan    []string
	Estimates []string
	Sources   []chipSources
	Decisions []decisionRow
	Model     string
	Notes     []string
}

type card struct{ Label, Value, Sub string }

type impactView struct {
	Title   string
	Columns [2]string
	Rows    [][4]string
}

type cell struct {
	Text, Sort, Class, Title string
}

type row struct {
	Class string
	Cells []cell
}

type chipSources struct {
	Chip, Name string
	Rows       []sourceRow
}

type sourceRow struct {
	Field, Value, Confidence, Source, URL, Date, Note string
}

// decisionRow is one policy decision and the chips it applies to.
type decisionRow struct {
	Decision string
	Chips    []chipRef
}

type chipRef struct{ ID, Name string }

func build(r *Report) (*view, error) {
	res := r.Result
	if res == nil {
		return nil, fmt.Errorf("writing the report: no plan result")
	}
	v := &view{Report: r, CSS: template.CSS(styleCSS), JS: template.JS(sortJS), Model: res.Model}
	t := res.Traffic
	pct := fmt.Sprintf("p%g", res.SLO.Percentile)
	v.Title = "What to run " + res.Model + " on"
	var targets []string
	if res.SLO.TTFTS > 0 {
		targets = append(targets, "TTFT "+pct+" ≤ "+ms(res.SLO.TTFTS))
	}
	if res.SLO.TPOTS > 0 {
		targets = append(targets, "TPOT "+pct+" ≤ "+ms(res.SLO.TPOTS))
	}
	v.Subtitle = fmt.Sprintf("%s req/s of %.0f → %.0f tokens · %s · policy %s · objective %s",
		num(t.RatePerS), t.InputTokens, t.OutputTokens, strings.Join(targets, ", "), res.Policy, res.Objective)
	rec := res.Recommended
	switch {
	case r.Words.Answer != "":
		v.Headline, v.Answer = r.Words.Answer, true
	case rec != nil:
		v.Headline = fmt.Sprintf("Recommended under %s: %d × %s in %d %s servers, %s at %s weights: $%s/h, %s kW, $%s per million output tokens.",
			res.Policy, rec.ChipsTotal, chipLabel(rec), rec.Nodes, rec.Node, rec.Serving, rec.Weights,
			num(rec.CostUSDPerHour), num(rec.PowerKW), num(rec.USDPerMTokens))
	default:
		v.Headline = "No plan meets the targets under " + res.Policy + "."
	}
	v.Why = r.Words.Why
	v.cards(res)
	v.impacts(res)
	v.table(res)
	v.sources(r)
	if c := costChart(res); c != nil {
		v.Charts = append(v.Charts, c)
	}
	if c := paretoChart(res); c != nil {
		v.Charts = append(v.Charts, c)
	}
	v.Charts = append(v.Charts, curveCharts(res, r.Curves)...)
	if c := stepChart(r.Steps); c != nil {
		v.Charts = append(v.Charts, c)
	}
	v.Estimates = res.Estimates
	bands := "Latency bands come from the uncertainty of each chip's numbers (datasheet, paper, press or estimate) and of the model's parameters: low and high are the predictions with optimistic and pessimistic inputs."
	if res.BandLevel > 0 {
		bands = fmt.Sprintf("Latency bands are %.0f%% intervals: the uncertainty of each chip's numbers (datasheet, paper, press or estimate) and of the model's parameters, with the model's measured error for the engine on the chip's family (docs/accuracy.md).", res.BandLevel*100)
	}
	if res.Confidence > 0 {
		bands += fmt.Sprintf(" A plan passes only if it meets its targets at the pessimistic edge of its %.0f%% band.", res.Confidence*100)
	}
	v.Notes = []string{
		bands,
		"Plans are screened with the analytic model; " + verifiedNote(res),
	}
	return v, nil
}

func verifiedNote(res *plan.Result) string {
	n, sim := 0, 0
	for _, c := range res.Chips {
		if c.Best != nil {
			n++
			if c.Best.Verified != nil && c.Best.Verified.Requests > 0 {
				sim++
			}
		}
	}
	if sim == 0 {
		return "none was re-checked with the simulator (--verify 0)."
	}
	return fmt.Sprintf("%d of the %d per-chip plans were re-checked by simulating the same traffic.", sim, n)
}

func chipLabel(p *plan.Plan) string {
	if p.PrefillChip != "" {
		return p.PrefillChip + " → " + p.Chip
	}
	return p.Chip
}

func (v *view) cards(res *plan.Result) {
	rec := res.Recommended
	if rec == nil {
		return
	}
	pct := fmt.Sprintf("p%g", res.SLO.Percentile)
	var base *plan.Plan
	if res.Baseline != nil {
		base = res.Baseline.Plan
	}
	sub := func(f func(p *plan.Plan) string) string {
		if base == nil {
			return ""
		}
		return "now " + f(base)
	}
	v.Cards = []card{
		{"chips", fmt.Sprintf("%d × %s", rec.ChipsTotal, chipLabel(rec)), sub(func(p *plan.Plan) string { return fmt.Sprintf("%d × %s", p.ChipsTotal, p.Chip) })},
		{"servers", fmt.Sprint(rec.Nodes), sub(func(p *plan.Plan) string { return fmt.Sprint(p.Nodes) })},
		{"cost", "$" + num(rec.CostUSDPerHour) + "/h", sub(func(p *plan.Plan) string { return "$" + num(p.CostUSDPerHour) + "/h" })},
		{"power", num(rec.PowerKW) + " kW", sub(func(p *plan.Plan) string { return num(p.PowerKW) + " kW" })},
		{"TTFT " + pct, ms(rec.TTFTS), "band " + ms(rec.TTFTLowS) + "–" + ms(rec.TTFTHighS)},
		{"TPOT " + pct, ms(rec.TPOTS), "band " + ms(rec.TPOTLowS) + "–" + ms(rec.TPOTHighS)},
	}
}

func (v *view) impacts(res *plan.Result) {
	pct := fmt.Sprintf("p%g", res.SLO.Percentile)
	add := func(title string, im *plan.Impact, with, without string) {
		if im == nil || im.With == nil || im.Without == nil {
			return
		}
		signed := func(x float64, unit string) string {
			s := report.Num(x, 3)
			if x > 0 {
				s = "+" + s
			}
			return s + unit
		}
		a, b := im.With, im.Without
		v.Impacts = append(v.Impacts, impactView{Title: title, Columns: [2]string{with, without}, Rows: [][4]string{
			{"chip", chipLabel(a), chipLabel(b), ""},
			{"chips", fmt.Sprint(a.ChipsTotal), fmt.Sprint(b.ChipsTotal), signed(float64(im.DeltaChips), "")},
			{"servers", fmt.Sprint(a.Nodes), fmt.Sprint(b.Nodes), signed(float64(a.Nodes-b.Nodes), "")},
			{"$/h", num(a.CostUSDPerHour), num(b.CostUSDPerHour), fmt.Sprintf("%s (×%.2f)", signed(im.DeltaCost, ""), im.CostRatio)},
			{"kW", num(a.PowerKW), num(b.PowerKW), signed(im.DeltaPowerKW, "")},
			{"TTFT " + pct, ms(a.TTFTS), ms(b.TTFTS), signed(im.DeltaTTFTS*1e3, " ms")},
			{"TPOT " + pct, ms(a.TPOTS), ms(b.TPOTS), signed(im.DeltaTPOTS*1e3, " ms")},
		}})
	}
	if br := res.Baseline; br != nil {
		add(fmt.Sprintf("Against the fleet run now (%d × %s)", br.Count, br.Chip), br.Impact, "with "+res.Policy, "now")
	}
	if im := res.Impact; im != nil {
		add("Ban impact: "+im.Policy+" against no policy", im, "with "+im.Policy, "without")
	}
}

// table is the per-chip table, with a sort key in every numeric cell.
func (v *view) table(res *plan.Result) {
	pct := fmt.Sprintf("p%g", res.SLO.Percentile)
	br := res.Baseline
	vsName := ""
	if br != nil {
		vsName = "vs " + br.Chip
	}
	v.Header = []string{"chip", "policy", "chips", "servers", "$/h", "kW", "$/Mtok", "TTFT " + pct, "TPOT " + pct, vsName, "weights", "instance", "binding", "simulated"}
	if br == nil {
		v.Header = append(v.Header[:9], v.Header[10:]...)
	}
	mk := func(p *plan.Plan, policy string, vs *plan.Replacement) row {
		cls := "policy-" + policy
		if p == res.Recommended {
			cls += " recommended"
		}
		f := func(x float64) string { return fmt.Sprintf("%.6g", x) }
		shape := fmt.Sprintf("%d× %s", p.Replicas, short(p.Layout))
		if p.Serving == "disaggregated" {
			shape = fmt.Sprintf("P %d× %s, D %d× %s", p.PrefillReplicas, short(p.PrefillLayout), p.Replicas, short(p.Layout))
		}
		weights := p.Weights
		if p.PrefillWeights != "" {
			weights = p.PrefillWeights + "/" + p.Weights
		}
		cells := []cell{
			{Text: chipLabel(p), Sort: chipLabel(p), Class: "chip", Title: chipName(v.Catalog, p.Chip)},
			{Text: policy, Sort: policy},
			{Text: fmt.Sprint(p.ChipsTotal), Sort: f(float64(p.ChipsTotal)), Class: "n"},
			{Text: fmt.Sprint(p.Nodes), Sort: f(float64(p.Nodes)), Class: "n"},
			{Text: num(p.CostUSDPerHour), Sort: f(p.CostUSDPerHour), Class: "n"},
			{Text: num(p.PowerKW), Sort: f(p.PowerKW), Class: "n"},
			{Text: num(p.USDPerMTokens), Sort: f(p.USDPerMTokens), Class: "n"},
			{Text: ms(p.TTFTS), Sort: f(p.TTFTS), Class: "n", Title: "band " + ms(p.TTFTLowS) + "–" + ms(p.TTFTHighS)},
			{Text: ms(p.TPOTS), Sort: f(p.TPOTS), Class: "n", Title: "band " + ms(p.TPOTLowS) + "–" + ms(p.TPOTHighS)},
		}
		if br != nil {
			c := cell{Text: "", Sort: "1", Class: "n"}
			if vs != nil {
				c = cell{Text: fmt.Sprintf("×%.2f $/h", vs.CostRatio), Sort: f(vs.CostRatio), Class: "n",
					Title: fmt.Sprintf("%+d chips, %+.3g kW", vs.DeltaChips, vs.DeltaPowerKW)}
			}
			cells = append(cells, c)
		}
		cells = append(cells,
			cell{Text: weights, Sort: weights},
			cell{Text: shape, Sort: shape, Class: "shape", Title: string(p.Serving)},
			cell{Text: v.binding(p.Binding), Sort: v.binding(p.Binding), Class: "small binding"},
			cell{Text: verified(p.Verified), Sort: verified(p.Verified)})
		return row{Class: cls, Cells: cells}
	}
	i := 0
	for _, c := range res.Chips {
		if c.Best == nil {
			v.NoPlan = append(v.NoPlan, c.Chip)
			continue
		}
		var vs *plan.Replacement
		if br != nil && i < len(br.Replacements) {
			vs = &br.Replacements[i]
		}
		i++
		v.Rows = append(v.Rows, mk(c.Best, decision(c.Decision), vs))
	}
	allowed := map[string]string{}
	for _, c := range res.Chips {
		allowed[c.Chip] = decision(c.Decision)
	}
	for _, p := range res.CrossChip {
		var vs *plan.Replacement
		if br != nil && i < len(br.Replacements) {
			vs = &br.Replacements[i]
		}
		i++
		d := allowed[p.Chip]
		if allowed[p.PrefillChip] == "deny" {
			d = "deny"
		}
		v.Cross = append(v.Cross, mk(p, d, vs))
	}
	if br != nil {
		b := mk(br.Plan, "baseline", nil)
		b.Class = "baseline"
		b.Cells[0].Text = fmt.Sprintf("%s (now)", br.Chip)
		v.Rows = append([]row{b}, v.Rows...)
	}
}

// short drops the degrees of 1 from a layout: "tp8 pp1 ep8 dp1" → "tp8 ep8".
func short(layout string) string {
	var out []string
	for _, f := range strings.Fields(layout) {
		if len(f) > 2 && f[2:] == "1" && f[:2] != "tp" {
			continue
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}

func verified(v *plan.Verification) string {
	switch {
	case v == nil:
		return "–"
	case v.Requests == 0:
		return "no"
	case !v.Meets:
		return "misses"
	case v.AddedReplicas > 0:
		return fmt.Sprintf("yes (+%d)", v.AddedReplicas)
	}
	return "yes"
}

// decision is a chip's policy action: allow, review or deny.
func decision(d policy.Decision) string {
	if d.Action == "" {
		return string(policy.Allow)
	}
	return string(d.Action)
}

func (v *view) binding(b plan.Binding) string {
	if v.Words.Binding == nil {
		return string(b.Limit)
	}
	return v.Words.Binding(b)
}

func chipName(cat *hardware.Catalog, id string) string {
	if cat == nil {
		return ""
	}
	if c, err := cat.Chip(id); err == nil {
		return c.Name
	}
	return ""
}

// sources lists every catalog number behind the plans the page names
// (the recommendation, the fleet, the best without the policy), with its
// confidence and source, and every policy decision that is not a plain
// allow.
func (v *view) sources(r *Report) {
	res := r.Result
	seen := map[string]bool{}
	var ids []string
	addPlan := func(p *plan.Plan) {
		if p == nil {
			return
		}
		for _, id := range []string{p.PrefillChip, p.Chip} {
			if id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	addPlan(res.Recommended)
	if res.Baseline != nil {
		addPlan(res.Baseline.Plan)
	}
	if res.Impact != nil {
		addPlan(res.Impact.Without)
	}
	if r.Catalog != nil {
		for _, id := range ids {
			c, err := r.Catalog.Chip(id)
			if err != nil {
				continue
			}
			vals := c.Values()
			names := make([]string, 0, len(vals))
			for k := range vals {
				names = append(names, k)
			}
			sort.Strings(names)
			cs := chipSources{Chip: c.ID, Name: c.Name}
			for _, k := range names {
				val := vals[k]
				s := r.Catalog.Sources[val.Source]
				title := s.Title
				if title == "" {
					title = val.Source
				}
				cs.Rows = append(cs.Rows, sourceRow{Field: k, Value: report.Num(val.Value, 4),
					Confidence: string(val.Confidence), Source: title, URL: s.URL, Date: s.Date, Note: val.Note})
			}
			v.Sources = append(v.Sources, cs)
		}
	}
	at := map[string]int{}
	for _, c := range res.Chips {
		if decision(c.Decision) == "allow" {
			continue
		}
		text := c.Decision.String()
		i, ok := at[text]
		if !ok {
			i = len(v.Decisions)
			at[text] = i
			v.Decisions = append(v.Decisions, decisionRow{Decision: text})
		}
		v.Decisions[i].Chips = append(v.Decisions[i].Chips, chipRef{c.Chip, chipName(r.Catalog, c.Chip)})
	}
}
