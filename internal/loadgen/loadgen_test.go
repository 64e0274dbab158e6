package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ersatz/internal/openai"
	"ersatz/internal/workload"
)

// faultyServer answers by request number: 0 → HTTP 500, 1 → stalls until
// the client gives up, 2 → streams two tokens then drops the connection,
// 3 → a malformed event, 4 and above → a well-formed stream of the tokens
// asked for.
func faultyServer(t *testing.T) *httptest.Server {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body openai.CompletionRequest
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("server: %v", err)
		}
		k := n.Add(1) - 1
		switch k % 8 {
		case 0:
			http.Error(w, `{"error":{"message":"boom","type":"server_error","code":500}}`, http.StatusInternalServerError)
			return
		case 1:
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range *body.MaxTokens {
			if k%8 == 2 && i == 2 {
				panic(http.ErrAbortHandler) // the connection drops mid-stream
			}
			if k%8 == 3 && i == 1 {
				fmt.Fprint(w, "data: {\"choices\": [\n\n")
				rc.Flush()
				return
			}
			openai.WriteEvent(w, openai.Completion{Object: openai.ObjectCompletion, Choices: []openai.CompletionChoice{{Text: openai.Word(i)}}})
			rc.Flush()
		}
		openai.WriteEvent(w, openai.Completion{Object: openai.ObjectCompletion, Choices: []openai.CompletionChoice{},
			Usage: &openai.Usage{PromptTokens: 10, CompletionTokens: *body.MaxTokens, TotalTokens: 10 + *body.MaxTokens}})
		openai.WriteDone(w)
	}))
}

func items(t *testing.T, n int) Items {
	a, _ := workload.Constant(1e9)
	in, _ := workload.Fixed(10)
	out, _ := workload.Fixed(5)
	g, err := workload.NewGenerator(workload.GeneratorConfig{Arrivals: a, Input: in, Output: out, Count: n}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return Synthetic{Source: g}
}

// TestFaults: every kind of failure is counted, none ends the run, and
// every request's record is delivered.
func TestFaults(t *testing.T) {
	srv := faultyServer(t)
	defer srv.Close()
	var recs []*Record
	res, err := Run(context.Background(), Config{URL: srv.URL, Endpoint: EndpointCompletions, Model: "m", Items: items(t, 16),
		Concurrency: 1, Timeout: 200 * time.Millisecond, OnRecord: func(r *Record) { recs = append(recs, r) }})
	if err != nil {
		t.Fatal(err)
	}
	// 16 requests in sequence: two of each failing kind (0-3 and 8-11), 8 good.
	want := map[string]int{KindHTTP: 2, KindTimeout: 2, KindDropped: 2, KindMalformed: 2}
	for k, n := range want {
		if res.ErrorsByKind[k] != n {
			t.Errorf("%s: %d, want %d (all: %v)", k, res.ErrorsByKind[k], n, res.ErrorsByKind)
		}
	}
	if res.Completed != 8 || res.Failed != 8 || len(recs) != 16 || res.HTTPStatus["500"] != 2 {
		t.Errorf("completed %d, failed %d, records %d, statuses %v; want 8, 8, 16, 500×2", res.Completed, res.Failed, len(recs), res.HTTPStatus)
	}
	if res.TotalOutputTokens != 8*5 || len(res.TTFTs) != 16 || len(res.Errors) != 16 {
		t.Errorf("output tokens %d, ttfts %d, errors %d; want 40, 16, 16", res.TotalOutputTokens, len(res.TTFTs), len(res.Errors))
	}
	for _, r := range recs {
		if r.OK() && (r.OutputTokens != 5 || len(r.ITLS) != 4 || r.TTFTS <= 0 || r.E2ELS < r.TTFTS) {
			t.Errorf("good record %+v: want 5 tokens, 4 gaps, 0 < TTFT ≤ E2EL", r)
		}
		if !r.OK() && r.Error == "" {
			t.Errorf("failed record %+v carries no message", r)
		}
	}
}

// TestResultNames: the result JSON carries vllm bench serve's names.
func TestResultNames(t *testing.T) {
	srv := faultyServer(t)
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Endpoint: EndpointCompletions, Model: "m", Items: items(t, 4), Timeout: 100 * time.Millisecond,
		Goodput: SLO{TTFTS: 10}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range strings.Fields(`duration completed failed total_input_tokens total_output_tokens request_throughput request_goodput
		output_throughput total_token_throughput input_lens output_lens ttfts itls start_times errors max_concurrent_requests
		mean_ttft_ms median_ttft_ms std_ttft_ms p99_ttft_ms mean_tpot_ms median_tpot_ms std_tpot_ms p99_tpot_ms
		mean_itl_ms median_itl_ms std_itl_ms p99_itl_ms mean_e2el_ms median_e2el_ms std_e2el_ms p99_e2el_ms`) {
		if _, ok := m[k]; !ok {
			t.Errorf("result JSON lacks %q", k)
		}
	}
}

// TestInterrupt: cancelling the run keeps what was measured.
func TestInterrupt(t *testing.T) {
	srv := faultyServer(t)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, err := Run(ctx, Config{URL: srv.URL, Endpoint: EndpointCompletions, Model: "m", Items: items(t, 1000), Concurrency: 1,
		Timeout: time.Minute, OnRecord: func(r *Record) {
			// Request 1 stalls until cancelled: cancel once request 0 is in.
			if n++; n == 1 {
				cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Completed+res.Failed != n || n > 3 {
		t.Fatalf("interrupted %v, %d+%d measured, %d records; want interrupted, all records kept, a few only", res.Interrupted, res.Completed, res.Failed, n)
	}
}

func TestDescribe(t *testing.T) {
	// 1..5: mean 3, population sd √2, median 3; p90 rank 0.9×4 = 3.6 → 4.6; p99 rank 3.96 → 4.96.
	s := Describe([]float64{5, 1, 4, 2, 3})
	if s.Mean != 3 || s.Median != 3 || fmt.Sprintf("%.4f %.2f %.2f", s.Std, s.P90, s.P99) != "1.4142 4.60 4.96" {
		t.Fatalf("got %+v", s)
	}
	if (Describe(nil) != Stats{}) {
		t.Fatal("empty sample: want zeros")
	}
}

func TestShareGPT(t *testing.T) {
	in := `[{"conversations":[{"from":"human","value":"` + strings.Repeat("abcd", 10) + `"},{"from":"gpt","value":"` + strings.Repeat("abcd", 20) + `"}]},
	{"conversations":[{"from":"human","value":"hi"},{"from":"gpt","value":"` + strings.Repeat("x", 100) + `"}]},
	{"conversations":[{"from":"gpt","value":"orphan"}]}]`
	c, err := ReadShareGPT(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	// Only the first passes: "hi" is 1 token (< 4), the third has no human turn.
	if len(c) != 1 || c[0].Input != 10 || c[0].Output != 20 {
		t.Fatalf("got %+v", c)
	}
	if _, err := ReadShareGPT(strings.NewReader(`{"x":1}`)); err == nil {
		t.Fatal("an object: want an error")
	}
}

func FuzzShareGPT(f *testing.F) {
	f.Add([]byte(`[{"conversations":[{"from":"human","value":"hello there"},{"from":"gpt","value":"general kenobi"}]}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ReadShareGPT(strings.NewReader(string(in)))
		if err == nil && len(c) == 0 {
			t.Fatal("no error and no conversations")
		}
	})
}
