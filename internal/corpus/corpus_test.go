package corpus

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// nonNVIDIA lists the catalog chip ids of the shipped corpora that are not
// NVIDIA's; the CLI supplies the real mapping from the hardware catalog.
func vendorOf(chip string) string {
	switch {
	case strings.HasPrefix(chip, "ascend-"):
		return "huawei"
	case strings.HasPrefix(chip, "mi3"):
		return "amd"
	case strings.HasPrefix(chip, "mlu"):
		return "cambricon"
	case chip == "p800":
		return "kunlunxin"
	case chip == "k100-ai" || chip == "bw1000":
		return "hygon"
	}
	return "nvidia"
}

func TestShippedCorpora(t *testing.T) {
	for _, tc := range []struct {
		name              string
		data              []byte
		minN, minNonNVIDA int
	}{
		{"published.yaml", Published(), 30, 8},
		{"independent.yaml", Independent(), 8, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, warns, err := Parse(tc.data, CorpusMode)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range warns {
				t.Errorf("warning: %v", w)
			}
			for i := range f.Unreadable {
				u := &f.Unreadable[i]
				t.Errorf("%sunreadable: %s", u.prefix(), u.Reason())
			}
			byVendor := map[string]int{}
			for _, c := range f.Cases {
				byVendor[vendorOf(c.Chip)]++
				if strings.TrimSpace(c.Source) == "" || c.Claim == "" {
					t.Errorf("%s: want source and claim (got %q, %q)", c.ID, c.Source, c.Claim)
				}
				if c.ModelIsPath() {
					if _, err := FS().Open(c.ModelPath(".")); err != nil {
						t.Errorf("%s: model config %s: %v", c.ID, c.Model, err)
					}
				}
				if c.Chips() == 0 {
					t.Errorf("%s: no chips in phase %s", c.ID, c.Phase)
				}
			}
			non := len(f.Cases) - byVendor["nvidia"]
			t.Logf("%d cases, %d non-NVIDIA, by vendor %v", len(f.Cases), non, byVendor)
			if len(f.Cases) < tc.minN || non < tc.minNonNVIDA {
				t.Errorf("got %d cases (%d non-NVIDIA), want >= %d (>= %d)", len(f.Cases), non, tc.minN, tc.minNonNVIDA)
			}
		})
	}
	// Ids are unique across both files too, so they can be merged.
	a, _, _ := Parse(Published(), CorpusMode)
	b, _, _ := Parse(Independent(), CorpusMode)
	seen := map[string]bool{}
	for _, c := range append(a.Cases, b.Cases...) {
		if seen[c.ID] {
			t.Errorf("id %s in both shipped files", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestSpecExample(t *testing.T) {
	data, err := os.ReadFile("testdata/spec-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, warns, err := Parse(data, CorpusMode)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	c := f.Cases[0]
	if c.ID != "mlperf41-h100x8-llama2-70b-offline" || c.Measured != 3066 || c.Chips() != 8 ||
		c.Workload.Load.Kind() != LoadOffline || c.Speculative.Acceptance == nil || *c.Speculative.Acceptance != 0.7 ||
		c.SLO.Percentile != 99 || c.Precision.KVCache != "fp8" || c.Instances[0].TP != 8 {
		t.Errorf("spec example parsed as %+v", c)
	}
}

// base is a minimal valid case; the table below edits it.
const base = `version: 1
cases:
  - id: a
    claim: vendor
    source: s
    model: meta-llama/Llama-3.1-8B-Instruct
    chip: h100-sxm
    precision: {weights: fp8}
    serving: aggregated
    instances: [{role: mixed}]
    workload: {input_tokens: 100, output_tokens: 100, load: {offline: true}}
    metric: output_tokens_per_s_per_chip
    measured: 10
`

// Activations and KV cache stay empty: the performance model's defaults
// (perf.Precisions) fill them, the same in every command.
func TestDefaults(t *testing.T) {
	f, _, err := Parse([]byte(strings.Replace(base, "instances: [{role: mixed}]", "instances: [{role: MIXED, tp: 4, pp: 2}]", 1)), CorpusMode)
	if err != nil {
		t.Fatal(err)
	}
	c := f.Cases[0]
	in := c.Instances[0]
	if in.Role != "mixed" || in.Count != 1 || in.Chips != 8 || in.EP != 1 || in.DP != 1 ||
		c.Precision.Activations != "" || c.Precision.KVCache != "" || c.Phase != "all" || c.Chips() != 8 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"two load kinds", "load: {offline: true}", "load: {offline: true, concurrency: 8}",
			"cases[0] (id a).workload.load: want exactly one of offline, concurrency, rate_per_s, batch_per_chip (got 2)"},
		{"no load", "load: {offline: true}", "load: {}",
			"cases[0] (id a).workload.load: want exactly one of offline, concurrency, rate_per_s, batch_per_chip, or an slo (got none)"},
		{"bad metric", "metric: output_tokens_per_s_per_chip", "metric: tokens_per_s",
			`cases[0] (id a).metric: want one of output_tokens_per_s_per_chip, input_tokens_per_s_per_chip, total_tokens_per_s_per_chip, tokens_per_s_per_user, ttft_ms_mean, tpot_ms_mean (got "tokens_per_s")`},
		{"bad id", "id: a", "id: A_1",
			`cases[0] (id A_1).id: want [a-z0-9-]+ (got "A_1")`},
		{"bad role", "instances: [{role: mixed}]", "instances: [{role: prefill}]",
			"cases[0] (id a).instances: want exactly one entry with role mixed for aggregated serving (got [prefill])"},
		{"disaggregated without decode", "serving: aggregated\n    instances: [{role: mixed}]", "serving: disaggregated\n    instances: [{role: prefill}, {role: mixed}]",
			"cases[0] (id a).instances[1].role: want prefill or decode for disaggregated serving (got \"mixed\")\ncases[0] (id a).instances: want prefill and decode entries for disaggregated serving with phase all (a prefill or decode case may list only its pool)"},
		{"decode case without its pool", "serving: aggregated\n    instances: [{role: mixed}]", "serving: disaggregated\n    phase: decode\n    instances: [{role: prefill}]",
			"cases[0] (id a).instances: want a decode entry for a disaggregated case measuring phase decode"},
		{"bad precision", "weights: fp8", "weights: fp6",
			`cases[0] (id a).precision.weights: want one of bf16, fp16, fp8, int8, int4, fp4 (got "fp6")`},
		{"bad claim", "claim: vendor", "claim: rumour",
			`cases[0] (id a).claim: want one of vendor, operator, independent, mlperf, user, measured-here (got "rumour")`},
		{"bad phase", "metric:", "phase: warmup\n    metric:",
			`cases[0] (id a).phase: want one of all, prefill, decode (got "warmup")`},
		{"no measured", "measured: 10\n", "",
			"cases[0] (id a).measured: want a number > 0 (got 0)"},
		{"bad version", "version: 1", "version: 2", "version: want 1 (got 2)"},
		{"wrong type", "measured: 10", "measured: ten",
			"cases[0] (id a).measured: want float64 (got string)"},
		{"negative tp", "instances: [{role: mixed}]", "instances: [{role: mixed, tp: -2}]",
			"cases[0] (id a).instances[0].tp: want >= 1 (got -2)"},
		{"zero max_num_seqs", "measured: 10", "measured: 10\n    engine_args: {max_num_seqs: 0, max_num_batched_tokens: -1}",
			"cases[0] (id a).engine_args.max_num_seqs: want >= 1 (got 0)\ncases[0] (id a).engine_args.max_num_batched_tokens: want >= 1 (got -1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(base, tc.old, tc.new, 1)
			if in == base {
				t.Fatalf("edit %q not applied", tc.old)
			}
			if got := problems(in); got != tc.want {
				t.Errorf("corpus: got\n%s\nwant\n%s", got, tc.want)
			}
			// A scenario refuses the file with the same lines; it alone
			// may omit measured.
			_, _, err := ParseScenario([]byte(in))
			if tc.name == "no measured" {
				if err != nil {
					t.Errorf("scenario: %v", err)
				}
			} else if err == nil || err.Error() != tc.want {
				t.Errorf("scenario: got error\n%v\nwant\n%s", err, tc.want)
			}
		})
	}
}

func TestEngineArgs(t *testing.T) {
	in := strings.Replace(base, "measured: 10", "measured: 10\n    engine_args: {max_num_seqs: 1280, max_num_batched_tokens: 2304, chunked_prefill: false}", 1)
	f, warns, err := Parse([]byte(in), CorpusMode)
	if err != nil || len(warns) > 0 {
		t.Fatal(err, warns)
	}
	a := f.Cases[0].EngineArgs
	if a == nil || a.MaxNumSeqs == nil || *a.MaxNumSeqs != 1280 || a.MaxNumBatchedTokens == nil || *a.MaxNumBatchedTokens != 2304 ||
		a.ChunkedPrefill == nil || *a.ChunkedPrefill {
		t.Errorf("engine_args: %+v", a)
	}
	f, _, err = Parse([]byte(base), CorpusMode)
	if err != nil || f.Cases[0].EngineArgs != nil {
		t.Errorf("absent engine_args: %v %+v", err, f.Cases[0].EngineArgs)
	}
}

// problems is what a corpus parse of in reports: the file's error, or one
// line per problem of each unreadable case, prefixed as a scenario parse
// prefixes it.
func problems(in string) string {
	f, _, err := Parse([]byte(in), CorpusMode)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for i := range f.Unreadable {
		u := &f.Unreadable[i]
		for _, p := range u.Problems {
			lines = append(lines, u.prefix()+p.Error())
		}
	}
	return strings.Join(lines, "\n")
}

func TestDuplicateID(t *testing.T) {
	two := base + strings.SplitN(base, "cases:\n", 2)[1]
	want := `cases[1] (id a).id: want unique ids ("a" is also cases[0])`
	if got := problems(two); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if f, _, _ := Parse([]byte(two), CorpusMode); len(f.Cases) != 1 {
		t.Errorf("the first of two cases with one id should load (got %d cases)", len(f.Cases))
	}
}

func TestUnknownFieldsWarn(t *testing.T) {
	in := strings.Replace(base, "measured: 10", "measured: 10\n    vendor_claimed_peak: 5\n    workload_extra: {x: 1}", 1)
	in = strings.Replace(in, "input_tokens: 100,", "input_tokens: 100, dataset: sharegpt,", 1)
	_, warns, err := Parse([]byte(in), CorpusMode)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(warns)
	want := "[cases[0] (id a).vendor_claimed_peak: unknown field, ignored cases[0] (id a).workload.dataset: unknown field, ignored cases[0] (id a).workload_extra: unknown field, ignored]"
	if got != want {
		t.Errorf("warnings\n%s\nwant\n%s", got, want)
	}
}

func TestScenario(t *testing.T) {
	in := strings.Replace(strings.Replace(base, "measured: 10\n", "", 1), "    claim: vendor\n", "", 1)
	f, _, err := ParseScenario([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if f.Cases[0].Measured != 0 {
		t.Errorf("measured %g", f.Cases[0].Measured)
	}
	if f, _, err := Parse([]byte(in), CorpusMode); err != nil || len(f.Cases) != 0 || len(f.Unreadable) != 1 {
		t.Error("corpus mode read a case without measured and claim")
	}
	// An slo without a load is allowed.
	in = strings.Replace(base, "load: {offline: true}}", "load: {}}\n    slo: {tpot_ms: 50}", 1)
	if _, _, err := Parse([]byte(in), CorpusMode); err != nil {
		t.Error(err)
	}
}

type fake map[string]Prediction

func (f fake) Predict(c *Case) (Prediction, error) {
	p, ok := f[c.ID]
	if !ok {
		return Prediction{}, errors.New("unknown chip " + c.Chip)
	}
	return p, nil
}

func evalCases() []Case {
	mk := func(id, chip, metric string, measured float64) Case {
		return Case{ID: id, Chip: chip, Metric: metric, Measured: measured, Claim: "vendor"}
	}
	return []Case{
		mk("a", "h100-sxm", "output_tokens_per_s_per_chip", 100),
		mk("b", "h100-sxm", "output_tokens_per_s_per_chip", 200),
		mk("c", "ascend-910c", "output_tokens_per_s_per_chip", 50),
		mk("d", "mi300x", "tpot_ms_mean", 40),
		mk("e", "mlu590", "tpot_ms_mean", 10),
	}
}

var evalPredictor = fake{
	"a": {Value: 110, Low: 90, High: 130},                                          // error +0.10, in band
	"b": {Value: 150, Low: 120, High: 180},                                         // error -0.25, out of band
	"c": {Value: 100},                                                              // error +1.00, no band
	"d": {Value: 38, Low: 30, High: 45, Detail: map[string]float64{"step_ms": 38}}, // -0.05, in band
	// "e" fails: unknown chip.
}

func TestEvaluate(t *testing.T) {
	r := Evaluate(evalCases(), evalPredictor)
	// |errors|: a 0.10, b 0.25, c 1.00, d 0.05, e (failed) 1.00.
	// Sorted: 0.05 0.10 0.25 1.00 1.00 -> median 0.25.
	// mape = (0.10+0.25+1.00+0.05+1.00)/5 = 2.40/5 = 0.48.
	// within_band: a and d of 5 = 0.4. within_25pct: a, b, d of 5 = 0.6.
	want := Summary{N: 5, Failed: 1, MedianAbsError: 0.25, MAPE: 0.48, WithinBand: 0.4, Within25Pct: 0.6}
	if !close(r.Summary, want) {
		t.Errorf("summary %+v, want %+v", r.Summary, want)
	}
	// tpot_ms_mean: d 0.05 and e 1.00 -> median 0.525, mape 0.525.
	if got := r.ByMetric["tpot_ms_mean"]; !close(got, Summary{N: 2, Failed: 1, MedianAbsError: 0.525, MAPE: 0.525, WithinBand: 0.5, Within25Pct: 0.5}) {
		t.Errorf("by_metric tpot %+v", got)
	}
	if e := r.Cases[4]; e.Predicted != nil || e.Reason != "unknown chip mlu590" {
		t.Errorf("failed case %+v", e)
	}
}

func close(a, b Summary) bool {
	eq := func(x, y float64) bool { return x-y < 1e-12 && y-x < 1e-12 }
	return a.N == b.N && a.Failed == b.Failed && eq(a.MedianAbsError, b.MedianAbsError) && eq(a.MAPE, b.MAPE) &&
		eq(a.WithinBand, b.WithinBand) && eq(a.Within25Pct, b.Within25Pct)
}

func TestEvaluateNeverDrops(t *testing.T) {
	cases := []Case{{ID: "x", Measured: 1}, {ID: "y", Measured: 1}, {ID: "z"}}
	r := Evaluate(cases, PredictorFunc(func(c *Case) (Prediction, error) {
		if c.ID == "x" {
			panic("boom")
		}
		return Prediction{Value: -1}, nil
	}))
	if len(r.Cases) != 3 || r.Summary.Failed != 3 || r.Summary.MAPE != 1 {
		t.Errorf("got %+v", r)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; got:\n%s", path, got)
	}
}

func TestReportGolden(t *testing.T) {
	r := Evaluate(evalCases(), evalPredictor)
	r.SetVendors(vendorOf)
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", append(js, '\n'))
	var text bytes.Buffer
	if err := r.WriteText(&text, vendorOf); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", text.Bytes())
}

// TestReportShape checks the spec's field names and null for a failure.
func TestReportShape(t *testing.T) {
	r := Evaluate(evalCases(), evalPredictor)
	js, _ := json.Marshal(r)
	var m struct {
		Cases   []map[string]any `json:"cases"`
		Summary map[string]any   `json:"summary"`
	}
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "metric", "measured", "predicted", "error", "low", "high"} {
		if _, ok := m.Cases[0][k]; !ok {
			t.Errorf("case lacks %q", k)
		}
	}
	if v, ok := m.Cases[4]["predicted"]; !ok || v != nil {
		t.Errorf("failed case predicted = %v, want null", v)
	}
	for _, k := range []string{"n", "median_abs_error", "mape", "within_band"} {
		if _, ok := m.Summary[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add(Published())
	if b, err := os.ReadFile("testdata/spec-example.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("cases: [{id: x, instances: [{role: decode}], serving: disaggregated}]"))
	f.Add([]byte("version: 1\ncases:\n  - {}\n"))
	f.Add([]byte(mixed))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mode := range []Mode{CorpusMode, ScenarioMode} {
			file, _, err := Parse(data, mode)
			if err == nil {
				for i := range file.Cases {
					_ = file.Cases[i].Chips()
				}
				rep := EvaluateFile(file, PredictorFunc(func(c *Case) (Prediction, error) {
					return Prediction{Value: 1}, nil
				}))
				// Every case is reported, read or not.
				if n := len(file.Cases) + len(file.Unreadable); len(rep.Cases) != n || rep.Summary.N != n {
					t.Fatalf("%d results for %d cases", len(rep.Cases), n)
				}
			}
		}
	})
}
