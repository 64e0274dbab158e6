package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"ersatz/internal/loadgen"
	"ersatz/internal/report"
	"ersatz/internal/workload"
)

func runBench(e *env, args []string) error {
	fs := newFlags(e, "bench", "--url URL [--model NAME] (--rate R | --concurrency N | --trace FILE) [--input-tokens I --output-tokens O --range-ratio r | --dataset FILE] [--result-json FILE] [--records FILE]")
	url := fs.String("url", "", "base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000")
	modelName := fs.String("model", "", "model name to send (default: the first of the server's /v1/models)")
	endpoint := fs.String("endpoint", loadgen.EndpointCompletions, "API: /v1/completions or /v1/chat/completions")
	var tr trafficFlags
	tr.register(fs, 1000)
	rangeRatio := fs.Float64("range-ratio", 0, "random lengths: input and output drawn uniformly from [L(1-r), L(1+r)] (vLLM's --random-range-ratio)")
	dataset := fs.String("dataset", "", "ShareGPT JSON file: prompts and answer lengths from its conversations")
	concurrency := fs.Int("concurrency", 0, "requests in flight at most (vLLM's --max-concurrency); with no --rate every request is ready at once")
	duration := fs.Duration("duration", 0, "stop issuing requests after this long (e.g. 10m); 0 means none")
	timeout := fs.Duration("timeout", loadgen.DefaultTimeout, "limit for one request")
	ignoreEOS := fs.Bool("ignore-eos", true, "ask for exactly --output-tokens (vLLM's ignore_eos and min_tokens)")
	var good goodputFlag
	fs.Var(&good, "goodput", "SLO for goodput, as vLLM: ttft:MS tpot:MS e2el:MS (space or comma separated)")
	apiKey := fs.String("api-key", "", "bearer token (default: $OPENAI_API_KEY)")
	seed := fs.Uint64("seed", 1, "random seed for arrivals and lengths; the same seed and flags give simulate's requests")
	resultJSON := fs.String("result-json", "", "write the summary with the field names of vllm bench serve --save-result")
	records := fs.String("records", "", "write one JSON line per request as it finishes")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *url == "" {
		return usagef("--url is required (e.g. http://127.0.0.1:8000)")
	}
	*url = strings.TrimRight(*url, "/")
	if *endpoint != loadgen.EndpointCompletions && *endpoint != loadgen.EndpointChat {
		return usagef("--endpoint %q: want %s or %s", *endpoint, loadgen.EndpointCompletions, loadgen.EndpointChat)
	}
	if *concurrency < 0 {
		return usagef("--concurrency %d: want 0 or more", *concurrency)
	}
	if !(*rangeRatio >= 0 && *rangeRatio < 1) {
		return usagef("--range-ratio %g: want a fraction in [0, 1)", *rangeRatio)
	}
	if *apiKey == "" && e.getenv != nil {
		*apiKey = e.getenv("OPENAI_API_KEY")
	}
	rate := tr.rate
	if tr.rate == 0 && tr.trace == "" {
		// vLLM's default rate is infinite: every request ready at once.
		tr.rate, tr.arrival = 1e12, "constant"
	}
	if tr.arrival == "poisson" && tr.burstiness != 1 {
		tr.arrival = "gamma"
	}
	if *rangeRatio > 0 {
		tr.lengths, tr.lengthCV = "uniform", *rangeRatio/math.Sqrt(3)
	}
	rng := rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))
	var items loadgen.Items
	if *dataset != "" {
		f, err := os.Open(*dataset)
		if err != nil {
			return fmt.Errorf("--dataset: %w", err)
		}
		convs, err := loadgen.ReadShareGPT(bufio.NewReader(f))
		f.Close()
		if err != nil {
			return fmt.Errorf("--dataset %s: %w", *dataset, err)
		}
		if tr.trace != "" {
			return usagef("--dataset and --trace: give one")
		}
		src, _, err := tr.source(rng, 16) // for the arrivals only
		if err != nil {
			return err
		}
		out := 0
		if isSet(fs, "output-tokens") {
			out = tr.output
		}
		items = loadgen.NewDataset(convs, workload.TraceArrivals(src), tr.requests, out, rng)
	} else {
		src, closeTrace, err := tr.source(rng, 16)
		if err != nil {
			return err
		}
		defer closeTrace()
		items = loadgen.Synthetic{Source: src}
	}
	if *modelName == "" {
		name, err := firstModel(*url, *apiKey)
		if err != nil {
			return fmt.Errorf("--model not given, and asking the server: %w", err)
		}
		*modelName = name
	}

	var rec *benchRecords
	if *records != "" {
		f, err := os.Create(*records)
		if err != nil {
			return fmt.Errorf("--records: %w", err)
		}
		defer f.Close()
		rec = &benchRecords{w: bufio.NewWriterSize(f, 1<<16)}
	}
	total := tr.requests
	if tr.trace != "" {
		total = 1 << 30
	}
	bar := newProgress(e.stderr, total)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := loadgen.Config{URL: *url, Endpoint: *endpoint, Model: *modelName, APIKey: *apiKey, Items: items,
		Concurrency: *concurrency, Duration: *duration, Timeout: *timeout, IgnoreEOS: *ignoreEOS, Goodput: good.slo,
		OnRecord: func(r *loadgen.Record) {
			bar.add(1)
			rec.write(r)
		}}
	started := time.Now()
	res, err := loadgen.Run(ctx, cfg)
	bar.finish()
	if rec != nil {
		if ferr := rec.flush(); ferr != nil && err == nil {
			err = fmt.Errorf("--records: %w", ferr)
		}
	}
	if res == nil {
		return err
	}
	res.Settings = loadgen.Settings{Date: started.UTC().Format("20060102-150405"), Backend: backendOf(*endpoint), EndpointType: backendOf(*endpoint),
		Endpoint: *endpoint, BaseURL: *url, ModelID: *modelName, NumPrompts: tr.requests, Burstiness: 1 / (tr.burstiness * tr.burstiness), // vLLM's: the gamma shape
		Seed: *seed, IgnoreEOS: *ignoreEOS, Goodput: good.ms, DurationLimitS: duration.Seconds(), Tool: "ersatz bench " + Version}
	res.RequestRate = "inf"
	if rate > 0 {
		res.RequestRate = rate
	}
	if *concurrency > 0 {
		res.MaxConcurrency = concurrency
	}
	if *dataset != "" {
		res.Dataset = "sharegpt"
	} else if tr.trace == "" {
		res.Dataset, res.InputTokens, res.OutputTokens, res.RangeRatio = "random", tr.input, tr.output, *rangeRatio
	} else {
		res.Dataset = "trace:" + tr.trace
	}
	if *resultJSON != "" {
		if werr := writeJSONFile(*resultJSON, res); werr != nil && err == nil {
			err = fmt.Errorf("--result-json: %w", werr)
		}
	}
	if perr := writeBenchSummary(e.stdout, res); perr != nil && err == nil {
		err = perr
	}
	if res.Interrupted {
		fmt.Fprintln(e.stderr, "ersatz bench: interrupted; the results cover the requests finished or cancelled before the signal")
	}
	return err
}

func isSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

func backendOf(endpoint string) string {
	if endpoint == loadgen.EndpointChat {
		return "openai-chat"
	}
	return "openai"
}

// firstModel asks the server's /v1/models for the model it serves.
func firstModel(url, key string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url+"/v1/models", nil)
	if err != nil {
		return "", err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /v1/models: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil || len(list.Data) == 0 {
		return "", fmt.Errorf("GET /v1/models: no model listed (%v)", err)
	}
	return list.Data[0].ID, nil
}

// goodputFlag parses vLLM's --goodput "ttft:MS tpot:MS e2el:MS".
type goodputFlag struct {
	slo loadgen.SLO
	ms  map[string]float64
}

func (g *goodputFlag) String() string { return fmt.Sprint(g.ms) }

func (g *goodputFlag) Set(s string) error {
	if g.ms == nil {
		g.ms = map[string]float64{}
	}
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		k, v, ok := strings.Cut(kv, ":")
		ms, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || !(ms > 0) {
			return fmt.Errorf("%q: want NAME:MILLISECONDS with a positive number, e.g. ttft:500", kv)
		}
		switch k {
		case "ttft":
			g.slo.TTFTS = ms / 1e3
		case "tpot":
			g.slo.TPOTS = ms / 1e3
		case "e2el":
			g.slo.E2ELS = ms / 1e3
		default:
			return fmt.Errorf("%q: want ttft, tpot or e2el before the colon", kv)
		}
		g.ms[k] = ms
	}
	return nil
}

// benchRecords streams one JSON line per request.
type benchRecords struct {
	w   *bufio.Writer
	buf []byte
	err error
}

func (b *benchRecords) write(r *loadgen.Record) {
	if b == nil || b.err != nil {
		return
	}
	b.buf, b.err = appendJSON(b.buf[:0], r)
	if b.err == nil {
		_, b.err = b.w.Write(b.buf)
	}
}

func (b *benchRecords) flush() error {
	if b.err != nil {
		return b.err
	}
	return b.w.Flush()
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func writeBenchSummary(w io.Writer, r *loadgen.Result) error {
	fmt.Fprintf(w, "%s %s at %s: %d completed, %d failed in %.2f s\n", r.ModelID, r.Endpoint, r.BaseURL, r.Completed, r.Failed, r.DurationS)
	if r.Failed > 0 {
		var parts []string
		for _, k := range []string{loadgen.KindHTTP, loadgen.KindTimeout, loadgen.KindDropped, loadgen.KindMalformed, loadgen.KindCancelled} {
			if n := r.ErrorsByKind[k]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", k, n))
			}
		}
		fmt.Fprintf(w, "failures: %s\n", strings.Join(parts, ", "))
	}
	t := &report.Table{Header: []string{"latency", "mean", "median", "p90", "p99", "std"}, Right: map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true}}
	n := func(x float64) string { return report.Num(x, 4) }
	t.Add("TTFT", n(r.MeanTTFTMs), n(r.MedianTTFTMs), n(r.P90TTFTMs), n(r.P99TTFTMs), n(r.StdTTFTMs))
	t.Add("TPOT", n(r.MeanTPOTMs), n(r.MedianTPOTMs), n(r.P90TPOTMs), n(r.P99TPOTMs), n(r.StdTPOTMs))
	t.Add("ITL", n(r.MeanITLMs), n(r.MedianITLMs), n(r.P90ITLMs), n(r.P99ITLMs), n(r.StdITLMs))
	t.Add("E2EL", n(r.MeanE2ELMs), n(r.MedianE2ELMs), n(r.P90E2ELMs), n(r.P99E2ELMs), n(r.StdE2ELMs))
	t.Notes = []string{"milliseconds, measured at the client"}
	if err := t.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "throughput: %s req/s, %s output tok/s, %s total tok/s; peak %d in flight\n",
		report.Num(r.RequestThroughput, 4), report.Num(r.OutputThroughput, 4), report.Num(r.TotalTokenThroughput, 4), r.MaxConcurrent)
	if r.RequestGoodput != nil {
		fmt.Fprintf(w, "goodput: %s req/s meet %v\n", report.Num(*r.RequestGoodput, 4), r.Goodput)
	}
	return nil
}
