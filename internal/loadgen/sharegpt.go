package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"

	"ersatz/internal/openai"
	"ersatz/internal/workload"
)

// Conversation is one ShareGPT prompt with its reference answer's length.
type Conversation struct {
	Prompt string
	Input  int // tokens of Prompt by openai.CountTokens
	Output int // tokens of the reference answer
}

// ReadShareGPT reads a ShareGPT JSON file (an array of {"conversations":
// [{"from": "human", "value": ...}, {"from": "gpt", "value": ...}, ...]})
// and keeps each conversation's first human turn and the answer after it,
// filtered as vLLM's benchmark does: prompt and answer of at least 4
// tokens, prompt at most 1024 and both together at most 2048.
func ReadShareGPT(r io.Reader) ([]Conversation, error) {
	var raw []struct {
		Conversations []struct {
			From  string `json:"from"`
			Value string `json:"value"`
		} `json:"conversations"`
	}
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("reading ShareGPT JSON: %w", err)
	}
	var out []Conversation
	for _, c := range raw {
		if len(c.Conversations) < 2 || c.Conversations[0].From != "human" {
			continue
		}
		in, ans := openai.CountTokens(c.Conversations[0].Value), openai.CountTokens(c.Conversations[1].Value)
		if in < 4 || ans < 4 || in > 1024 || in+ans > 2048 {
			continue
		}
		out = append(out, Conversation{Prompt: c.Conversations[0].Value, Input: in, Output: ans})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("reading ShareGPT JSON: no conversation with a human prompt and an answer within the length filter")
	}
	return out, nil
}

// Dataset yields count requests drawn from convs (in an order shuffled by
// rng) at the arrival times of arr; outputOverride > 0 replaces the
// answers' lengths.
type Dataset struct {
	convs    []Conversation
	arr      workload.Arrivals
	rng      *rand.Rand
	count, i int
	output   int
}

// NewDataset returns the requests of a dataset run.
func NewDataset(convs []Conversation, arr workload.Arrivals, count, outputOverride int, rng *rand.Rand) *Dataset {
	c := append([]Conversation(nil), convs...)
	rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	return &Dataset{convs: c, arr: arr, rng: rng, count: count, output: outputOverride}
}

// Next implements Items.
func (d *Dataset) Next(it *Item) bool {
	if d.i >= d.count {
		return false
	}
	t, ok := d.arr.Next(d.rng)
	if !ok {
		return false
	}
	c := d.convs[d.i%len(d.convs)]
	*it = Item{Request: workload.Request{ID: int64(d.i), ArrivalS: t, Input: c.Input, Output: c.Output}, Prompt: c.Prompt}
	if d.output > 0 {
		it.Output = d.output
	}
	d.i++
	return true
}

// Err implements Items.
func (d *Dataset) Err() error { return nil }
