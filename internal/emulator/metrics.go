package emulator

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"ersatz/internal/sim"
)

// metrics are vLLM's Prometheus series, V1 names plus the V0 aliases that
// dashboards still query. Latencies are in emulated seconds.
type metrics struct {
	reg                     *prometheus.Registry
	promptTokens, genTokens prometheus.Counter
	success                 *prometheus.CounterVec
	preemptions             prometheus.Counter
	ttft, itl, itlV0, tpot  prometheus.Observer
	e2e, promptHist         prometheus.Observer
	genHist                 prometheus.Observer
}

// Bucket edges as vLLM's (vllm/v1/metrics/loggers.py).
var (
	ttftBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}
	itlBuckets  = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}
	e2eBuckets  = []float64{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0}
	tokBuckets  = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000}
)

func newMetrics(model string, gauges func() sim.Gauges) *metrics {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"model_name": model}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels})
		reg.MustRegister(c)
		return c
	}
	hist := func(name, help string, buckets []float64) prometheus.Observer {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets, ConstLabels: labels})
		reg.MustRegister(h)
		return h
	}
	gauge := func(name, help string, f func(sim.Gauges) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return f(gauges()) }))
	}
	// The process's own health, as every Go exporter has it: the soak
	// test reads go_memstats_heap_alloc_bytes.
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &metrics{reg: reg}
	gauge("vllm:num_requests_running", "Number of requests in model execution batches.", func(g sim.Gauges) float64 { return float64(g.Running) })
	gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", func(g sim.Gauges) float64 { return float64(g.Waiting) })
	gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", func(g sim.Gauges) float64 { return g.KVUse })
	gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage (V0 name).", func(g sim.Gauges) float64 { return g.KVUse })
	m.promptTokens = counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.")
	m.genTokens = counter("vllm:generation_tokens_total", "Number of generation tokens processed.")
	m.preemptions = counter("vllm:num_preemptions_total", "Cumulative number of preemption from the engine.")
	m.success = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vllm:request_success_total", Help: "Count of successfully processed requests.", ConstLabels: labels}, []string{"finished_reason"})
	reg.MustRegister(m.success)
	m.ttft = hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", ttftBuckets)
	m.itl = hist("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", itlBuckets)
	m.itlV0 = hist("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds (V0 name of the inter-token latency).", itlBuckets)
	m.tpot = hist("vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request.", itlBuckets)
	m.e2e = hist("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", e2eBuckets)
	m.promptHist = hist("vllm:request_prompt_tokens", "Number of prefill tokens processed.", tokBuckets)
	m.genHist = hist("vllm:request_generation_tokens", "Number of generation tokens processed.", tokBuckets)
	return m
}

// finished records a served request.
func (m *metrics) finished(r *sim.Record) {
	m.promptTokens.Add(float64(r.Input))
	m.genTokens.Add(float64(r.Output))
	m.preemptions.Add(float64(r.Preemptions))
	m.success.WithLabelValues("length").Inc()
	m.ttft.Observe(r.TTFTS())
	m.e2e.Observe(r.E2ES())
	if r.Output > 1 {
		m.tpot.Observe(r.TPOTS())
	}
	m.promptHist.Observe(float64(r.Input))
	m.genHist.Observe(float64(r.Output))
}

func (m *metrics) interToken(s float64) {
	m.itl.Observe(s)
	m.itlV0.Observe(s)
}
