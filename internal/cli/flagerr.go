package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"ersatz/internal/hardware"
)

// Command-line errors as people expect them: one line that names the flag
// and the value, and where to look (`ersatz CMD -h`), never the whole flag
// list. The flag package's own messages ("flag provided but not defined:
// -nope") are rewritten here.

// parseFlags runs fs.Parse with the flag package's printing silenced, and
// turns its errors into one-line usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	show, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = show
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		show()
		return err
	}
	return &usageError{flagError(fs, err)}
}

// flagError rewrites one of the flag package's errors.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		if hint, ok := flagHints[fs.Name()+" "+name]; ok {
			return fmt.Errorf("--%s: %s", name, hint)
		}
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if near := hardware.Nearest(name, names); len(near) > 0 && alike(name, near[0]) {
			return fmt.Errorf("--%s: unknown flag (did you mean --%s?)", name, near[0])
		}
		return fmt.Errorf("--%s: unknown flag", name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Errorf("--%s: needs a value", strings.TrimLeft(name, "-"))
	}
	// invalid value "x" for flag -chips: parse error
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		if q, tail, ok := strings.Cut(rest, " for flag -"); ok {
			name, why, _ := strings.Cut(tail, ": ")
			name = strings.TrimLeft(name, "-")
			if v, err := strconv.Unquote(q); err == nil {
				q = v
			}
			return fmt.Errorf("--%s %s: %s", name, q, wantOf(fs, name, why))
		}
	}
	return err
}

// alike keeps "did you mean" to names that share a start or contain one
// another, so --nope suggests nothing rather than --model.
func alike(a, b string) bool {
	return len(a) >= 2 && len(b) >= 2 && a[:2] == b[:2] || strings.Contains(a, b) || strings.Contains(b, a)
}

// wantOf says what a flag takes, from its type, for a value that did not
// parse.
func wantOf(fs *flag.FlagSet, name, why string) string {
	if hint, ok := flagHints[fs.Name()+" "+name+"="]; ok {
		return hint
	}
	name = canonical(fs, name)
	if r, ok := ranges[name]; ok {
		return "want " + r.what
	}
	f := fs.Lookup(name)
	if f == nil {
		return why
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return why
	}
	switch g.Get().(type) {
	case int, int64:
		return "want a whole number"
	case uint, uint64:
		return "want a non-negative whole number"
	case float64:
		return "want a number"
	case bool:
		return "want true or false"
	}
	return why
}

// flagHints answer the mistakes people make with a flag of another
// command's meaning. "CMD NAME" is an unknown flag, "CMD NAME=" a value that
// does not parse.
var flagHints = map[string]string{
	"plan chips":      "plan searches the chip count itself; name the candidate chips with --chip A,B,C",
	"fit chips=":      "want a chip count; --chip names the chip",
	"predict chips=":  "want a chip count; --chip names the chip",
	"simulate chips=": "want a chip count; --chip names the chip",
}

// alias registers name as another spelling of an existing flag (vLLM's
// names for ersatz's concepts); both set at once is an error, see
// checkAliases.
func alias(fs *flag.FlagSet, name, of string) {
	g := fs.Lookup(of).Value.(flag.Getter) // every flag package value is a Getter
	fs.Var(&aliasValue{g, of}, name, "same as --"+of+" (vLLM's spelling)")
}

// aliasValue is another flag's value under a second name.
type aliasValue struct {
	flag.Getter
	of string
}

// canonical is the flag a name spells: itself, or the flag it aliases.
func canonical(fs *flag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil {
		if a, ok := f.Value.(*aliasValue); ok {
			return a.of
		}
	}
	return name
}

// checkAliases refuses a flag given under two spellings.
func checkAliases(fs *flag.FlagSet) error {
	set := setFlags(fs)
	for n := range set {
		if of := canonical(fs, n); of != n && set[of] {
			return usagef("--%s and --%s: the same setting twice; give one", of, n)
		}
	}
	return nil
}

// setFlags lists the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// span is the range a numeric flag accepts; what says it in words.
type span struct {
	lo, hi         float64
	loOpen, hiOpen bool
	what           string
}

var (
	positive    = func(what string) span { return span{0, math.Inf(1), true, false, "a positive " + what} }
	atLeast     = func(lo float64, what string) span { return span{lo, math.Inf(1), false, false, what} }
	nonNegative = func(what string) span { return span{0, math.Inf(1), false, false, "0 or more " + what} }
	fraction    = span{0, 1, false, true, "a fraction in [0, 1)"}
)

// ranges are the numeric flags' bounds, checked on the values the user
// gave (defaults are in range).
var ranges = map[string]span{
	"rate":               positive("rate (requests/s)"),
	"input-tokens":       atLeast(1, "at least 1 token"),
	"output-tokens":      atLeast(1, "at least 1 token"),
	"context":            atLeast(1, "at least 1 token"),
	"context-tokens":     nonNegative("tokens"),
	"prefix-hit":         fraction,
	"memory-utilization": {0, 1, true, false, "a fraction in (0, 1]"},
	"chips":              atLeast(1, "at least 1 chip"),
	"tp":                 atLeast(1, "a positive degree"),
	"pp":                 atLeast(1, "a positive degree"),
	"ep":                 atLeast(1, "a positive degree"),
	"dp":                 atLeast(1, "a positive degree"),
	"concurrency":        atLeast(1, "at least 1 request in flight"),
	"batch-per-chip":     positive("batch"),
	"instances":          atLeast(1, "at least 1 instance"),
	"replicas":           atLeast(1, "at least 1 replica"),
	"prefill-replicas":   nonNegative("replicas"),
	"requests":           atLeast(1, "at least 1 request"),
	"spec-tokens":        nonNegative("draft tokens"),
	"spec-acceptance":    {0, 1, false, false, "a probability in [0, 1]"},
	"time-scale":         positive("factor"),
	"headroom":           nonNegative("(a share of the mean rate)"),
	"budget":             nonNegative("$/hour"),
	"verify":             nonNegative("plans per chip"),
	"verify-requests":    atLeast(1, "at least 1 request"),
	"top":                nonNegative("rows (0: all)"),
	"data-parallel-size": atLeast(1, "a positive degree"),
	"max-num-seqs":       nonNegative("sequences (0: the engine's)"),
	"block-size":         atLeast(1, "at least 1 token"),
	"amortization-years": positive("number of years"),
	"pue":                atLeast(1, "a PUE of 1 or more"),
	"electricity":        nonNegative("$/kWh"),
	"server-overhead":    nonNegative("(a share of the chip price)"),
	"length-cv":          nonNegative("(a relative spread)"),
	"burstiness":         positive("coefficient of variation"),
}

// checkRanges refuses a numeric flag the user set outside its range:
// "--rate -5: want a positive rate (requests/s)".
func checkRanges(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		r, ok := ranges[canonical(fs, f.Name)]
		if !ok || err != nil {
			return
		}
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		var v float64
		switch x := g.Get().(type) {
		case int:
			v = float64(x)
		case uint64:
			v = float64(x)
		case float64:
			v = x
		default:
			return
		}
		low := v < r.lo || (r.loOpen && v == r.lo)
		high := v > r.hi || (r.hiOpen && v == r.hi)
		if low || high || math.IsNaN(v) || math.IsInf(v, 0) {
			err = usagef("--%s %s: want %s", f.Name, f.Value.String(), r.what)
		}
	})
	return err
}

// String is the aliased flag's value; the zero aliasValue (which the flag
// package makes to tell defaults) is empty.
func (a *aliasValue) String() string {
	if a == nil || a.Getter == nil {
		return ""
	}
	return a.Getter.String()
}
