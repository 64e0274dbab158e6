package cli

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// TestBoundedMemory: memory follows the requests in flight, not the
// capacity of the hardware. Sixty-four replicas of eight MI355X (288 GB
// each) hold about a billion KV tokens between them; ten requests need a
// few hundred blocks. The bound is on everything the run allocates, which
// is at least its peak: 200 MB (the figure; the run allocates about
// 10 MB). An absurd load gets a clear answer, not an out-of-memory death.
func TestBoundedMemory(t *testing.T) {
	run := func(args ...string) (int, string, uint64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var stdout, stderr bytes.Buffer
		code := Main(args, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
		runtime.ReadMemStats(&after)
		return code, stderr.String(), after.TotalAlloc - before.TotalAlloc
	}
	code, stderr, alloc := run("simulate", "--model", "meta-llama/Llama-3.2-1B-Instruct", "--chip", "mi355x", "--chips", "8",
		"--replicas", "64", "--rate", "1", "--requests", "10")
	if code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	if alloc > 200<<20 {
		t.Errorf("64-replica simulate allocated %d MB, want under 200 MB", alloc>>20)
	}
	code, stderr, alloc = run("plan", "--model", "deepseek-ai/DeepSeek-R1", "--rate", "1e12", "--input-tokens", "1155",
		"--output-tokens", "211", "--ttft-p90", "2s", "--tpot-p90", "50ms", "--verify", "0")
	if code != 1 || !strings.Contains(stderr, "more chips than the largest cluster") {
		t.Errorf("plan at 1e12 req/s: exit %d, %q; want 1 and the reason", code, stderr)
	}
	if alloc > 200<<20 {
		t.Errorf("plan at 1e12 req/s allocated %d MB, want under 200 MB", alloc>>20)
	}
}

// BenchmarkREADMEPlan is the README's main job as a user runs it (2,000
// requests in each verification simulation) (goal: under 200 MB and 10 s):
//
//	go test ./internal/cli -run XXX -bench READMEPlan -benchmem -benchtime 3x
func BenchmarkREADMEPlan(b *testing.B) {
	benchMain(b, "plan --model deepseek-ai/DeepSeek-R1 --input-tokens 1155 --output-tokens 211 --ttft-p90 2s --tpot-p90 50ms --policy cn-domestic --baseline 64xh20")
}

// BenchmarkWideSimulate is 64 replicas of eight MI355X carrying ten
// requests (goal: under 200 MB and 10 s).
func BenchmarkWideSimulate(b *testing.B) {
	benchMain(b, "simulate --model meta-llama/Llama-3.2-1B-Instruct --chip mi355x --chips 8 --replicas 64 --rate 1 --requests 10")
}

func benchMain(b *testing.B, cmd string) {
	args := strings.Fields(cmd)
	b.ReportAllocs()
	for b.Loop() {
		var stdout, stderr bytes.Buffer
		if code := Main(args, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" }); code != 0 {
			b.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
}
