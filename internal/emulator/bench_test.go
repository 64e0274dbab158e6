package emulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkStream measures the emulator's cost per streamed request of
// 64 tokens (a 64-token prompt, chat endpoint, usage chunk), the engine
// running 10⁶ times faster than real time so that only the work counts
// (the soak test shows memory is flat over time; this, what a request costs):
//
//	go test ./internal/emulator -run XXX -bench . -benchmem
func BenchmarkRequest(b *testing.B) {
	e, err := New(Options{Model: "m", MaxModelLen: 1024, TimeScale: 1e6, Sim: testEmulatorConfig()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx)
	body := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat(" the", 64) + `"}],"max_tokens":64,"stream":true,"stream_options":{"include_usage":true}}`
	b.ReportAllocs()
	chunks := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body)))
		if w.Code != http.StatusOK || !strings.HasSuffix(w.Body.String(), "data: [DONE]\n\n") {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		chunks += strings.Count(w.Body.String(), "data: ") - 2 // less the usage chunk and [DONE]
	}
	// At this time scale several engine steps fall between two wake-ups
	// and their tokens share a chunk; chunks/op says how many were sent.
	b.ReportMetric(float64(chunks)/float64(b.N), "chunks/op")
}
