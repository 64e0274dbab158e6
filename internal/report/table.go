// Package report renders result values: aligned text tables, CSV and JSON.
// The core packages compute values; this package only writes them.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// Table is a header and rows of cells, rendered as aligned text or CSV.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
	// Right marks the columns to right-align (numbers).
	Right map[int]bool
	Notes []string // printed under the table
}

// Add appends a row; cells are formatted with fmt's %v.
func (t *Table) Add(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = fmt.Sprint(c)
	}
	t.Rows = append(t.Rows, row)
}

// WriteText writes t with columns separated by two spaces.
func (t *Table) WriteText(w io.Writer) error {
	width := make([]int, len(t.Header))
	measure := func(row []string) {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	measure(t.Header)
	for _, r := range t.Rows {
		measure(r)
	}
	var out strings.Builder
	if t.Title != "" {
		out.WriteString(t.Title + "\n")
	}
	line := func(row []string) {
		var l strings.Builder
		b := &l
		defer func() { out.WriteString(strings.TrimRight(l.String(), " ") + "\n") }()
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.Right[i] {
				b.WriteString(pad + c)
			} else if i == len(row)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(c + pad)
			}
		}
	}
	line(t.Header)
	for _, r := range t.Rows {
		line(r)
	}
	for _, n := range t.Notes {
		out.WriteString(n + "\n")
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// WriteCSV writes the header and rows as CSV.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Header); err != nil {
		return err
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return err
	}
	return cw.Error()
}

// WriteJSON writes v as indented JSON with a trailing newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Num formats v with at most digits significant digits and thousands
// separators for large values: 3066, 12.5, 0.0421.
func Num(v float64, digits int) string {
	if v != v {
		return "–"
	}
	if math.IsInf(v, 0) {
		if v > 0 {
			return "∞"
		}
		return "-∞"
	}
	a := v
	if a < 0 {
		a = -a
	}
	if a >= 1000 {
		s := fmt.Sprintf("%.0f", v)
		return group(s)
	}
	return fmt.Sprintf("%.*g", digits, v)
}

func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
