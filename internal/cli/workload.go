package cli

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ersatz/internal/workload"
)

// trafficFlags describe the requests of a simulation or a plan: a trace
// file, or synthetic arrivals and lengths.
type trafficFlags struct {
	trace, traceFormat string
	timeScale          float64
	rate               float64
	arrival            string
	burstiness         float64
	requests           int
	input, output      int
	lengths            string
	lengthCV           float64
	prefixGroups       int
	prefixTokens       int
	defaultRequests    int
}

func (t *trafficFlags) register(fs *flag.FlagSet, defaultRequests int) {
	fs.StringVar(&t.trace, "trace", "", "replay a request trace: Azure LLM inference CSV, BurstGPT CSV or Mooncake JSONL")
	fs.StringVar(&t.traceFormat, "trace-format", "", "azure, burstgpt or mooncake (default: from the file's extension and header)")
	fs.Float64Var(&t.timeScale, "time-scale", 1, "speed a trace up by this factor (2 = twice the arrival rate)")
	fs.Float64Var(&t.rate, "rate", 0, "requests per second (synthetic traffic)")
	fs.StringVar(&t.arrival, "arrival", "poisson", "arrival process: poisson, gamma (with --burstiness) or constant")
	fs.Float64Var(&t.burstiness, "burstiness", 1, "coefficient of variation of gamma inter-arrival times (1 = Poisson)")
	fs.IntVar(&t.requests, "requests", 0, fmt.Sprintf("requests to simulate (default %d synthetic, or the whole trace)", defaultRequests))
	t.defaultRequests = defaultRequests
	fs.IntVar(&t.input, "input-tokens", 1024, "mean prompt length")
	fs.IntVar(&t.output, "output-tokens", 256, "mean output length")
	fs.StringVar(&t.lengths, "lengths", "fixed", "length distribution: fixed, uniform, normal or lognormal")
	fs.Float64Var(&t.lengthCV, "length-cv", 0.5, "relative spread of lengths (standard deviation / mean) for uniform, normal and lognormal")
	fs.IntVar(&t.prefixGroups, "prefix-groups", 0, "synthetic shared prompt prefixes: number of distinct prefixes")
	fs.IntVar(&t.prefixTokens, "prefix-tokens", 0, "synthetic shared prompt prefixes: tokens each")
}

// source opens the traffic. The returned closer closes a trace file.
func (t *trafficFlags) source(rng *rand.Rand, blockTokens int) (workload.Source, func(), error) {
	nop := func() {}
	if t.requests == 0 {
		t.requests = t.defaultRequests
		if t.trace != "" {
			t.requests = 1 << 40
		}
	}
	if t.requests < 1 {
		return nil, nop, usagef("--requests %d: want at least 1", t.requests)
	}
	if t.trace != "" {
		if t.rate != 0 {
			return nil, nop, usagef("--rate and --trace: give one (a trace carries its own arrival times; use --time-scale to speed it up)")
		}
		if t.timeScale <= 0 {
			return nil, nop, usagef("--time-scale %g: want a positive factor", t.timeScale)
		}
		f, err := os.Open(t.trace)
		if err != nil {
			return nil, nop, fmt.Errorf("--trace: %w", err)
		}
		br := bufio.NewReaderSize(f, 1<<16)
		format, err := sniffTrace(t.trace, t.traceFormat, br)
		if err != nil {
			f.Close()
			return nil, nop, err
		}
		opt := workload.TraceOptions{Name: filepath.Base(t.trace), TimeScale: t.timeScale, Limit: t.requests, BlockTokens: blockTokens}
		var src workload.Source
		switch format {
		case "azure":
			src, err = workload.NewAzure(br, opt)
		case "burstgpt":
			src, err = workload.NewBurstGPT(br, opt)
		case "mooncake":
			src, err = workload.NewMooncake(br, opt)
		}
		if err != nil {
			f.Close()
			return nil, nop, fmt.Errorf("--trace: %w", err)
		}
		return src, func() { f.Close() }, nil
	}
	if t.rate <= 0 || math.IsInf(t.rate, 0) || math.IsNaN(t.rate) {
		return nil, nop, usagef("--rate %g: want a positive request rate, or --trace FILE", t.rate)
	}
	var arr workload.Arrivals
	var err error
	switch t.arrival {
	case "poisson":
		arr, err = workload.Poisson(t.rate)
	case "gamma":
		arr, err = workload.Gamma(t.rate, t.burstiness)
	case "constant":
		arr, err = workload.Constant(t.rate)
	default:
		return nil, nop, usagef("--arrival %q: want poisson, gamma or constant", t.arrival)
	}
	if err != nil {
		return nil, nop, usagef("--arrival: %v", err)
	}
	in, err := t.dist("--input-tokens", t.input)
	if err != nil {
		return nil, nop, err
	}
	out, err := t.dist("--output-tokens", t.output)
	if err != nil {
		return nil, nop, err
	}
	g, err := workload.NewGenerator(workload.GeneratorConfig{
		Arrivals: arr, Input: in, Output: out, Count: t.requests,
		PrefixGroups: t.prefixGroups, PrefixTokens: t.prefixTokens, BlockTokens: blockTokens,
	}, rng)
	if err != nil {
		return nil, nop, usagef("%v", err)
	}
	return g, nop, nil
}

func (t *trafficFlags) dist(flag string, mean int) (workload.Lengths, error) {
	if mean < 1 {
		return nil, usagef("%s %d: want at least 1 token", flag, mean)
	}
	if t.lengthCV < 0 {
		return nil, usagef("--length-cv %g: want a non-negative fraction", t.lengthCV)
	}
	sd := t.lengthCV * float64(mean)
	var l workload.Lengths
	var err error
	switch t.lengths {
	case "fixed":
		l, err = workload.Fixed(mean)
	case "uniform":
		half := int(sd * math.Sqrt(3)) // a uniform of half-width w has sd w/√3
		l, err = workload.Uniform(max(mean-half, 1), mean+half)
	case "normal":
		l, err = workload.Normal(float64(mean), sd)
	case "lognormal":
		l, err = workload.LogNormal(float64(mean), sd)
	default:
		return nil, usagef("--lengths %q: want fixed, uniform, normal or lognormal", t.lengths)
	}
	if err != nil {
		return nil, usagef("%s: %v", flag, err)
	}
	return l, nil
}

// sniffTrace picks the trace format from the flag, the extension or the
// header line.
func sniffTrace(path, format string, br *bufio.Reader) (string, error) {
	switch format {
	case "azure", "burstgpt", "mooncake":
		return format, nil
	case "":
	default:
		return "", usagef("--trace-format %q: want azure, burstgpt or mooncake", format)
	}
	if strings.HasSuffix(path, ".jsonl") || strings.HasSuffix(path, ".json") {
		return "mooncake", nil
	}
	head, _ := br.Peek(256)
	first, _, _ := bytes.Cut(head, []byte("\n"))
	h := strings.ToLower(string(first))
	switch {
	case strings.Contains(h, "contexttokens"):
		return "azure", nil
	case strings.Contains(h, "request tokens"):
		return "burstgpt", nil
	case strings.HasPrefix(strings.TrimSpace(h), "{"):
		return "mooncake", nil
	}
	return "", fmt.Errorf("--trace %s: cannot tell the format from its header %q; want an Azure (TIMESTAMP,ContextTokens,GeneratedTokens), BurstGPT or Mooncake file, or give --trace-format", path, string(first))
}

// durationFlag parses "2s", "150ms" into seconds; 0 means unset.
type durationFlag float64

func (d *durationFlag) String() string { return fmt.Sprint(time.Duration(float64(*d) * 1e9)) }

func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("want a duration such as 2s or 150ms (got %q)", s)
	}
	*d = durationFlag(v.Seconds())
	return nil
}

// progress draws a bar on a terminal; on anything else it stays silent.
type progress struct {
	w     io.Writer
	total int
	done  int
	last  time.Time
}

func newProgress(w io.Writer, total int) *progress {
	if !isTerminal(w) || total <= 0 {
		return nil
	}
	return &progress{w: w, total: total}
}

func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.done += n
	if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond || p.done >= p.total {
		p.last = now
		if p.total >= 1<<30 { // a trace of unknown length: count only
			fmt.Fprintf(p.w, "\r%d requests", p.done)
			return
		}
		frac := math.Min(float64(p.done)/float64(p.total), 1)
		bar := strings.Repeat("=", int(frac*30)) + strings.Repeat(" ", 30-int(frac*30))
		fmt.Fprintf(p.w, "\r[%s] %3.0f%% %d/%d", bar, frac*100, p.done, p.total)
	}
}

func (p *progress) finish() {
	if p != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
