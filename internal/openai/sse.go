package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Done is the data of the event that ends an OpenAI stream.
const Done = "[DONE]"

// WriteEvent writes v as one SSE event: "data: <json>\n\n".
func WriteEvent(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding event: %w", err)
	}
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	_, err = w.Write(buf)
	return err
}

// WriteDone writes the "data: [DONE]" event.
func WriteDone(w io.Writer) error {
	_, err := io.WriteString(w, "data: "+Done+"\n\n")
	return err
}

// ErrLineTooLong is returned by a Reader for a line over its limit.
var ErrLineTooLong = errors.New("sse: line too long")

// Reader decodes Server-Sent Events: each event's data lines, joined by
// newlines. Comments (lines starting with ':') and the event, id and retry
// fields are skipped, as the SSE specification allows.
type Reader struct {
	br   *bufio.Reader
	max  int
	data []byte
	line []byte
}

// NewReader returns a Reader over r whose lines may be at most maxLine
// bytes (0 means 1 MiB).
func NewReader(r io.Reader, maxLine int) *Reader {
	if maxLine <= 0 {
		maxLine = 1 << 20
	}
	return &Reader{br: bufio.NewReaderSize(r, 4096), max: maxLine}
}

// Next returns the next event's data. The slice is valid until the next
// call. At the end of input it returns io.EOF, or io.ErrUnexpectedEOF when
// the input stops inside an event.
func (r *Reader) Next() ([]byte, error) {
	r.data = r.data[:0]
	have := false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && (have || len(line) > 0) {
				// A final event without its blank line is incomplete.
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(line) == 0 {
			if have {
				return r.data, nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte(":"))
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		if string(field) != "data" {
			continue // event, id, retry and unknown fields
		}
		if have {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
		have = true
	}
}

// readLine reads one line without its terminator (\n, \r\n or \r\n).
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		frag, err := r.br.ReadSlice('\n')
		r.line = append(r.line, frag...)
		if len(r.line) > r.max {
			return nil, ErrLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if len(r.line) > 0 && err == io.EOF {
				return r.line, io.EOF
			}
			return nil, err
		}
		l := r.line[:len(r.line)-1]
		if n := len(l); n > 0 && l[n-1] == '\r' {
			l = l[:n-1]
		}
		return l, nil
	}
}
