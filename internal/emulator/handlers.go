package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"ersatz/internal/openai"
)

// request is what both endpoints reduce to.
type request struct {
	chat         bool
	model        string
	input        int
	maxTokens    *int
	stream       bool
	includeUsage bool
}

func (e *Emulator) completions(w http.ResponseWriter, r *http.Request) {
	var body openai.CompletionRequest
	if !e.decode(w, r, &body) {
		return
	}
	if !body.Prompt.IsSet() {
		writeError(w, http.StatusBadRequest, openai.ErrInvalidRequest, "prompt: required", ptr("prompt"))
		return
	}
	n := body.Prompt.Tokens
	for _, t := range body.Prompt.Texts {
		n += openai.CountTokens(t)
	}
	req := request{model: body.Model, input: n, maxTokens: body.MaxTokens, stream: body.Stream}
	if body.StreamOptions != nil {
		req.includeUsage = body.StreamOptions.IncludeUsage
	}
	e.serve(w, r, req)
}

func (e *Emulator) chat(w http.ResponseWriter, r *http.Request) {
	var body openai.ChatRequest
	if !e.decode(w, r, &body) {
		return
	}
	if len(body.Messages) == 0 {
		writeError(w, http.StatusBadRequest, openai.ErrInvalidRequest, "messages: want at least one message", ptr("messages"))
		return
	}
	n := 0
	for _, m := range body.Messages {
		n += openai.CountTokens(m.Content.Text)
	}
	req := request{chat: true, model: body.Model, input: n, maxTokens: body.Limit(), stream: body.Stream}
	if body.StreamOptions != nil {
		req.includeUsage = body.StreamOptions.IncludeUsage
	}
	e.serve(w, r, req)
}

// decode reads a JSON body within the size limit, answering 400 or 413.
func (e *Emulator) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, e.opt.MaxBodyBytes)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, openai.ErrInvalidRequest,
				fmt.Sprintf("request body over %d bytes", e.opt.MaxBodyBytes), nil)
			return false
		}
		writeError(w, http.StatusBadRequest, openai.ErrInvalidRequest, "parsing the request body: "+err.Error(), nil)
		return false
	}
	return true
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, req request) {
	if req.model != "" && req.model != e.opt.Model {
		writeError(w, http.StatusNotFound, openai.ErrNotFound, fmt.Sprintf("The model `%s` does not exist.", req.model), ptr("model"))
		return
	}
	if req.input < 1 {
		writeError(w, http.StatusBadRequest, openai.ErrInvalidRequest, "the prompt is empty", ptr("prompt"))
		return
	}
	out := e.opt.DefaultMaxTokens
	if req.maxTokens != nil {
		out = *req.maxTokens
		if out < 1 {
			writeError(w, http.StatusBadRequest, openai.ErrInvalidRequest, fmt.Sprintf("max_tokens must be at least 1, got %d.", out), ptr("max_tokens"))
			return
		}
	} else {
		out = min(out, e.opt.MaxModelLen-req.input)
	}
	if req.input+out > e.opt.MaxModelLen {
		writeError(w, http.StatusBadRequest, openai.ErrInvalidRequest, fmt.Sprintf(
			"This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.",
			e.opt.MaxModelLen, req.input+out, req.input, out), ptr("max_tokens"))
		return
	}
	id, st, err := e.admit(req.input, out)
	switch {
	case errors.Is(err, errDraining):
		writeError(w, http.StatusServiceUnavailable, openai.ErrUnavailable, err.Error(), nil)
		return
	case errors.Is(err, errRejected):
		writeError(w, http.StatusBadRequest, openai.ErrInvalidRequest, err.Error(), nil)
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, openai.ErrServer, "simulation failed: "+err.Error(), nil)
		return
	}
	defer e.release(id)
	rid := fmt.Sprintf("cmpl-%d", id)
	if req.chat {
		rid = fmt.Sprintf("chatcmpl-%d", id)
	}
	created := e.clock.Now().Unix()
	if req.stream {
		e.stream(w, r, req, st, rid, created)
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-st.notify:
		}
		_, done, err := e.progress(st)
		if err != nil {
			writeError(w, http.StatusInternalServerError, openai.ErrServer, "simulation failed: "+err.Error(), nil)
			return
		}
		if done {
			break
		}
	}
	text := synthetic(0, out)
	usage := &openai.Usage{PromptTokens: req.input, CompletionTokens: out, TotalTokens: req.input + out}
	finish := ptr(openai.FinishLength)
	w.Header().Set("Content-Type", "application/json")
	if req.chat {
		json.NewEncoder(w).Encode(openai.ChatCompletion{ID: rid, Object: openai.ObjectChat, Created: created, Model: e.opt.Model,
			Choices: []openai.ChatChoice{{Message: openai.ChatMessage{Role: "assistant", Content: text}, FinishReason: finish}}, Usage: usage})
		return
	}
	json.NewEncoder(w).Encode(openai.Completion{ID: rid, Object: openai.ObjectCompletion, Created: created, Model: e.opt.Model,
		Choices: []openai.CompletionChoice{{Text: text, FinishReason: finish}}, Usage: usage})
}

// stream writes one SSE chunk per engine step that produced tokens for
// this request, then the usage chunk if asked, then [DONE].
func (e *Emulator) stream(w http.ResponseWriter, r *http.Request, req request, st *stream, rid string, created int64) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	sent := 0
	for {
		select {
		case <-r.Context().Done():
			return
		case <-st.notify:
		}
		gen, done, err := e.progress(st)
		if err != nil {
			openai.WriteEvent(w, openai.ErrorBody{Error: openai.Error{Message: "simulation failed: " + err.Error(), Type: openai.ErrServer, Code: 500}})
			rc.Flush()
			return
		}
		if gen > sent {
			var finish *string
			if gen >= st.output {
				finish = ptr(openai.FinishLength)
			}
			text := synthetic(sent, gen)
			var werr error
			if req.chat {
				d := openai.Delta{Content: text}
				if sent == 0 {
					d.Role = "assistant"
				}
				werr = openai.WriteEvent(w, openai.ChatChunk{ID: rid, Object: openai.ObjectChatChunk, Created: created, Model: e.opt.Model,
					Choices: []openai.ChatChunkChoice{{Delta: d, FinishReason: finish}}})
			} else {
				werr = openai.WriteEvent(w, openai.Completion{ID: rid, Object: openai.ObjectCompletion, Created: created, Model: e.opt.Model,
					Choices: []openai.CompletionChoice{{Text: text, FinishReason: finish}}})
			}
			if werr != nil || rc.Flush() != nil {
				return
			}
			sent = gen
		}
		if done && sent >= st.output {
			break
		}
	}
	if req.includeUsage {
		u := &openai.Usage{PromptTokens: req.input, CompletionTokens: sent, TotalTokens: req.input + sent}
		if req.chat {
			openai.WriteEvent(w, openai.ChatChunk{ID: rid, Object: openai.ObjectChatChunk, Created: created, Model: e.opt.Model, Choices: []openai.ChatChunkChoice{}, Usage: u})
		} else {
			openai.WriteEvent(w, openai.Completion{ID: rid, Object: openai.ObjectCompletion, Created: created, Model: e.opt.Model, Choices: []openai.CompletionChoice{}, Usage: u})
		}
	}
	openai.WriteDone(w)
	rc.Flush()
}

func (e *Emulator) models(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(openai.ModelList{Object: openai.ObjectList, Data: []openai.Model{{
		ID: e.opt.Model, Object: openai.ObjectModel, Created: e.start.Unix(), OwnedBy: "ersatz", MaxModelLen: e.opt.MaxModelLen}}})
}

// synthetic is output tokens [from, to) of a response.
func synthetic(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(openai.Word(i))
	}
	return b.String()
}

func writeError(w http.ResponseWriter, status int, typ, msg string, param *string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(openai.ErrorBody{Error: openai.Error{Message: msg, Type: typ, Param: param, Code: status}})
}

func ptr[T any](v T) *T { return &v }
