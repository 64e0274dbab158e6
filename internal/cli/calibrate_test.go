package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"ersatz/internal/calibrate"
	"ersatz/internal/loadgen"
	"ersatz/internal/perf"
)

// plantedParams writes a params file whose hopper family has mem_eff 0.60
// and gemm_eff 0.55 (built-in: 0.85 and 0.80).
func plantedParams(t *testing.T) string {
	t.Helper()
	p := perf.DefaultParams()
	h := *p.Families["hopper"]
	mem, gemm := *h.MemEff, *h.GEMMEff
	mem.Value, gemm.Value = 0.60, 0.55
	h.MemEff, h.GEMMEff = &mem, &gemm
	b, err := yaml.Marshal(perf.Params{Families: map[string]*perf.Family{"hopper": &h},
		Engines: map[string]*perf.EngineParams{"other": p.Engines["other"]}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "planted.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPlantedParametersComeBack: emulate a deployment whose family
// parameters are moved, bench it at three loads, calibrate from the
// result files: every moved value comes back within 10% and inside its
// interval, and the simulator with the overlay is within 5% of what bench
// measured.
func TestPlantedParametersComeBack(t *testing.T) {
	t.Parallel()
	flags := []string{"--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1"}
	planted, _ := measureDeployment(t, append(flags, "--params", plantedParams(t))...)
	builtin, base := measureDeployment(t, flags...)
	dir := t.TempDir()
	var ms []calibrate.Measurement
	var benched []*loadgen.Result
	loads := []load{{rate: 1, requests: 300, input: 1024, output: 48, seed: 11, fixed: true},
		{rate: 4, requests: 80, input: 1024, output: 48, seed: 12, fixed: true},
		{rate: 8, requests: 400, input: 1024, output: 48, seed: 13, fixed: true}}
	for i, l := range loads {
		res := emulateAndBench(t, planted, nil, l, loadgen.EndpointCompletions)
		path := filepath.Join(dir, "run"+string(rune('a'+i))+".json")
		if err := writeJSONFile(path, res); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		reqs, _, err := calibrate.ParseResult(data)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, calibrate.Measurement{Name: filepath.Base(path), Deployment: builtin, MaxContext: measureMaxLen, Requests: reqs})
		benched = append(benched, res)
	}
	var knobs []calibrate.Knob
	for _, n := range []string{"gemm_eff", "mem_eff"} {
		k, err := calibrate.NewKnob(n, "hopper", "vllm")
		if err != nil {
			t.Fatal(err)
		}
		knobs = append(knobs, k)
	}
	fit, err := calibrate.Calibrate(ms, calibrate.Options{Base: base, Knobs: knobs, Bootstrap: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"gemm_eff": 0.55, "mem_eff": 0.60}
	for _, est := range fit.Estimates {
		w := want[est.Name]
		t.Logf("%s: fitted %.4f in [%.4f, %.4f], planted %.2f, built-in %.2f (%d simulations)", est.Name, est.Value, est.Lo, est.Hi, w, est.Before, fit.Evals)
		if math.Abs(est.Value/w-1) > 0.10 || w < est.Lo || w > est.Hi {
			t.Errorf("%s: fitted %.4f in [%.4f, %.4f]; want within 10%% of %.2f and the interval around it", est.Name, est.Value, est.Lo, est.Hi, w)
		}
	}
	for _, r := range fit.Runs {
		t.Logf("%s: TTFT %.2f ms, before %+.1f%%, after %+.1f%%; TPOT %.3f ms, before %+.1f%%, after %+.1f%%", r.Name,
			r.MeasuredTTFTS*1e3, (r.BeforeTTFTS/r.MeasuredTTFTS-1)*100, (r.AfterTTFTS/r.MeasuredTTFTS-1)*100,
			r.MeasuredTPOTS*1e3, (r.BeforeTPOTS/r.MeasuredTPOTS-1)*100, (r.AfterTPOTS/r.MeasuredTPOTS-1)*100)
	}
	// The overlay reads back through --params, and the simulator with it
	// predicts what bench measured.
	data, err := overlayYAML(fit, []string{"test runs"}, "2026-12-03")
	if err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(dir, "overlay.yaml")
	os.WriteFile(overlay, data, 0o644)
	dep, params := measureDeployment(t, append(flags, "--params", overlay)...)
	for i, l := range loads {
		var out, errb bytes.Buffer
		args := append([]string{"predict", "--params", overlay, "--rate", fmt.Sprint(l.rate), "--input-tokens", fmt.Sprint(l.input), "--output-tokens", fmt.Sprint(l.output), "--json"}, flags...)
		if code := Main(args, strings.NewReader(""), &out, &errb, func(string) string { return "" }); code != 0 {
			t.Fatalf("predict: %s", errb.String())
		}
		var pred struct {
			Predictions []struct {
				Result struct {
					TTFT, TPOT struct{ Mean float64 }
				}
			}
		}
		if err := json.Unmarshal(out.Bytes(), &pred); err != nil || len(pred.Predictions) != 1 {
			t.Fatalf("predict --json: %v: %.200s", err, out.String())
		}
		r := pred.Predictions[0].Result
		t.Logf("load %d: predict TTFT %.2f ms, TPOT %.3f ms; bench %.2f, %.3f", i, r.TTFT.Mean*1e3, r.TPOT.Mean*1e3, benched[i].MeanTTFTMs, benched[i].MeanTPOTMs)
		for _, c := range []struct {
			name        string
			pred, bench float64
		}{{"mean TTFT", r.TTFT.Mean * 1e3, benched[i].MeanTTFTMs}, {"mean TPOT", r.TPOT.Mean * 1e3, benched[i].MeanTPOTMs}} {
			if rel := math.Abs(c.pred/c.bench - 1); rel > 0.05 {
				t.Errorf("load %d: %s: predict with the overlay %.3f ms, bench %.3f ms (%.1f%% off, want ≤ 5%%)", i, c.name, c.pred, c.bench, rel*100)
			}
		}
	}
	for i, l := range loads {
		sum := simulateLoad(t, dep, params, l)
		for _, c := range []struct {
			name      string
			sim, meas float64
		}{{"mean TTFT", sum.TTFT.MeanS * 1e3, benched[i].MeanTTFTMs}, {"mean TPOT", sum.TPOT.MeanS * 1e3, benched[i].MeanTPOTMs}} {
			if rel := math.Abs(c.sim/c.meas - 1); rel > 0.05 {
				t.Errorf("load %d: %s: simulate with the overlay %.3f ms, bench %.3f ms (%.1f%% off, want ≤ 5%%)", i, c.name, c.sim, c.meas, rel*100)
			}
		}
	}
}
