package calibrate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// Meta is what a result file says about its run, for provenance.
type Meta struct {
	Date, Model, Backend, Tool string
	RequestRate                any
	MaxConcurrency             *int
}

// nonJSON matches Python's json.dump of float("inf") and NaN, which
// vllm bench serve writes for an infinite request rate.
var nonJSON = regexp.MustCompile(`(:\s*|\[\s*|,\s*)(-?Infinity|NaN)\b`)

// ParseResult reads a bench result: the JSON of `vllm bench serve
// --save-result` or `ersatz bench --result-json` (per-request lists
// input_lens, output_lens, ttfts, itls, start_times, errors), or the
// JSON lines of `ersatz bench --records`. TPOT of a request is its
// inter-token gaps' sum over output − 1.
func ParseResult(data []byte) ([]Request, Meta, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, Meta{}, errors.New("parsing result: empty")
	}
	if data[0] == '{' && !bytes.Contains(data[:min(len(data), 4096)], []byte("\n{")) {
		return parseVLLM(data)
	}
	return parseRecords(data)
}

func parseVLLM(data []byte) ([]Request, Meta, error) {
	data = nonJSON.ReplaceAll(data, []byte("${1}null"))
	var r struct {
		Date           string      `json:"date"`
		Model          string      `json:"model_id"`
		Backend        string      `json:"backend"`
		Tool           string      `json:"tool"`
		RequestRate    any         `json:"request_rate"`
		MaxConcurrency *int        `json:"max_concurrency"`
		InputLens      []int       `json:"input_lens"`
		OutputLens     []int       `json:"output_lens"`
		TTFTs          []*float64  `json:"ttfts"`
		ITLs           [][]float64 `json:"itls"`
		StartTimes     []float64   `json:"start_times"`
		Errors         []string    `json:"errors"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, Meta{}, fmt.Errorf("parsing result JSON: %w", err)
	}
	meta := Meta{Date: r.Date, Model: r.Model, Backend: r.Backend, Tool: r.Tool, RequestRate: r.RequestRate, MaxConcurrency: r.MaxConcurrency}
	n := len(r.InputLens)
	switch {
	case n == 0:
		return nil, meta, errors.New("parsing result JSON: input_lens: want the per-request lists of vllm bench serve --save-result (got none)")
	case len(r.OutputLens) != n || len(r.TTFTs) != n || len(r.ITLs) != n:
		return nil, meta, fmt.Errorf("parsing result JSON: input_lens, output_lens, ttfts, itls: want equal lengths (got %d, %d, %d, %d)", n, len(r.OutputLens), len(r.TTFTs), len(r.ITLs))
	case len(r.StartTimes) != n:
		return nil, meta, fmt.Errorf("parsing result JSON: start_times: want one per request (got %d of %d); calibration replays the arrivals, which older vLLM releases did not save", len(r.StartTimes), n)
	}
	t0 := r.StartTimes[0]
	for _, t := range r.StartTimes {
		t0 = min(t0, t)
	}
	reqs := make([]Request, n)
	for i := range n {
		q := Request{StartS: r.StartTimes[i] - t0, Input: r.InputLens[i], Output: r.OutputLens[i]}
		q.OK = (len(r.Errors) != n || r.Errors[i] == "") && r.TTFTs[i] != nil && q.Output > 0
		if q.OK {
			q.TTFTS = *r.TTFTs[i]
			if q.Output > 1 {
				var s float64
				for _, g := range r.ITLs[i] {
					s += g
				}
				q.TPOTS = s / float64(q.Output-1)
			}
		}
		reqs[i] = q
	}
	return reqs, meta, nil
}

func parseRecords(data []byte) ([]Request, Meta, error) {
	var reqs []Request
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<26)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var r struct {
			StartS *float64 `json:"start_s"`
			Input  int      `json:"input_tokens"`
			Output int      `json:"output_tokens"`
			Asked  int      `json:"requested_output_tokens"`
			TTFTS  float64  `json:"ttft_s"`
			TPOTS  float64  `json:"tpot_s"`
			Kind   string   `json:"error_kind"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, Meta{}, fmt.Errorf("parsing records: line %d: %w", line, err)
		}
		if r.StartS == nil {
			return nil, Meta{}, fmt.Errorf("parsing records: line %d: start_s: want the send time of the request (an ersatz bench --records line)", line)
		}
		q := Request{StartS: *r.StartS, Input: r.Input, Output: r.Output, TTFTS: r.TTFTS, TPOTS: r.TPOTS, OK: r.Kind == "" && r.Output > 0}
		if !q.OK {
			q.Output = max(r.Asked, 1) // it loaded the server as asked
		}
		reqs = append(reqs, q)
	}
	if err := sc.Err(); err != nil {
		return nil, Meta{}, fmt.Errorf("parsing records: %w", err)
	}
	if len(reqs) == 0 {
		return nil, Meta{}, errors.New("parsing records: no lines")
	}
	return reqs, Meta{Tool: "ersatz bench --records"}, nil
}
