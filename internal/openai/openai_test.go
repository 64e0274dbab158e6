package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSSERoundTrip(t *testing.T) {
	var buf bytes.Buffer
	want := []ChatChunk{{ID: "a", Object: ObjectChatChunk, Choices: []ChatChunkChoice{{Delta: Delta{Content: " the"}}}},
		{ID: "a", Object: ObjectChatChunk, Choices: []ChatChunkChoice{}, Usage: &Usage{PromptTokens: 3, CompletionTokens: 1, TotalTokens: 4}}}
	for _, c := range want {
		if err := WriteEvent(&buf, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteDone(&buf); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf, 0)
	for i := range want {
		data, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		var got ChatChunk
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != want[i].ID || (got.Usage == nil) != (want[i].Usage == nil) {
			t.Fatalf("event %d: got %+v, want %+v", i, got, want[i])
		}
	}
	data, err := r.Next()
	if err != nil || string(data) != Done {
		t.Fatalf("got %q, %v; want [DONE]", data, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after [DONE]: %v, want EOF", err)
	}
}

func TestSSEReader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  error
	}{
		{"data: a\n\n", []string{"a"}, io.EOF},
		{"data:a\r\n\r\n", []string{"a"}, io.EOF},                                   // no space, CRLF
		{": ping\nevent: x\nid: 3\ndata: a\ndata: b\n\n", []string{"a\nb"}, io.EOF}, // comment, other fields, multi-line data
		{"\n\ndata: a\n\ndata: b\n\n", []string{"a", "b"}, io.EOF},
		{"data: a\n\ndata: b", []string{"a"}, io.ErrUnexpectedEOF}, // cut mid-event
		{"data: " + strings.Repeat("x", 100) + "\n\n", nil, ErrLineTooLong},
	} {
		r := NewReader(strings.NewReader(tc.in), 64)
		var got []string
		var err error
		for {
			var d []byte
			if d, err = r.Next(); err != nil {
				break
			}
			got = append(got, string(d))
		}
		if !errors.Is(err, tc.err) || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q: got %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestPromptAndContent(t *testing.T) {
	var c CompletionRequest
	if err := json.Unmarshal([]byte(`{"model":"m","prompt":["ab",[1,2,3]],"max_tokens":5}`), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Prompt.Texts) != 1 || c.Prompt.Tokens != 3 || *c.MaxTokens != 5 {
		t.Fatalf("got %+v", c.Prompt)
	}
	var ch ChatRequest
	body := `{"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url"}]},{"role":"system","content":"x"}],"max_tokens":2,"max_completion_tokens":4}`
	if err := json.Unmarshal([]byte(body), &ch); err != nil {
		t.Fatal(err)
	}
	if ch.Messages[0].Content.Text != "hi" || ch.Messages[1].Content.Text != "x" || *ch.Limit() != 4 {
		t.Fatalf("got %+v", ch)
	}
	if err := json.Unmarshal([]byte(`{"prompt":{"a":1}}`), &c); err == nil {
		t.Fatal("an object prompt: want an error")
	}
}

func TestTokens(t *testing.T) {
	// 4 bytes a token, rounded up: "" 0, "abc" 1, "abcd" 1, "abcde" 2.
	for s, n := range map[string]int{"": 0, "abc": 1, "abcd": 1, "abcde": 2} {
		if got := CountTokens(s); got != n {
			t.Errorf("CountTokens(%q) = %d, want %d", s, got, n)
		}
	}
	if got := CountTokens(SyntheticText(123, 7)); got != 123 {
		t.Errorf("synthetic text of 123 tokens counts %d", got)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("data: {}\n\ndata: [DONE]\n\n"))
	f.Add([]byte(": c\r\ndata:x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), 256)
		for range len(in) + 1 {
			d, err := r.Next()
			if err != nil {
				return
			}
			if len(d) > len(in) {
				t.Fatalf("event longer than the input")
			}
		}
		t.Fatal("more events than bytes")
	})
}

func FuzzRequests(f *testing.F) {
	f.Add([]byte(`{"model":"m","prompt":"hi","stream":true}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var c CompletionRequest
		_ = json.Unmarshal(in, &c)
		var ch ChatRequest
		_ = json.Unmarshal(in, &ch)
	})
}

// BenchmarkChunk is the cost of one streamed chat chunk: encoding it as
// an SSE event, then reading and decoding it as a client does.
func BenchmarkChunk(b *testing.B) {
	c := ChatChunk{ID: "chatcmpl-1", Object: ObjectChatChunk, Created: 1, Model: "Qwen/Qwen3-14B",
		Choices: []ChatChunkChoice{{Delta: Delta{Content: " the"}}}}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteEvent(&buf, c); err != nil {
			b.Fatal(err)
		}
		data, err := NewReader(&buf, 0).Next()
		if err != nil {
			b.Fatal(err)
		}
		var got ChatChunk
		if err := json.Unmarshal(data, &got); err != nil {
			b.Fatal(err)
		}
	}
}
