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

// The public traces replay on DeepSeek-R1 on Ascend 910C and on H20,
// aggregated and disaggregated (the first 1,500 requests of each, to keep
// the test quick; `ersatz simulate` replays them whole).
func TestSimulatePublicTraces(t *testing.T) {
	t.Parallel()
	// The first 300 requests of each public trace (testdata/traces), on two
	// chips, aggregated on one and disaggregated on the other.
	dir := "testdata/traces"
	traces := []string{"azure_code_head300.csv", "azure_conv_head300.csv", "mooncake_conversation_head300.jsonl"}
	for _, chip := range []struct {
		id, weights string
		disagg      bool
	}{{"ascend-910c", "int8", false}, {"h20", "fp8", true}} {
		for _, tr := range traces {
			disagg := chip.disagg
			args := []string{"simulate", "--model", "deepseek-ai/DeepSeek-R1", "--chip", chip.id, "--chips", "8", "--weights", chip.weights,
				"--trace", filepath.Join(dir, tr), "--requests", "300", "--replicas", "4", "--prefix-caching", "--json"}
			if disagg {
				args = append(args, "--prefill-replicas", "4")
			}
			var stdout, stderr bytes.Buffer
			if code := Main(args, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" }); code != 0 {
				t.Errorf("%s %s disagg=%v: exit %d: %s", chip.id, tr, disagg, code, stderr.String())
				continue
			}
			var sum struct{ Requests, Finished, Rejected int }
			if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
				t.Fatal(err)
			}
			if sum.Requests != 300 || sum.Finished+sum.Rejected != sum.Requests {
				t.Errorf("%s %s disagg=%v: %+v", chip.id, tr, disagg, sum)
			}
		}
	}

}
