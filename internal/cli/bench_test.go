package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ersatz/internal/emulator"
	"ersatz/internal/serving"
)

// TestBenchCalibrateCommands runs the commands as a user would, over
// loopback: ersatz bench against an emulator (at time scale 20) writing
// --result-json and --records, then ersatz calibrate on both files
// writing an overlay, which simulate then takes with --params.
func TestBenchCalibrateCommands(t *testing.T) {
	flags := []string{"--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1"}
	dep, params := measureDeployment(t, flags...)
	cfg, err := serving.Config(dep, params, 4096)
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(emulator.Options{Sim: cfg, Model: "Qwen/Qwen3-14B", MaxModelLen: 4096, TimeScale: 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go emu.Run(ctx)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	dir := t.TempDir()
	resultJSON, records, overlay := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.jsonl"), filepath.Join(dir, "o.yaml")
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Main(args, strings.NewReader(""), &out, &errb, func(string) string { return "" }); code != 0 {
			t.Fatalf("ersatz %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	// 20 requests/s on the wall clock is 1 request/s of emulated time.
	out := run("bench", "--url", srv.URL, "--rate", "20", "--requests", "30", "--input-tokens", "512", "--output-tokens", "32",
		"--goodput", "ttft:10 tpot:5", "--result-json", resultJSON, "--records", records)
	if !strings.Contains(out, "30 completed, 0 failed") || !strings.Contains(out, "goodput:") {
		t.Fatalf("bench printed:\n%s", out)
	}
	var res map[string]any
	data, _ := os.ReadFile(resultJSON)
	if err := json.Unmarshal(data, &res); err != nil || res["completed"] != 30.0 || res["model_id"] != "Qwen/Qwen3-14B" || res["request_rate"] != 20.0 {
		t.Fatalf("result JSON %v: %.300s", err, data)
	}
	if lines := bytes.Count(mustRead(t, records), []byte("\n")); lines != 30 {
		t.Fatalf("records: %d lines, want 30", lines)
	}
	// The emulator ran 20 times faster than real time: its measured
	// latencies are a twentieth of the deployment's, so calibrate sees a
	// chip about twenty times faster and the fit hits its bounds. That
	// is not a calibration; this checks the commands and the files.
	out = run(append([]string{"calibrate", "--result", resultJSON, "--result", records, "--fit", "mem_eff", "--bootstrap", "20", "--out", overlay}, flags...)...)
	if !strings.Contains(out, "hopper.mem_eff") || !strings.Contains(out, "r.jsonl") {
		t.Fatalf("calibrate printed:\n%s", out)
	}
	if _, err := loadParams(overlay); err != nil {
		t.Fatalf("the overlay does not load: %v\n%s", err, mustRead(t, overlay))
	}
	if !strings.Contains(string(mustRead(t, overlay)), "ersatz calibrate") {
		t.Fatalf("overlay without provenance:\n%s", mustRead(t, overlay))
	}
	run(append([]string{"simulate", "--params", overlay, "--rate", "1", "--requests", "20", "--input-tokens", "512", "--output-tokens", "32"}, flags...)...)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMeasureFlagErrors: bad flags get one-line errors naming the flag.
func TestMeasureFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench"}, 2, "--url is required"},
		{[]string{"bench", "--url", "http://127.0.0.1:1", "--endpoint", "/v2"}, 2, "--endpoint"},
		{[]string{"bench", "--url", "http://127.0.0.1:1", "--range-ratio", "1.5"}, 2, "--range-ratio"},
		{[]string{"bench", "--url", "http://127.0.0.1:1", "--goodput", "ttft"}, 2, "goodput"},
		{[]string{"emulate", "--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1", "--time-scale", "0"}, 2, "--time-scale"},
		{[]string{"emulate", "--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1", "--port", "70000"}, 2, "--port"},
		{[]string{"calibrate", "--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1"}, 2, "--result"},
		{[]string{"calibrate", "--result", "x.json", "--fit", "nope", "--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1"}, 1, "x.json"},
		{[]string{"simulate", "--params", "/nonexistent.yaml", "--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1", "--rate", "1"}, 1, "--params"},
	} {
		var out, errb bytes.Buffer
		code := Main(tc.args, strings.NewReader(""), &out, &errb, func(string) string { return "" })
		first, _, _ := strings.Cut(errb.String(), "\n")
		if code != tc.code || !strings.Contains(first, tc.want) {
			t.Errorf("ersatz %s: exit %d, %q; want exit %d naming %s", strings.Join(tc.args, " "), code, first, tc.code, tc.want)
		}
	}
}
