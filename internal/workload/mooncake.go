package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"ersatz/internal/kvcache"
)

// MooncakeBlockTokens is the prompt span one Mooncake hash id names.
const MooncakeBlockTokens = 512

// Mooncake reads the Mooncake traces (Qin et al., FAST 2025,
// github.com/kvcache-ai/Mooncake): JSON lines {"timestamp": ms from start,
// "input_length", "output_length", "hash_ids": [...]}, one hash id per
// 512-token prompt block, equal ids meaning an equal prefix.
//
// Mapping to the simulator's block size B (TraceOptions.BlockTokens): only
// the prompt's full B-token blocks are cacheable, block b covering tokens
// [bB, (b+1)B). Its content is named by the Mooncake id of the 512-token
// block holding its last token, e = (b+1)B−1, together with e mod 512, and
// Request.Hashes[b] chains those names with kvcache.ChainHash. Two prompts
// thus share block b exactly when they share the Mooncake id covering it
// and every earlier one. Blocks past the last id (a truncated list) get
// none, which ends the cacheable prefix there.
type Mooncake struct {
	stream
	sc   *bufio.Scanner
	line int
	rec  mooncakeRecord
}

type mooncakeRecord struct {
	Timestamp    *float64 `json:"timestamp"`
	InputLength  *int     `json:"input_length"`
	OutputLength *int     `json:"output_length"`
	HashIDs      []uint64 `json:"hash_ids"`
}

// maxMooncakeLine bounds one JSON line; the real trace's longest is ~2 KB,
// and a million-token prompt's id list would be under 20 KB.
const maxMooncakeLine = 16 << 20

// NewMooncake returns a streaming reader.
func NewMooncake(r io.Reader, opt TraceOptions) (*Mooncake, error) {
	opt, err := opt.normalise()
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxMooncakeLine)
	return &Mooncake{stream: stream{opt: opt}, sc: sc}, nil
}

// Next implements Source.
func (m *Mooncake) Next(r *Request) bool {
	for m.more() {
		if !m.sc.Scan() {
			if err := m.sc.Err(); err != nil {
				if errors.Is(err, bufio.ErrTooLong) {
					return m.fail(m.line+1, "want a line under %d bytes: %w", maxMooncakeLine, err)
				}
				m.err = fmt.Errorf("%s: %w", m.opt.Name, err)
			}
			m.done = true
			return false
		}
		m.line++
		b := bytes.TrimSpace(m.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		m.rec = mooncakeRecord{HashIDs: m.rec.HashIDs[:0]}
		if err := json.Unmarshal(b, &m.rec); err != nil {
			return m.fail(m.line, "want a JSON object with timestamp, input_length, output_length: %w", err)
		}
		rec := &m.rec
		switch {
		case rec.Timestamp == nil:
			return m.fail(m.line, "timestamp: want milliseconds (got none)")
		case *rec.Timestamp < 0 || math.IsInf(*rec.Timestamp, 0) || math.IsNaN(*rec.Timestamp):
			return m.fail(m.line, "timestamp: want non-negative milliseconds (got %v)", *rec.Timestamp)
		case rec.InputLength == nil || *rec.InputLength < 0 || *rec.InputLength > math.MaxInt32:
			return m.fail(m.line, "input_length: want a non-negative integer (got %s)", intOrNone(rec.InputLength))
		case rec.OutputLength == nil || *rec.OutputLength < 0 || *rec.OutputLength > math.MaxInt32:
			return m.fail(m.line, "output_length: want a non-negative integer (got %s)", intOrNone(rec.OutputLength))
		}
		if !m.emit(r, m.line, *rec.Timestamp/1000, *rec.InputLength, *rec.OutputLength) {
			return false
		}
		r.Hashes = mooncakeHashes(r.Hashes, rec.HashIDs, r.Input, m.opt.BlockTokens)
		return true
	}
	return false
}

// mooncakeHashes appends the chained hashes of the full B-token blocks of
// an input-token prompt named by 512-token ids (see Mooncake).
func mooncakeHashes(dst, ids []uint64, input, B int) []uint64 {
	var h uint64
	for b := 0; b < input/B; b++ {
		e := (b+1)*B - 1
		k := e / MooncakeBlockTokens
		if k >= len(ids) {
			break
		}
		// The id names the 512-token block; the offset tells the
		// sub-blocks within it apart. Mixing first keeps the pair
		// collision-free for any id value.
		h = kvcache.ChainHash(h, kvcache.ChainHash(ids[k], uint64(e%MooncakeBlockTokens)))
		dst = append(dst, h)
	}
	return dst
}

func intOrNone(p *int) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}
