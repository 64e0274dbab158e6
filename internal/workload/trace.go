package workload

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"ersatz/internal/kvcache"
)

// TraceOptions adjust how a trace is replayed.
type TraceOptions struct {
	// Name labels errors, normally the file name ("trace" if empty).
	Name string
	// TimeScale speeds the trace up: arrival times are divided by it, so 2
	// replays an hour in half an hour at twice the rate. 0 means 1.
	TimeScale float64
	// Limit stops after this many requests; 0 means all.
	Limit int
	// BlockTokens is the simulator's KV block size, used to map a trace's
	// own prefix block ids (Mooncake's are per 512 tokens) onto blocks of
	// this size. 0 means kvcache.DefaultBlockTokens.
	BlockTokens int
}

func (o TraceOptions) normalise() (TraceOptions, error) {
	if o.Name == "" {
		o.Name = "trace"
	}
	if o.TimeScale == 0 {
		o.TimeScale = 1
	}
	if !(o.TimeScale > 0) || math.IsInf(o.TimeScale, 1) {
		return o, fmt.Errorf("workload: %s: time scale: want a positive finite factor (got %v)", o.Name, o.TimeScale)
	}
	if o.Limit < 0 {
		return o, fmt.Errorf("workload: %s: limit: want ≥ 0 requests (got %d)", o.Name, o.Limit)
	}
	if o.BlockTokens == 0 {
		o.BlockTokens = kvcache.DefaultBlockTokens
	}
	if o.BlockTokens < 0 {
		return o, fmt.Errorf("workload: %s: block tokens: want ≥ 1 (got %d)", o.Name, o.BlockTokens)
	}
	return o, nil
}

// stream holds what every trace reader shares: the options, the request
// count, the error that stopped it, and the time-order check.
type stream struct {
	opt   TraceOptions
	n     int64
	err   error
	done  bool
	prevS float64
}

// Err implements Source.
func (s *stream) Err() error { return s.err }

func (s *stream) fail(line int, format string, args ...any) bool {
	s.err = fmt.Errorf("%s:%d: "+format, append([]any{s.opt.Name, line}, args...)...)
	s.done = true
	return false
}

// more reports whether the limit still allows a request.
func (s *stream) more() bool {
	if s.done || (s.opt.Limit > 0 && s.n >= int64(s.opt.Limit)) {
		s.done = true
		return false
	}
	return true
}

// emit fills the fields every trace provides, checking time order, which
// the simulator needs and a streaming reader cannot repair by sorting.
func (s *stream) emit(r *Request, line int, arrivalS float64, input, output int) bool {
	t := arrivalS / s.opt.TimeScale
	if s.n > 0 && t < s.prevS {
		return s.fail(line, "timestamp: want a time not before the previous row's (got %g s after %g s)", t, s.prevS)
	}
	s.prevS = t
	s.n++
	r.ID = s.n
	r.ArrivalS = t
	r.Input = input
	r.Output = output
	r.Hashes = r.Hashes[:0]
	return true
}

// csvStream reads a CSV trace whose columns are found by header name.
type csvStream struct {
	stream
	cr   *csv.Reader
	cols []int // column index per wanted name
}

func newCSVStream(r io.Reader, opt TraceOptions, want ...string) (*csvStream, error) {
	opt, err := opt.normalise()
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // checked per row, so the error names the column
	c := &csvStream{stream: stream{opt: opt}, cr: cr}
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:1: header: want %s (got an empty file)", opt.Name, strings.Join(want, ","))
		}
		return nil, fmt.Errorf("%s: %w", opt.Name, err)
	}
	for _, w := range want {
		i := -1
		for j, h := range header {
			h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
			if strings.EqualFold(h, w) {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("%s:1: header: want a %q column (got %q)", opt.Name, w, strings.Join(header, ","))
		}
		c.cols = append(c.cols, i)
	}
	return c, nil
}

// row reads the next record, returning its line and the wanted fields in
// order (valid until the next call), or ok false at the end or an error.
func (c *csvStream) row(fields []string) (line int, ok bool) {
	rec, err := c.cr.Read()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			c.err = fmt.Errorf("%s: %w", c.opt.Name, err)
		}
		c.done = true
		return 0, false
	}
	line, _ = c.cr.FieldPos(0)
	for k, i := range c.cols {
		if i >= len(rec) {
			return line, c.fail(line, "want at least %d fields (got %d)", i+1, len(rec))
		}
		fields[k] = strings.TrimSpace(rec[i])
	}
	return line, true
}

// tokens parses a token count field.
func (c *csvStream) tokens(line int, name, v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0, c.fail(line, "%s: want a non-negative integer (got %q)", name, v)
	}
	return n, true
}
