// Package openai holds the wire types of the OpenAI-compatible serving API
// (completions, chat completions, streaming chunks, usage, models, errors)
// as vLLM and its peers speak it, and Server-Sent Events encoding and
// decoding over io.Writer and io.Reader. It does no network I/O.
package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// StreamOptions are a streaming request's options.
type StreamOptions struct {
	// IncludeUsage asks for one extra chunk before [DONE] with empty
	// choices and the request's usage.
	IncludeUsage bool `json:"include_usage,omitempty"`
}

// CompletionRequest is the body of POST /v1/completions.
type CompletionRequest struct {
	Model         string         `json:"model"`
	Prompt        Prompt         `json:"prompt"`
	MaxTokens     *int           `json:"max_tokens,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	// IgnoreEOS is vLLM's extension: generate max_tokens whatever the
	// model would have stopped at.
	IgnoreEOS bool `json:"ignore_eos,omitempty"`
}

// ChatRequest is the body of POST /v1/chat/completions.
type ChatRequest struct {
	Model     string    `json:"model"`
	Messages  []Message `json:"messages"`
	MaxTokens *int      `json:"max_tokens,omitempty"`
	// MaxCompletionTokens is the newer name of MaxTokens; it wins when both are set.
	MaxCompletionTokens *int           `json:"max_completion_tokens,omitempty"`
	Stream              bool           `json:"stream,omitempty"`
	StreamOptions       *StreamOptions `json:"stream_options,omitempty"`
	Temperature         *float64       `json:"temperature,omitempty"`
	IgnoreEOS           bool           `json:"ignore_eos,omitempty"`
}

// Limit is the output cap the request asks for, or nil.
func (c *ChatRequest) Limit() *int {
	if c.MaxCompletionTokens != nil {
		return c.MaxCompletionTokens
	}
	return c.MaxTokens
}

// Message is one chat message. Content is a string, or an array of parts
// of which the text parts count.
type Message struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Content is a message's text: a JSON string or an array of
// {"type":"text","text":...} parts (others are kept out of Text).
type Content struct{ Text string }

// MarshalJSON writes Content as a string.
func (c Content) MarshalJSON() ([]byte, error) { return json.Marshal(c.Text) }

// UnmarshalJSON accepts a string, null, or an array of parts.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		c.Text = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &c.Text)
	case len(b) > 0 && b[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return fmt.Errorf("content parts: %w", err)
		}
		var sb bytes.Buffer
		for _, p := range parts {
			if p.Type == "text" {
				sb.WriteString(p.Text)
			}
		}
		c.Text = sb.String()
		return nil
	}
	return errors.New("content: want a string or an array of parts")
}

// Prompt is a completion prompt: a string, an array of strings, an array
// of token ids, or an array of those. Texts holds the strings, Tokens the
// count of token ids given directly.
type Prompt struct {
	Texts  []string
	Tokens int
	set    bool
}

// IsSet reports whether the request carried a prompt.
func (p Prompt) IsSet() bool { return p.set }

// MarshalJSON writes one string, or an array of strings.
func (p Prompt) MarshalJSON() ([]byte, error) {
	if len(p.Texts) == 1 {
		return json.Marshal(p.Texts[0])
	}
	return json.Marshal(p.Texts)
}

// UnmarshalJSON accepts every prompt form of the API.
func (p *Prompt) UnmarshalJSON(b []byte) error {
	*p = Prompt{set: true}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		p.Texts = []string{s}
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return errors.New("prompt: want a string, an array of strings or an array of token ids")
	}
	for _, r := range raw {
		var s string
		var n int64
		var ids []int64
		switch {
		case json.Unmarshal(r, &s) == nil:
			p.Texts = append(p.Texts, s)
		case json.Unmarshal(r, &n) == nil:
			p.Tokens++
		case json.Unmarshal(r, &ids) == nil:
			p.Tokens += len(ids)
		default:
			return errors.New("prompt: want a string, an array of strings or an array of token ids")
		}
	}
	return nil
}

// Usage is a request's token accounting.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Completion is a non-streamed /v1/completions answer, and (with Object
// "text_completion" and one token of Text per chunk) its stream chunks.
type Completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []CompletionChoice `json:"choices"`
	Usage   *Usage             `json:"usage"`
}

// CompletionChoice is one completion.
type CompletionChoice struct {
	Index        int     `json:"index"`
	Text         string  `json:"text"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

// ChatCompletion is a non-streamed /v1/chat/completions answer.
type ChatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	Usage   *Usage       `json:"usage"`
}

// ChatChoice is one chat answer.
type ChatChoice struct {
	Index        int         `json:"index"`
	Message      ChatMessage `json:"message"`
	FinishReason *string     `json:"finish_reason"`
}

// ChatMessage is an answer's message.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatChunk is one streamed chat event ("chat.completion.chunk").
type ChatChunk struct {
	ID      string            `json:"id"`
	Object  string            `json:"object"`
	Created int64             `json:"created"`
	Model   string            `json:"model"`
	Choices []ChatChunkChoice `json:"choices"`
	Usage   *Usage            `json:"usage"`
}

// ChatChunkChoice is a chunk's choice.
type ChatChunkChoice struct {
	Index        int     `json:"index"`
	Delta        Delta   `json:"delta"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

// Delta is the new part of a streamed message.
type Delta struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content,omitempty"`
}

// Object names.
const (
	ObjectCompletion = "text_completion"
	ObjectChat       = "chat.completion"
	ObjectChatChunk  = "chat.completion.chunk"
	ObjectList       = "list"
	ObjectModel      = "model"
)

// Finish reasons.
const (
	FinishLength = "length"
	FinishStop   = "stop"
)

// Model is one entry of GET /v1/models.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// MaxModelLen is vLLM's extension: the context limit.
	MaxModelLen int `json:"max_model_len,omitempty"`
}

// ModelList is the body of GET /v1/models.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}

// ErrorBody is an error answer: {"error": {...}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error is the API's error object.
type Error struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    int     `json:"code"`
}

// Error types.
const (
	ErrInvalidRequest = "invalid_request_error"
	ErrNotFound       = "not_found_error"
	ErrServer         = "server_error"
	ErrUnavailable    = "service_unavailable"
)
