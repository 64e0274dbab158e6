package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The same seed gives byte-identical records, one JSON line per request.
func TestSimulateRecordsDeterministic(t *testing.T) {
	dir := t.TempDir()
	run := func(name string, seed string) []byte {
		path := filepath.Join(dir, name)
		args := strings.Fields("simulate --model Qwen/Qwen3-8B --chip h100 --chips 1 --rate 20 --requests 500 --lengths lognormal --json --seed " + seed + " --records " + path)
		var stdout, stderr bytes.Buffer
		if code := Main(args, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" }); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	a, b, c := run("a.jsonl", "7"), run("b.jsonl", "7"), run("c.jsonl", "8")
	if !bytes.Equal(a, b) {
		t.Error("same seed, different records")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same records")
	}
	lines := bytes.Split(bytes.TrimSpace(a), []byte("\n"))
	if len(lines) != 500 {
		t.Fatalf("%d record lines, want 500", len(lines))
	}
	var rec struct {
		ID          int64   `json:"id"`
		ArrivalS    float64 `json:"arrival_s"`
		FirstTokenS float64 `json:"first_token_s"`
		FinishS     float64 `json:"finish_s"`
		TTFTS       float64 `json:"ttft_s"`
	}
	for _, l := range lines {
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatalf("record %q: %v", l, err)
		}
		if !(rec.ArrivalS <= rec.FirstTokenS && rec.FirstTokenS <= rec.FinishS) || rec.TTFTS <= 0 {
			t.Fatalf("record out of order: %s", l)
		}
	}
}

func TestSimulateTrace(t *testing.T) {
	trace := "../workload/testdata/azure_conv_head50.csv" // Azure LLM inference trace 2023, CC-BY 4.0
	var stdout, stderr bytes.Buffer
	args := []string{"simulate", "--model", "deepseek-ai/DeepSeek-R1", "--chip", "ascend-910c", "--chips", "8", "--weights", "int8",
		"--trace", trace, "--replicas", "2", "--prefill-replicas", "1", "--json"}
	if code := Main(args, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var sum struct {
		Requests, Finished, Rejected int
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Requests == 0 || sum.Finished+sum.Rejected != sum.Requests {
		t.Errorf("summary %+v: every request must finish or be reported", sum)
	}
}
