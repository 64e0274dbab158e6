package workload

import (
	"io"
	"time"
)

// Azure reads the Azure LLM inference traces (2023 and 2024 releases,
// github.com/Azure/AzurePublicDataset): CSV with columns TIMESTAMP,
// ContextTokens, GeneratedTokens, timestamps like
// "2023-11-16 18:17:03.9799600" (2024 adds a "+00:00" zone). Arrival times
// are seconds since the first row. The trace carries no prompt content, so
// requests have no prefix hashes.
type Azure struct {
	*csvStream
	first  time.Time
	fields [3]string
}

// NewAzure returns a streaming reader; it reads the header now.
func NewAzure(r io.Reader, opt TraceOptions) (*Azure, error) {
	c, err := newCSVStream(r, opt, "TIMESTAMP", "ContextTokens", "GeneratedTokens")
	if err != nil {
		return nil, err
	}
	return &Azure{csvStream: c}, nil
}

// azureLayouts are tried in order; Go's fractional-second layout accepts
// any number of digits, including none.
var azureLayouts = [...]string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
}

// Next implements Source.
func (a *Azure) Next(r *Request) bool {
	if !a.more() {
		return false
	}
	line, ok := a.row(a.fields[:])
	if !ok {
		return false
	}
	var ts time.Time
	var err error
	for _, layout := range azureLayouts {
		if ts, err = time.Parse(layout, a.fields[0]); err == nil {
			break
		}
	}
	if err != nil {
		return a.fail(line, "TIMESTAMP: want a time like 2023-11-16 18:17:03.9799600 (got %q)", a.fields[0])
	}
	in, ok := a.tokens(line, "ContextTokens", a.fields[1])
	if !ok {
		return false
	}
	out, ok := a.tokens(line, "GeneratedTokens", a.fields[2])
	if !ok {
		return false
	}
	if a.n == 0 {
		a.first = ts
	}
	return a.emit(r, line, ts.Sub(a.first).Seconds(), in, out)
}
