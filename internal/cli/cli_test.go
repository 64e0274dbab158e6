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
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
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
