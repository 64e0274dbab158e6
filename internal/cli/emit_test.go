package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A one-chip plan without verification runs in well under a second.
const emitPlan = "plan --model deepseek-ai/DeepSeek-R1 --rate 5 --input-tokens 1000 --output-tokens 200 --ttft-p90 2s --tpot-p90 50ms --chip h200-sxm --verify 0"

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb, func(string) string { return "" })
	return code, out.String(), errb.String()
}

func TestPlanEmitK8s(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deploy")
	args := append(strings.Fields(emitPlan), "--emit", "k8s", dir)
	code, stdout, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Recommended") || !strings.Contains(stderr, "wrote 3 files") {
		t.Errorf("want the plan on stdout and the files on stderr; stderr: %s", stderr)
	}
	dep := filepath.Join(dir, "deepseek-r1-deployment.yaml")
	data, err := os.ReadFile(dep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "nvidia.com/gpu:") || !strings.Contains(string(data), "--tensor-parallel-size") {
		t.Errorf("deployment lacks the device resource or the engine flags:\n%s", data)
	}
	// A second run refuses to overwrite and leaves the files as they were.
	if err := os.WriteFile(dep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(args...)
	if code != 1 || !strings.Contains(stderr, "exists; remove it or give --force") {
		t.Errorf("second run: exit %d, stderr %q; want 1 and a refusal", code, stderr)
	}
	if b, _ := os.ReadFile(dep); string(b) != "mine" {
		t.Errorf("the refused run changed %s", dep)
	}
	if code, _, stderr = runCLI(append(args, "--force")...); code != 0 {
		t.Errorf("--force: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(dep); string(b) == "mine" {
		t.Errorf("--force did not overwrite %s", dep)
	}
}

func TestPlanEmitLaunch(t *testing.T) {
	code, stdout, stderr := runCLI(append(strings.Fields(emitPlan), "--emit", "launch", "--plan", "1")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "#!/usr/bin/env bash") || !strings.Contains(stdout, "vllm serve deepseek-ai/DeepSeek-R1") || strings.Contains(stdout, "Recommended") {
		t.Errorf("want only the launch script on stdout, got:\n%s", stdout)
	}
}

// A row the policy denies is emitted, with a note on stderr.
func TestPlanEmitDeniedRow(t *testing.T) {
	code, stdout, stderr := runCLI(append(strings.Fields(emitPlan), "--policy", "cn-domestic", "--emit", "launch", "--plan", "1")...)
	if code != 0 || !strings.Contains(stdout, "vllm serve") || !strings.Contains(stderr, "row 1 (h200-sxm) is deny under the policy") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestPlanEmitErrors(t *testing.T) {
	for _, tc := range []struct {
		extra string
		code  int
		want  string
	}{
		{"--emit helm", 2, `--emit "helm": want k8s DIR or launch [DIR]`},
		{"--emit k8s", 2, "--emit k8s: give the directory"},
		{"--plan 2", 2, "go with --emit"},
		{"--emit launch --plan 9", 2, "--plan 9: the plan table has 1 rows"},
		{"--emit launch --engine trtllm", 2, `engine "trtllm"`},
		{"--emit launch --namespace LLM", 2, `namespace "LLM"`},
		// A plan for a chip the engine has no build for is refused with one line.
		{"--emit launch --engine mindie", 1, "MindIE serves Ascend only"},
	} {
		code, _, stderr := runCLI(append(strings.Fields(emitPlan), strings.Fields(tc.extra)...)...)
		oneLine := !strings.Contains(strings.TrimSpace(stderr), "\n")
		if code != tc.code || !strings.Contains(stderr, tc.want) || (tc.code == 1 && !oneLine) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.extra, code, stderr, tc.code, tc.want)
		}
	}
}

func TestTakeDir(t *testing.T) {
	for _, tc := range []struct {
		in, out, dir string
	}{
		{"--emit k8s out --json", "--emit k8s --json", "out"},
		{"--emit=k8s out", "--emit=k8s", "out"},
		{"-emit launch --plan 2", "-emit launch --plan 2", ""},
		{"--model m --emit launch", "--model m --emit launch", ""},
		{"-- --emit k8s x", "-- --emit k8s x", ""},
	} {
		var em emitFlags
		got := strings.Join(em.takeDir(strings.Fields(tc.in)), " ")
		if got != tc.out || em.dir != tc.dir {
			t.Errorf("takeDir(%q) = %q, dir %q; want %q, dir %q", tc.in, got, em.dir, tc.out, tc.dir)
		}
	}
}
