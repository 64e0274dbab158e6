package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"ersatz/internal/openai"
)

// Kinds of failure, counted separately; none of them ends a run.
const (
	KindHTTP      = "http_status"   // a status other than 200
	KindTimeout   = "timeout"       // the request outlived Config.Timeout
	KindDropped   = "dropped"       // the connection failed, or the stream ended before [DONE]
	KindMalformed = "malformed_sse" // an event that is not the API's JSON
	KindCancelled = "cancelled"     // the run was interrupted
)

// chunk covers the streamed events of both endpoints.
type chunk struct {
	Choices []struct {
		Text  string `json:"text"`
		Delta struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
		} `json:"delta"`
	} `json:"choices"`
	Usage *openai.Usage `json:"usage"`
	Error *openai.Error `json:"error"`
}

// body returns the JSON request for item.
func (c *Config) body(it *Item) ([]byte, error) {
	max := it.Output
	opts := &openai.StreamOptions{IncludeUsage: true}
	if c.Endpoint == EndpointChat {
		return json.Marshal(struct {
			openai.ChatRequest
			MinTokens int `json:"min_tokens,omitempty"`
		}{openai.ChatRequest{Model: c.Model, Messages: []openai.Message{{Role: "user", Content: openai.Content{Text: it.Prompt}}},
			MaxTokens: &max, MaxCompletionTokens: &max, Stream: true, StreamOptions: opts, IgnoreEOS: c.IgnoreEOS}, minTokens(c, max)})
	}
	return json.Marshal(struct {
		openai.CompletionRequest
		MinTokens int `json:"min_tokens,omitempty"`
	}{openai.CompletionRequest{Model: c.Model, Prompt: openai.Prompt{Texts: []string{it.Prompt}},
		MaxTokens: &max, Stream: true, StreamOptions: opts, IgnoreEOS: c.IgnoreEOS}, minTokens(c, max)})
}

func minTokens(c *Config, max int) int {
	if c.IgnoreEOS {
		return max
	}
	return 0
}

// do sends one request and measures it. It never returns an error: a
// failure is the record's Kind.
func (c *Config) do(run context.Context, it *Item, rec *Record) {
	body, err := c.body(it)
	if err != nil {
		rec.fail(KindMalformed, err)
		return
	}
	ctx, cancel := context.WithTimeout(run, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+c.Endpoint, bytes.NewReader(body))
	if err != nil {
		rec.fail(KindDropped, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	start := c.Clock.Now()
	rec.started = start
	resp, err := c.Client.Do(req)
	if err != nil {
		rec.fail(kindOf(run, ctx, err), err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		rec.Status = resp.StatusCode
		rec.fail(KindHTTP, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg)))
		return
	}
	rec.Status = resp.StatusCode
	r := openai.NewReader(resp.Body, 0)
	var last time.Time
	var text int // bytes of text received
	var usage *openai.Usage
	for {
		data, err := r.Next()
		if err != nil {
			if err == io.EOF {
				err = errors.New("stream ended before [DONE]")
			}
			rec.fail(kindOf(run, ctx, err), err)
			c.finish(rec, start, last, text, usage)
			return
		}
		if string(data) == openai.Done {
			break
		}
		var ch chunk
		if err := json.Unmarshal(data, &ch); err != nil {
			rec.fail(KindMalformed, fmt.Errorf("event %.60q: %w", data, err))
			c.finish(rec, start, last, text, usage)
			return
		}
		if ch.Error != nil {
			rec.fail(KindHTTP, fmt.Errorf("in-stream error: %s", ch.Error.Message))
			c.finish(rec, start, last, text, usage)
			return
		}
		if ch.Usage != nil {
			usage = ch.Usage
		}
		n := 0
		for _, cc := range ch.Choices {
			n += len(cc.Text) + len(cc.Delta.Content) + len(cc.Delta.ReasoningContent)
		}
		if n == 0 {
			continue
		}
		now := c.Clock.Now()
		if last.IsZero() {
			rec.TTFTS = now.Sub(start).Seconds()
		} else {
			rec.ITLS = append(rec.ITLS, now.Sub(last).Seconds())
		}
		last = now
		text += n
	}
	c.finish(rec, start, last, text, usage)
}

// finish fills the record's totals from what arrived.
func (c *Config) finish(rec *Record, start, last time.Time, text int, usage *openai.Usage) {
	rec.E2ELS = c.Clock.Now().Sub(start).Seconds()
	if usage != nil {
		rec.OutputTokens = usage.CompletionTokens
		if usage.PromptTokens > 0 {
			rec.InputTokens = usage.PromptTokens
		}
	} else {
		rec.OutputTokens = (text + openai.BytesPerToken - 1) / openai.BytesPerToken
	}
	if rec.OutputTokens > 1 && !last.IsZero() {
		rec.TPOTS = (last.Sub(start).Seconds() - rec.TTFTS) / float64(rec.OutputTokens-1)
	}
}

// kindOf classifies a failure: the run ended (cancelled), the request's
// own limit passed (timeout), or the connection failed (dropped).
func kindOf(run, req context.Context, err error) string {
	switch {
	case run.Err() != nil:
		return KindCancelled
	case req.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	}
	return KindDropped
}
