package emulator

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ersatz/internal/openai"
	"ersatz/internal/sim"
)

// testEmulatorConfig is one replica timed by a linear stand-in roughly
// shaped like a 14B model on an H100 (6 ms a step, 0.03 ms a decoding
// sequence, 0.06 ms per thousand KV tokens, 0.09 ms a prompt token;
// illustrative, not measured).
func testEmulatorConfig() sim.Config {
	timer := &sim.LinearStepTimer{BaseS: 6e-3, PerDecodeSeqS: 0.03e-3, PerKVTokenS: 0.06e-3 / 1000, PerPrefillTokenS: 0.09e-3}
	return sim.Config{Pool: sim.Pool{Replicas: 1, Timer: timer, Engine: sim.EngineConfig{KVTokens: 1 << 16}}}
}

func testEmulator(t *testing.T) *Emulator {
	t.Helper()
	e, err := New(Options{Model: "m", MaxModelLen: 1024, MaxBodyBytes: 4096, Sim: testEmulatorConfig()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func post(e *Emulator, path, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	return w
}

// TestErrors: bad requests get OpenAI-style error JSON with the right status.
func TestErrors(t *testing.T) {
	e := testEmulator(t)
	for _, tc := range []struct {
		path, body string
		status     int
		param      string
	}{
		{"/v1/completions", `{"prompt": `, 400, ""},
		{"/v1/completions", `{"model":"m"}`, 400, "prompt"},
		{"/v1/completions", `{"model":"other","prompt":"hi"}`, 404, "model"},
		{"/v1/completions", `{"prompt":"hi","max_tokens":0}`, 400, "max_tokens"},
		{"/v1/completions", `{"prompt":"hi","max_tokens":1024}`, 400, "max_tokens"}, // 1 + 1024 > 1024
		{"/v1/completions", `{"prompt":"` + strings.Repeat("x", 5000) + `"}`, 413, ""},
		{"/v1/chat/completions", `{"messages":[]}`, 400, "messages"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":""}]}`, 400, "prompt"},
		{"/v1/nothing", `{}`, 404, ""},
	} {
		w := post(e, tc.path, tc.body)
		var b openai.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || w.Code != tc.status || b.Error.Code != tc.status || b.Error.Message == "" {
			t.Errorf("%s %.40s: %d %s, want %d with an error object", tc.path, tc.body, w.Code, w.Body, tc.status)
			continue
		}
		if tc.param != "" && (b.Error.Param == nil || *b.Error.Param != tc.param) {
			t.Errorf("%s %.40s: param %v, want %q", tc.path, tc.body, b.Error.Param, tc.param)
		}
	}
}

// TestStreamAndMetrics runs a streamed chat and a plain completion through
// the emulated engine under a fake clock, then reads /metrics.
func TestStreamAndMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := testEmulator(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go e.Run(ctx)
		start := time.Now()
		w := post(e, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"`+openai.SyntheticText(100, 1)+`"}],
			"max_tokens":4,"stream":true,"stream_options":{"include_usage":true}}`)
		// H100Dense14B: prefill 6 ms + 100 × 0.09 ms = 15 ms; each decode
		// 6 ms + 0.03 ms + ~0.006 ms of KV: 15 + 3 × 6.036 = 33.1 ms.
		if got := time.Since(start); got < 33*time.Millisecond || got > 34*time.Millisecond {
			t.Errorf("stream took %v of emulated time, want 33.1 ms", got)
		}
		r := openai.NewReader(w.Body, 0)
		var text strings.Builder
		var usage *openai.Usage
		events := 0
		for {
			data, err := r.Next()
			if err != nil {
				t.Fatalf("after %d events: %v", events, err)
			}
			if string(data) == openai.Done {
				break
			}
			events++
			var c openai.ChatChunk
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			if c.Object != openai.ObjectChatChunk {
				t.Errorf("object %q", c.Object)
			}
			for _, ch := range c.Choices {
				text.WriteString(ch.Delta.Content)
			}
			if c.Usage != nil {
				usage = c.Usage
			}
		}
		if events != 5 || openai.CountTokens(text.String()) != 4 || usage == nil || *usage != (openai.Usage{PromptTokens: 100, CompletionTokens: 4, TotalTokens: 104}) {
			t.Errorf("%d events, text %q, usage %+v; want 4 token chunks, a usage chunk of 100+4", events, text.String(), usage)
		}
		w = post(e, "/v1/completions", `{"prompt":"abcd","max_tokens":3}`)
		var c openai.Completion
		if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || c.Usage.CompletionTokens != 3 || *c.Choices[0].FinishReason != "length" {
			t.Errorf("completion %s", w.Body)
		}
		mw := httptest.NewRecorder()
		e.ServeHTTP(mw, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		body, _ := io.ReadAll(mw.Body)
		for _, name := range []string{"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "vllm:num_requests_running", "vllm:num_requests_waiting",
			"vllm:time_to_first_token_seconds_count{model_name=\"m\"} 2", "vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds",
			"vllm:e2e_request_latency_seconds", "vllm:prompt_tokens_total{model_name=\"m\"} 101", "vllm:generation_tokens_total{model_name=\"m\"} 7"} {
			if !strings.Contains(string(body), name) {
				t.Errorf("/metrics lacks %s", name)
			}
		}
		e.Drain()
		if w := post(e, "/v1/completions", `{"prompt":"abcd"}`); w.Code != http.StatusServiceUnavailable {
			t.Errorf("draining: %d, want 503", w.Code)
		}
		cancel()
	})
}

func TestRoutes(t *testing.T) {
	e := testEmulator(t)
	for path, want := range map[string]string{"/health": "", "/v1/models": `"id":"m"`} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
		}
	}
	if _, err := New(Options{Model: "m", TimeScale: -1, Sim: sim.Config{}}); err == nil {
		t.Error("time scale -1: want an error")
	}
}
