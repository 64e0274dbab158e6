package calibrate

import (
	"strings"
	"testing"
)

// vllmResult is the shape of vllm bench serve --save-result, with
// Python's Infinity for the request rate.
const vllmResult = `{"date": "20261201-101500", "backend": "vllm", "model_id": "Qwen/Qwen3-14B", "request_rate": Infinity,
 "max_concurrency": 8, "completed": 2, "failed": 1,
 "input_lens": [100, 200, 300], "output_lens": [3, 1, 0], "ttfts": [0.05, 0.07, 0.0],
 "itls": [[0.01, 0.03], [], []], "start_times": [10.5, 10.0, 11.0], "errors": ["", "", "timeout"]}`

func TestParseVLLM(t *testing.T) {
	reqs, meta, err := ParseResult([]byte(vllmResult))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Model != "Qwen/Qwen3-14B" || meta.RequestRate != nil || *meta.MaxConcurrency != 8 {
		t.Errorf("meta %+v", meta)
	}
	// Start times relative to the earliest (10.0); TPOT of the first is
	// (0.01 + 0.03) / (3 − 1) = 0.02; the third failed.
	want := []Request{{StartS: 0.5, Input: 100, Output: 3, TTFTS: 0.05, TPOTS: 0.02, OK: true},
		{StartS: 0, Input: 200, Output: 1, TTFTS: 0.07, OK: true},
		{StartS: 1, Input: 300, Output: 0}}
	for i := range want {
		if reqs[i] != want[i] {
			t.Errorf("request %d: %+v, want %+v", i, reqs[i], want[i])
		}
	}
}

func TestParseRecords(t *testing.T) {
	in := `{"id":0,"start_s":0.1,"input_tokens":10,"requested_output_tokens":4,"output_tokens":4,"ttft_s":0.02,"tpot_s":0.01,"e2el_s":0.05}
{"id":1,"start_s":0.2,"input_tokens":10,"requested_output_tokens":4,"output_tokens":0,"error_kind":"http_status"}
`
	reqs, _, err := ParseResult([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || !reqs[0].OK || reqs[1].OK || reqs[1].Output != 4 || reqs[0].TPOTS != 0.01 {
		t.Fatalf("got %+v", reqs)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{`{"input_lens": [1], "output_lens": [1], "ttfts": [0.1], "itls": [[]]}`, "start_times"},
		{`{"input_lens": [1, 2], "output_lens": [1], "ttfts": [0.1], "itls": [[]], "start_times": [0]}`, "equal lengths"},
		{`{"completed": 3}`, "input_lens"},
		{"{\"id\":1}\n{\"id\":2}", "start_s"},
		{"not json\n", "line 1"},
	} {
		_, _, err := ParseResult([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: %v, want an error naming %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseResult(f *testing.F) {
	f.Add([]byte(vllmResult))
	f.Add([]byte(`{"start_s":0,"output_tokens":2}` + "\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		reqs, _, err := ParseResult(in)
		if err == nil && len(reqs) == 0 {
			t.Fatal("no error and no requests")
		}
	})
}
