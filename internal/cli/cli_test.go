package cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCases run the CLI and compare stdout, stderr and the exit code with
// testdata/golden/NAME.{stdout,stderr}. Run `go test ./internal/cli -update`
// after an intended change and review the diff.
var goldenCases = []struct {
	name string
	args string
	code int
}{
	{"help", "help", 0},
	{"unknown-command", "frobnicate", 2},
	{"chips-unknown-vendor", "chips --vendor intel", 1},
	{"fit-r1-h20", "fit --model deepseek-ai/DeepSeek-R1 --chip h20 --chips 8 --weights fp8", 0},
	{"fit-r1-910b2-bf16", "fit --model deepseek-ai/DeepSeek-R1 --chip ascend-910b2 --chips 8", 1},
	{"fit-llama70b-910c", "fit --model meta-llama/Llama-3.1-70B-Instruct --chip ascend-910c --chips 1 --weights int8 --context 32768", 0},
	{"fit-fp8-on-910b", "fit --model meta-llama/Llama-3.1-70B-Instruct --chip 910b2 --chips 8 --weights fp8", 1},
	{"fit-unknown-chip", "fit --model meta-llama/Llama-3.1-70B-Instruct --chip h1000 --chips 8", 1},
	{"fit-unknown-model", "fit --model meta-llama/Llama-3.1-7B --chip h100 --chips 8", 1},
	{"fit-bad-tp", "fit --model meta-llama/Llama-3.1-70B-Instruct --chip h100 --tp 3", 1},
	{"fit-bad-ep", "fit --model Qwen/Qwen3-30B-A3B --chip h100 --tp 8 --ep 3", 1},
	{"fit-missing-model", "fit --chip h100 --chips 8", 2},
	{"fit-bad-chips", "fit --model meta-llama/Llama-3.1-70B-Instruct --chip ascend-910c --chips 8 --tp 8", 2},
	{"chips", "chips", 0},
	{"nodes", "nodes", 0},
	{"models", "models", 0},
	// The accuracy tables docs/perf.md and the README cite.
	{"validate", "validate", 0},
	{"validate-independent", "validate --corpus independent", 0},
	{"validate-mixed", "validate --corpus testdata/validate-mixed.yaml", 0},
	{"validate-cv", "validate --cv", 0},
	{"validate-bad-band", "validate --band 80", 2},
	{"predict-llama70b-h100", "predict --model meta-llama/Llama-3.1-70B-Instruct --chip h100 --chips 2 --weights fp8 --kv-cache fp8 --engine trtllm --input-tokens 1000 --output-tokens 1000", 0},
	{"predict-fp8-on-910b", "predict --model meta-llama/Llama-3.1-70B-Instruct --chip ascend-910b2 --chips 8 --weights fp8", 1},
	{"predict-scenario", "predict --scenario ../corpus/testdata/spec-example.yaml", 0},
	{"simulate-qwen3-14b-h100", "simulate --model Qwen/Qwen3-14B --chip h100 --chips 1 --rate 5 --requests 2000 --lengths lognormal --ttft-slo 1s --tpot-slo 50ms", 0},
	{"simulate-disagg-r1-910c", "simulate --model deepseek-ai/DeepSeek-R1 --chip ascend-910c --chips 8 --weights int8 --replicas 2 --prefill-replicas 2 --rate 4 --requests 500 --input-tokens 3000 --output-tokens 300", 0},
	{"simulate-scenario", "simulate --scenario ../corpus/testdata/spec-example.yaml --requests 1000", 0},
	{"simulate-scenario-rate", "simulate --scenario ../corpus/testdata/spec-example.yaml --rate 10 --requests 500 --json", 0},
	{"simulate-trace-r1-910c", "simulate --model deepseek-ai/DeepSeek-R1 --chip ascend-910c --chips 8 --weights int8 --replicas 2 --trace testdata/traces/azure_conv_head300.csv", 0},
	{"simulate-no-rate", "simulate --model Qwen/Qwen3-14B --chip h100 --chips 1", 2},
	// The main job without a fleet (the README shows it with --baseline).
	{"plan-r1-cn-domestic", "plan --model deepseek-ai/DeepSeek-R1 --rate 20 --input-tokens 1155 --output-tokens 211 --ttft-p90 2s --tpot-p90 50ms --policy cn-domestic --verify-requests 500", 0},
	{"plan-explain", "plan --model Qwen/Qwen3-32B --rate 5 --input-tokens 1155 --output-tokens 211 --ttft-p90 1s --tpot-p90 40ms --policy cn-commercial-2025,us-export-2026 --chip h20,h200-sxm,l20,ascend-910b2,ascend-910c,rtx-pro-6000d --explain --verify-requests 300", 0},
	{"plan-nothing-allowed", "plan --model meta-llama/Llama-3.1-8B-Instruct --rate 5 --input-tokens 1000 --output-tokens 200 --tpot-p90 50ms --policy cn-domestic --chip h100,h20 --verify-requests 300", 1},
	{"plan-slo-impossible", "plan --model meta-llama/Llama-3.1-70B-Instruct --rate 5 --input-tokens 1000 --output-tokens 200 --tpot-p90 1ms --chip h100,ascend-910b2", 1},
	{"plan-confidence", "plan --model Qwen/Qwen3-32B --rate 5 --input-tokens 1155 --output-tokens 211 --ttft-p90 1s --tpot-p90 40ms --chip h200-sxm,ascend-910c,mlu590 --confidence 0.9 --verify 0", 0},
	{"plan-bad-confidence", "plan --model Qwen/Qwen3-32B --rate 5 --input-tokens 1155 --output-tokens 211 --tpot-p90 40ms --confidence 90", 2},
	{"plan-csv", "plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --chip l20,h20,ascend-910b2 --csv --verify-requests 300", 0},
	// The README's main job: what replaces 64 H20 under cn-domestic.
	{"plan-baseline-r1-h20", "plan --model deepseek-ai/DeepSeek-R1 --input-tokens 1155 --output-tokens 211 --ttft-p90 2s --tpot-p90 50ms --policy cn-domestic --baseline 64xh20 --verify-requests 500", 0},
	{"plan-baseline-csv", "plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --chip l20,ascend-910b2 --baseline 2xh20 --baseline-engine sglang --verify 0 --csv", 0},
	{"plan-baseline-bad", "plan --model Qwen/Qwen3-8B --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --baseline h20", 2},
	{"plan-baseline-too-small", "plan --model deepseek-ai/DeepSeek-R1 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --baseline 2xh20", 1},
	{"plan-mixed-percentiles", "plan --model meta-llama/Llama-3.1-8B-Instruct --rate 5 --input-tokens 1000 --output-tokens 200 --ttft-p90 1s --tpot-p99 50ms", 2},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case runs its own Main over its own buffers
			var stdout, stderr bytes.Buffer
			code := Main(strings.Fields(tc.args), strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
			if code != tc.code {
				t.Errorf("ersatz %s: exit %d, want %d\nstderr: %s", tc.args, code, tc.code, stderr.String())
			}
			check(t, tc.name+".stdout", stdout.Bytes())
			check(t, tc.name+".stderr", stderr.Bytes())
		})
	}
}

func check(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s", name, diff(string(want), string(got)))
	}
}

// diff is a line diff good enough for small golden files.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestNoPanicOnBadInput feeds every command malformed flags; none may
// panic, and each must exit 1 or 2 with a message.
func TestNoPanicOnBadInput(t *testing.T) {
	bad := [][]string{{"--nope"}, {"--model"}, {"--chips", "x"}, {"--model", "", "--chip", ""}}
	for name := range commands {
		for _, args := range bad {
			var stdout, stderr bytes.Buffer
			code := Main(append([]string{name}, args...), strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
			if code == 0 && name != "chips" && name != "models" && name != "nodes" {
				t.Errorf("ersatz %s %v: exit 0 on bad input", name, args)
			}
			if code != 0 && stderr.Len() == 0 {
				t.Errorf("ersatz %s %v: exit %d with no message", name, args, code)
			}
		}
	}
}
