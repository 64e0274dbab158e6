package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"ersatz/internal/calibrate"
	"ersatz/internal/perf"
	"ersatz/internal/report"
)

func runCalibrate(e *env, args []string) error {
	fs := newFlags(e, "calibrate", "--result FILE [--scenario FILE] [--result FILE [--scenario FILE] ...] | --result FILE... --model M --chip C --chips N [deployment flags]) [--fit gemm_eff,mem_eff] [--out overlay.yaml]")
	ss := newSimSetup(fs, false)
	var results stringsFlag
	fs.Var(&results, "result", "a bench result: ersatz bench --result-json or --records, or vllm bench serve --save-result JSON (repeat; pair each with a --scenario, or give the deployment by flags for all)")
	fitList := fs.String("fit", "gemm_eff,mem_eff", "parameters to fit, comma separated: family ones (gemm_eff, mem_eff, attn_eff, kernel_overhead_s, ...) and engine ones (step_overhead_s, seq_overhead_s, kernel_scale)")
	out := fs.String("out", "", "write the fitted parameters as a params overlay YAML (for --params of predict, simulate, plan, validate and emulate)")
	// --max-model-len (vLLM's spelling of --context) is the engine's
	// context limit, which sized its KV cache; 0 takes the longest request,
	// as simulate does.
	boot := fs.Int("bootstrap", 200, "bootstrap resamples for the intervals")
	seed := fs.Uint64("seed", 1, "bootstrap seed")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(results) == 0 {
		return usagef("--result: give at least one bench result")
	}
	if len(ss.scenarios) > 0 && len(ss.scenarios) != len(results) {
		return usagef("--scenario: give one per --result (got %d for %d results), or none and the deployment by flags", len(ss.scenarios), len(results))
	}
	if *boot < 10 {
		return usagef("--bootstrap %d: want at least 10 resamples", *boot)
	}
	var ms []calibrate.Measurement
	var base *perf.Params
	var family, engine string
	var prov []string
	for i, path := range results {
		scenario := ""
		if len(ss.scenarios) > 0 {
			scenario = ss.scenarios[i]
		}
		dep, header, params, err := ss.deploymentFor(e, fs, scenario)
		if err != nil {
			return err
		}
		base = params
		d := dep.Pool.Instance.Deployment()
		if family == "" {
			family, engine = d.Chip.Family, string(d.Engine)
		} else if d.Chip.Family != family {
			return fmt.Errorf("--result %s: chip family %s: want every result on one family (the first is %s); calibrate each family separately", path, d.Chip.Family, family)
		}
		data, err := readFile(path)
		if err != nil {
			return fmt.Errorf("--result: %w", err)
		}
		reqs, meta, err := calibrate.ParseResult(data)
		if err != nil {
			return fmt.Errorf("--result %s: %w", path, err)
		}
		ms = append(ms, calibrate.Measurement{Name: filepath.Base(path), Deployment: dep, MaxContext: ss.d.context, Requests: reqs})
		date := meta.Date
		if date == "" {
			if st, err := os.Stat(path); err == nil {
				date = st.ModTime().UTC().Format("2006-01-02")
			}
		}
		prov = append(prov, fmt.Sprintf("%s (%s, %d requests, rate %v) on %s", filepath.Base(path), date, len(reqs), meta.RequestRate, header))
	}
	var knobs []calibrate.Knob
	for _, name := range strings.Split(*fitList, ",") {
		k, err := calibrate.NewKnob(strings.TrimSpace(name), family, engine)
		if err != nil {
			return usagef("--fit: %v", err)
		}
		knobs = append(knobs, k)
	}
	fit, err := calibrate.Calibrate(ms, calibrate.Options{Base: base, Knobs: knobs, Bootstrap: *boot, Seed: *seed})
	if err != nil {
		return err
	}
	writeCalibration(e.stdout, fit)
	if *out != "" {
		data, err := overlayYAML(fit, prov, time.Now().UTC().Format("2006-01-02"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, data, 0o644); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		fmt.Fprintf(e.stderr, "ersatz calibrate: wrote %s; use it with --params %s\n", *out, *out)
	}
	return nil
}

func writeCalibration(w io.Writer, fit *calibrate.Fit) {
	t := &report.Table{Header: []string{"parameter", "before", "fitted", "95% interval"}, Right: map[int]bool{1: true, 2: true}}
	for _, est := range fit.Estimates {
		t.Add(est.Knob.String(), report.Num(est.Before, 3), report.Num(est.Value, 3), fmt.Sprintf("[%s, %s]", report.Num(est.Lo, 3), report.Num(est.Hi, 3)))
	}
	t.WriteText(w)
	r := &report.Table{Header: []string{"result", "requests", "TTFT measured", "before", "after", "TPOT measured", "before", "after"},
		Right: map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true}}
	pct := func(pred, meas float64) string { return fmt.Sprintf("%+.1f%%", (pred/meas-1)*100) }
	for _, run := range fit.Runs {
		r.Add(run.Name, fmt.Sprint(run.Requests), ms(run.MeasuredTTFTS), pct(run.BeforeTTFTS, run.MeasuredTTFTS), pct(run.AfterTTFTS, run.MeasuredTTFTS),
			ms(run.MeasuredTPOTS), pct(run.BeforeTPOTS, run.MeasuredTPOTS), pct(run.AfterTPOTS, run.MeasuredTPOTS))
	}
	r.Notes = []string{fmt.Sprintf("mean TTFT and TPOT in ms; error of the model (the simulator replaying each run's arrivals) before and after the fit; %d simulations", fit.Evals)}
	fmt.Fprintln(w)
	r.WriteText(w)
}

// overlayYAML renders the fit's params overlay, checked to read back.
func overlayYAML(fit *calibrate.Fit, prov []string, date string) ([]byte, error) {
	o := fit.Overlay(strings.Join(prov, "; "), date)
	head := fmt.Sprintf("# ersatz calibrate, %s: a params overlay (ersatz predict|simulate|plan|validate|emulate --params FILE).\n# Fitted: %s. Unfitted values of these blocks, and the engine \"other\", are the built-in ones.\n", date, knobNames(fit))
	b, err := yaml.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("rendering the overlay: %w", err)
	}
	if _, err := perf.ParseParams(b); err != nil {
		return nil, fmt.Errorf("rendering the overlay: %w", err)
	}
	return append([]byte(head), b...), nil
}

func knobNames(fit *calibrate.Fit) string {
	var n []string
	for _, est := range fit.Estimates {
		n = append(n, est.Knob.String())
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}
