package loadgen

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// Result is a run's summary. Its JSON is the --save-result file of
// `vllm bench serve` (same names, same units: seconds for the per-request
// lists, milliseconds for the statistics), plus the failures by kind and
// the run's settings (Settings, set by the caller).
type Result struct {
	Settings

	DurationS            float64  `json:"duration"`
	Completed            int      `json:"completed"`
	Failed               int      `json:"failed"`
	TotalInputTokens     int      `json:"total_input_tokens"`
	TotalOutputTokens    int      `json:"total_output_tokens"`
	RequestThroughput    float64  `json:"request_throughput"`
	RequestGoodput       *float64 `json:"request_goodput"`
	OutputThroughput     float64  `json:"output_throughput"`
	TotalTokenThroughput float64  `json:"total_token_throughput"`
	MaxConcurrent        int      `json:"max_concurrent_requests"`

	MeanTTFTMs   float64 `json:"mean_ttft_ms"`
	MedianTTFTMs float64 `json:"median_ttft_ms"`
	StdTTFTMs    float64 `json:"std_ttft_ms"`
	P90TTFTMs    float64 `json:"p90_ttft_ms"`
	P99TTFTMs    float64 `json:"p99_ttft_ms"`
	MeanTPOTMs   float64 `json:"mean_tpot_ms"`
	MedianTPOTMs float64 `json:"median_tpot_ms"`
	StdTPOTMs    float64 `json:"std_tpot_ms"`
	P90TPOTMs    float64 `json:"p90_tpot_ms"`
	P99TPOTMs    float64 `json:"p99_tpot_ms"`
	MeanITLMs    float64 `json:"mean_itl_ms"`
	MedianITLMs  float64 `json:"median_itl_ms"`
	StdITLMs     float64 `json:"std_itl_ms"`
	P90ITLMs     float64 `json:"p90_itl_ms"`
	P99ITLMs     float64 `json:"p99_itl_ms"`
	MeanE2ELMs   float64 `json:"mean_e2el_ms"`
	MedianE2ELMs float64 `json:"median_e2el_ms"`
	StdE2ELMs    float64 `json:"std_e2el_ms"`
	P90E2ELMs    float64 `json:"p90_e2el_ms"`
	P99E2ELMs    float64 `json:"p99_e2el_ms"`

	InputLens  []int       `json:"input_lens"`
	OutputLens []int       `json:"output_lens"`
	TTFTs      []float64   `json:"ttfts"`
	ITLs       [][]float64 `json:"itls"`
	StartTimes []float64   `json:"start_times"`
	Errors     []string    `json:"errors"`

	// ErrorsByKind counts failures by kind (KindHTTP, KindTimeout, ...),
	// HTTPStatus the statuses of the KindHTTP ones.
	ErrorsByKind map[string]int `json:"errors_by_kind"`
	HTTPStatus   map[string]int `json:"http_status_counts,omitempty"`
	Interrupted  bool           `json:"interrupted,omitempty"`
}

// Settings describe the run, under vLLM's names where vLLM has one.
type Settings struct {
	Date           string             `json:"date,omitempty"`
	Backend        string             `json:"backend,omitempty"`
	EndpointType   string             `json:"endpoint_type,omitempty"`
	Endpoint       string             `json:"endpoint,omitempty"`
	BaseURL        string             `json:"base_url,omitempty"`
	ModelID        string             `json:"model_id,omitempty"`
	NumPrompts     int                `json:"num_prompts,omitempty"`
	RequestRate    any                `json:"request_rate,omitempty"` // a number, or "inf"
	Burstiness     float64            `json:"burstiness,omitempty"`
	MaxConcurrency *int               `json:"max_concurrency"`
	Dataset        string             `json:"dataset_name,omitempty"`
	InputTokens    int                `json:"random_input_len,omitempty"`
	OutputTokens   int                `json:"random_output_len,omitempty"`
	RangeRatio     float64            `json:"random_range_ratio,omitempty"`
	Seed           uint64             `json:"seed"`
	IgnoreEOS      bool               `json:"ignore_eos"`
	Goodput        map[string]float64 `json:"goodput,omitempty"`
	DurationLimitS float64            `json:"duration_limit_s,omitempty"`
	Tool           string             `json:"tool,omitempty"`
}

type aggregate struct {
	slo                   SLO
	start, end            time.Time
	res                   Result
	ttft, tpot, itl, e2el []float64
	good                  int
	inFlight              []float64 // start and end events, for peak concurrency
}

func newAggregate(slo SLO) *aggregate {
	return &aggregate{slo: slo, res: Result{ErrorsByKind: map[string]int{}, HTTPStatus: map[string]int{}}}
}

func (a *aggregate) add(r *Record, now time.Time) {
	if now.After(a.end) {
		a.end = now
	}
	res := &a.res
	res.InputLens = append(res.InputLens, r.InputTokens)
	res.StartTimes = append(res.StartTimes, r.StartS)
	res.Errors = append(res.Errors, r.Error)
	if !r.OK() {
		res.Failed++
		res.ErrorsByKind[r.Kind]++
		if r.Kind == KindHTTP && r.Status != 0 {
			res.HTTPStatus[itoa(r.Status)]++
		}
		res.OutputLens = append(res.OutputLens, 0)
		res.TTFTs = append(res.TTFTs, 0)
		res.ITLs = append(res.ITLs, []float64{})
		return
	}
	res.Completed++
	res.TotalInputTokens += r.InputTokens
	res.TotalOutputTokens += r.OutputTokens
	res.OutputLens = append(res.OutputLens, r.OutputTokens)
	res.TTFTs = append(res.TTFTs, r.TTFTS)
	itl := r.ITLS
	if itl == nil {
		itl = []float64{}
	}
	res.ITLs = append(res.ITLs, itl)
	a.ttft = append(a.ttft, r.TTFTS)
	a.e2el = append(a.e2el, r.E2ELS)
	a.itl = append(a.itl, r.ITLS...)
	if r.OutputTokens > 1 {
		a.tpot = append(a.tpot, r.TPOTS)
	}
	a.inFlight = append(a.inFlight, r.StartS, -(r.StartS + r.E2ELS))
	s := a.slo
	if (s.TTFTS == 0 || r.TTFTS <= s.TTFTS) && (s.TPOTS == 0 || r.TPOTS <= s.TPOTS) && (s.E2ELS == 0 || r.E2ELS <= s.E2ELS) {
		a.good++
	}
}

func (a *aggregate) result() *Result {
	res := a.res
	if a.end.After(a.start) {
		res.DurationS = a.end.Sub(a.start).Seconds()
	}
	if d := res.DurationS; d > 0 {
		res.RequestThroughput = float64(res.Completed) / d
		res.OutputThroughput = float64(res.TotalOutputTokens) / d
		res.TotalTokenThroughput = float64(res.TotalInputTokens+res.TotalOutputTokens) / d
		if a.slo != (SLO{}) {
			g := float64(a.good) / d
			res.RequestGoodput = &g
		}
	}
	fill := func(xs []float64, mean, median, std, p90, p99 *float64) {
		st := Describe(xs)
		*mean, *median, *std, *p90, *p99 = st.Mean*1e3, st.Median*1e3, st.Std*1e3, st.P90*1e3, st.P99*1e3
	}
	fill(a.ttft, &res.MeanTTFTMs, &res.MedianTTFTMs, &res.StdTTFTMs, &res.P90TTFTMs, &res.P99TTFTMs)
	fill(a.tpot, &res.MeanTPOTMs, &res.MedianTPOTMs, &res.StdTPOTMs, &res.P90TPOTMs, &res.P99TPOTMs)
	fill(a.itl, &res.MeanITLMs, &res.MedianITLMs, &res.StdITLMs, &res.P90ITLMs, &res.P99ITLMs)
	fill(a.e2el, &res.MeanE2ELMs, &res.MedianE2ELMs, &res.StdE2ELMs, &res.P90E2ELMs, &res.P99E2ELMs)
	res.MaxConcurrent = peak(a.inFlight)
	return &res
}

// peak is the most requests in flight at once, from start times (positive)
// and negated end times.
func peak(ev []float64) int {
	s := append([]float64(nil), ev...)
	sort.Slice(s, func(i, j int) bool {
		ai, aj := math.Abs(s[i]), math.Abs(s[j])
		if ai != aj {
			return ai < aj
		}
		return s[i] < s[j] // an end before a start at the same instant
	})
	n, best := 0, 0
	for _, x := range s {
		if x >= 0 {
			n++
		} else {
			n--
		}
		best = max(best, n)
	}
	return best
}

// Stats are a sample's mean, median, population standard deviation and
// percentiles, interpolated linearly between order statistics (numpy's
// default, which vLLM uses).
type Stats struct {
	N                           int
	Mean, Median, Std, P90, P99 float64
}

// Describe summarises xs (which it sorts); an empty sample is all zero.
func Describe(xs []float64) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	sort.Float64s(xs)
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return Stats{N: len(xs), Mean: mean, Median: Percentile(xs, 50), Std: math.Sqrt(ss / float64(len(xs))),
		P90: Percentile(xs, 90), P99: Percentile(xs, 99)}
}

// Percentile is the p-th percentile of sorted xs, linearly interpolated:
// rank p/100 × (n−1).
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	r := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(r))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (r-float64(lo))*(sorted[hi]-sorted[lo])
}

func itoa(n int) string {
	return strconv.Itoa(n)
}
