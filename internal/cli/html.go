package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"ersatz/internal/page"
	"ersatz/internal/perf"
	"ersatz/internal/plan"
	"ersatz/internal/policy"
)

// curveRates are the loads, as multiples of the planned rate, at which a
// report draws each top plan's latency.
var curveRates = []float64{0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1, 1.1, 1.2, 1.35, 1.5, 1.75, 2}

// topCurves is how many plans a report draws against load.
const topCurves = 4

// writeReport writes the plan as an HTML page to path.
func writeReport(e *env, path string, req plan.Request, res *plan.Result, args []string) error {
	r, err := reportOf(req, res, args)
	if err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	w, err := e.open(path)
	if err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	if err := page.Write(w, r); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("--html: writing %s: %w", path, err)
	}
	return nil
}

// reportOf computes what the page shows beyond the result: the top plans'
// latency at other loads and the recommended plan's step.
func reportOf(req plan.Request, res *plan.Result, args []string) (*page.Report, error) {
	req.Traffic, req.SLO = res.Traffic, res.SLO
	r := &page.Report{Command: commandLine("plan", args), Version: Version, Result: res, Catalog: req.Catalog,
		Words: page.Words{Answer: answerText(res), Why: whyText(res), Binding: bindingText}}
	type top struct {
		p      *plan.Plan
		label  string
		role   string
		engine perf.Engine
	}
	var tops []top
	seen := map[*plan.Plan]bool{}
	add := func(p *plan.Plan, label, role string, engine perf.Engine) {
		if p != nil && !seen[p] {
			seen[p] = true
			tops = append(tops, top{p, label, role, engine})
		}
	}
	if rec := res.Recommended; rec != nil {
		add(rec, chipText(rec)+" (recommended)", "recommended", "")
	}
	for _, c := range res.Chips {
		if len(tops) >= topCurves-1 {
			break
		}
		if c.Best != nil && c.Decision.Action != policy.Deny {
			add(c.Best, chipText(c.Best), "allow", "")
		}
	}
	if im := res.Impact; im != nil {
		add(im.Without, chipText(im.Without)+" (no policy)", "deny", "")
	}
	if br := res.Baseline; br != nil {
		add(br.Plan, fmt.Sprintf("%d × %s (now)", br.Count, br.Chip), "baseline", perf.Engine(br.Engine))
	}
	for _, t := range tops {
		rates := make([]float64, len(curveRates))
		for i, f := range curveRates {
			rates[i] = f * res.Traffic.RatePerS
		}
		pts, err := plan.Curve(req, t.p, t.engine, rates)
		if err != nil {
			return nil, fmt.Errorf("latency curve of %s: %w", t.label, err)
		}
		r.Curves = append(r.Curves, page.Curve{Label: t.label, Role: t.role, Planned: res.Traffic.RatePerS, Points: pts})
	}
	if rec := res.Recommended; rec != nil {
		st, err := plan.Breakdown(req, rec, "")
		if err != nil {
			return nil, fmt.Errorf("step breakdown of %s: %w", rec.Chip, err)
		}
		r.Steps = st.Pools
	}
	return r, nil
}

func chipText(p *plan.Plan) string {
	if p.PrefillChip != "" {
		return fmt.Sprintf("%d × %s → %s", p.ChipsTotal, p.PrefillChip, p.Chip)
	}
	return fmt.Sprintf("%d × %s", p.ChipsTotal, p.Chip)
}

// commandLine quotes args as a shell would need them.
func commandLine(cmd string, args []string) string {
	parts := []string{"ersatz", cmd}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\|&;<>()*?") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// checkOutput refuses, before any work, a file whose directory is missing.
func checkOutput(e *env, flag, path string) error {
	if path == "" || e.create != nil {
		return nil
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usagef("%s %s: directory %s does not exist", flag, path, dir)
	}
	return nil
}

// open creates a file through the env's hook, or on disk: written to a
// temporary file renamed into place on Close, so a failed write leaves
// any earlier file whole.
func (e *env) open(path string) (io.WriteCloser, error) {
	if e.create != nil {
		return e.create(path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return &atomicFile{File: f, path: path}, nil
}

type atomicFile struct {
	*os.File
	path string
}

func (a *atomicFile) Close() error {
	if err := a.File.Close(); err != nil {
		os.Remove(a.Name())
		return err
	}
	if err := os.Chmod(a.Name(), 0o644); err != nil {
		os.Remove(a.Name())
		return err
	}
	return os.Rename(a.Name(), a.path)
}
