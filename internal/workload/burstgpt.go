package workload

import (
	"io"
	"math"
	"strconv"
)

// BurstGPT reads the BurstGPT trace (Wang et al., github.com/HPMLL/BurstGPT):
// CSV with columns Timestamp, Model, Request tokens, Response tokens, Total
// tokens, Log Type; Timestamp is seconds from the trace start.
//
// Rows with 0 response tokens are skipped unless KeepFailed is set: the
// BurstGPT README describes them as failed requests, which never reached a
// serving engine and would otherwise replay as instant one-token requests.
// Skipped counts them.
type BurstGPT struct {
	*csvStream
	KeepFailed bool
	skipped    int
	fields     [3]string
}

// NewBurstGPT returns a streaming reader; it reads the header now.
func NewBurstGPT(r io.Reader, opt TraceOptions) (*BurstGPT, error) {
	c, err := newCSVStream(r, opt, "Timestamp", "Request tokens", "Response tokens")
	if err != nil {
		return nil, err
	}
	return &BurstGPT{csvStream: c}, nil
}

// Skipped returns how many failed rows were skipped so far.
func (b *BurstGPT) Skipped() int { return b.skipped }

// Next implements Source.
func (b *BurstGPT) Next(r *Request) bool {
	for b.more() {
		line, ok := b.row(b.fields[:])
		if !ok {
			return false
		}
		ts, err := strconv.ParseFloat(b.fields[0], 64)
		if err != nil || ts < 0 || math.IsInf(ts, 0) || math.IsNaN(ts) {
			return b.fail(line, "Timestamp: want non-negative seconds (got %q)", b.fields[0])
		}
		in, ok := b.tokens(line, "Request tokens", b.fields[1])
		if !ok {
			return false
		}
		out, ok := b.tokens(line, "Response tokens", b.fields[2])
		if !ok {
			return false
		}
		if out == 0 && !b.KeepFailed {
			b.skipped++
			continue
		}
		return b.emit(r, line, ts, in, out)
	}
	return false
}
