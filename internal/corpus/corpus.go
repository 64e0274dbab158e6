package corpus

import (
	"fmt"
	"path"
	"strings"
)

// Version is the corpus format version this package reads.
const Version = 1

// File is a parsed corpus or scenario file.
type File struct {
	Version int    `json:"version"`
	Cases   []Case `json:"cases"`
	// Unreadable holds, in file order, the cases of a corpus that could
	// not be read; Cases holds the others, also in file order.
	Unreadable []Unreadable `json:"-"`
}

// Unreadable is a corpus case that could not be read: its index in the
// file, its id where one was given, what of it decoded (after defaults),
// and every problem found, each starting with the field path inside the
// case.
type Unreadable struct {
	Index    int
	ID       string
	Case     Case
	Problems []error
}

// Reason joins the problems into one line.
func (u *Unreadable) Reason() string {
	s := make([]string, len(u.Problems))
	for i, p := range u.Problems {
		s[i] = p.Error()
	}
	return strings.Join(s, "; ")
}

// prefix names the case in an error: "cases[3] (id x)." or "cases[3].".
func (u *Unreadable) prefix() string {
	if u.ID == "" {
		return fmt.Sprintf("cases[%d].", u.Index)
	}
	return fmt.Sprintf("cases[%d] (id %s).", u.Index, u.ID)
}

// Case is one published (or measured) figure for one deployment under one
// load. Field names and meanings follow the spec; see the package doc for
// the defaults applied after parsing.
type Case struct {
	ID     string `json:"id"`
	Source string `json:"source,omitempty"`
	// Group (optional) names the cases of one source that share a
	// harness, for cross-validation; see [Case.GroupKey].
	Group string `json:"group,omitempty"`
	// Claim is who stands behind the figure: vendor, operator,
	// independent, mlperf, user or measured-here.
	Claim string `json:"claim,omitempty"`
	// Model is a catalog model id (case-insensitive) or a path to a
	// config.json relative to the corpus file.
	Model string `json:"model"`
	// Chip is a catalog chip id or alias.
	Chip string `json:"chip"`
	// Engine is optional: vllm, sglang, trtllm, mindie or other.
	Engine    string    `json:"engine,omitempty"`
	Precision Precision `json:"precision"`
	// Serving is aggregated or disaggregated.
	Serving     string       `json:"serving"`
	Instances   []Instance   `json:"instances"`
	Workload    Workload     `json:"workload"`
	Speculative *Speculative `json:"speculative,omitempty"`
	SLO         *SLO         `json:"slo,omitempty"`
	// EngineArgs (optional, added by this project) records engine
	// settings the measurement ran with where they differ from the
	// engine's defaults.
	EngineArgs *EngineArgs `json:"engine_args,omitempty"`
	// Phase is which part of the deployment the figure measures: all,
	// prefill or decode.
	Phase  string `json:"phase"`
	Metric string `json:"metric,omitempty"`
	// Measured is the published figure in the unit of Metric; 0 means
	// absent (allowed only in a scenario file).
	Measured float64 `json:"measured,omitempty"`
	Note     string  `json:"note,omitempty"`
}

// Precision names the number formats: bf16, fp16, fp8, int8, int4 or fp4.
type Precision struct {
	Weights     string `json:"weights"`
	Activations string `json:"activations,omitempty"`
	KVCache     string `json:"kv_cache,omitempty"`
}

// Instance is one kind of serving instance. tp × pp devices form one
// instance; Count instances of it run side by side on Chips chips each.
type Instance struct {
	// Role is mixed (aggregated serving), prefill or decode.
	Role  string `json:"role"`
	Count int    `json:"count,omitempty"`
	Chips int    `json:"chips,omitempty"`
	TP    int    `json:"tp,omitempty"`
	PP    int    `json:"pp,omitempty"`
	EP    int    `json:"ep,omitempty"`
	DP    int    `json:"dp,omitempty"`
}

// TotalChips is Count × Chips.
func (in Instance) TotalChips() int { return in.Count * in.Chips }

// Workload is the request mix and the load.
type Workload struct {
	InputTokens  float64 `json:"input_tokens"`
	OutputTokens float64 `json:"output_tokens"`
	// PrefixCacheHit is the fraction of prompt tokens already in the KV
	// cache, in [0, 1).
	PrefixCacheHit float64 `json:"prefix_cache_hit,omitempty"`
	// ContextTokens is, for decode-only cases, the KV length held per
	// sequence.
	ContextTokens float64 `json:"context_tokens,omitempty"`
	Load          Load    `json:"load"`
}

// Load holds at most one load kind; a nil field is absent. Use
// [Load.Kind] to tell which one is set.
type Load struct {
	Offline      *bool    `json:"offline,omitempty"`
	Concurrency  *int     `json:"concurrency,omitempty"`
	RatePerS     *float64 `json:"rate_per_s,omitempty"`
	BatchPerChip *float64 `json:"batch_per_chip,omitempty"`
}

// Load kinds returned by [Load.Kind].
const (
	LoadNone         = ""
	LoadOffline      = "offline"
	LoadConcurrency  = "concurrency"
	LoadRate         = "rate_per_s"
	LoadBatchPerChip = "batch_per_chip"
)

// Kind returns the load kind set, or LoadNone. On a validated case at most
// one is set; LoadNone means the case has an SLO and the figure is the most
// the deployment delivers while meeting it.
func (l Load) Kind() string {
	switch {
	case l.Offline != nil:
		return LoadOffline
	case l.Concurrency != nil:
		return LoadConcurrency
	case l.RatePerS != nil:
		return LoadRate
	case l.BatchPerChip != nil:
		return LoadBatchPerChip
	}
	return LoadNone
}

func (l Load) count() int {
	n := 0
	for _, set := range []bool{l.Offline != nil, l.Concurrency != nil, l.RatePerS != nil, l.BatchPerChip != nil} {
		if set {
			n++
		}
	}
	return n
}

// Speculative describes speculative decoding. A case gives Acceptance (per
// draft token) or TokensPerStep (mean tokens emitted per decode step, the
// bonus token included), or neither when the source does not say.
type Speculative struct {
	Method        string   `json:"method"`
	DraftTokens   int      `json:"draft_tokens,omitempty"`
	Acceptance    *float64 `json:"acceptance,omitempty"`
	TokensPerStep *float64 `json:"tokens_per_step,omitempty"`
}

// EngineArgs are engine settings a measurement ran with; a nil field is
// the engine's default. The limits are per engine scheduler, i.e. per DP
// rank where attention runs data-parallel.
type EngineArgs struct {
	// MaxNumSeqs caps the sequences in one batch (vLLM max_num_seqs,
	// SGLang max_running_requests, TensorRT-LLM max_batch_size).
	MaxNumSeqs *int `json:"max_num_seqs,omitempty"`
	// MaxNumBatchedTokens is the token budget of one step (vLLM
	// max_num_batched_tokens, TensorRT-LLM max_num_tokens).
	MaxNumBatchedTokens *int `json:"max_num_batched_tokens,omitempty"`
	// ChunkedPrefill false means prompts are prefilled whole.
	ChunkedPrefill *bool `json:"chunked_prefill,omitempty"`
	// EnforceEager true means the engine ran without captured graphs
	// (vLLM --enforce-eager, SGLang --disable-cuda-graph).
	EnforceEager *bool `json:"enforce_eager,omitempty"`
	// CUDAGraphMaxBatch is the largest batch per rank the engine captured
	// a graph for (SGLang --cuda-graph-max-bs, the largest of
	// TensorRT-LLM's cuda_graph_config batch_sizes).
	CUDAGraphMaxBatch *int `json:"cuda_graph_max_batch,omitempty"`
	// GPUMemoryUtilization is the engine's memory share (vLLM
	// gpu_memory_utilization, SGLang mem_fraction_static, TensorRT-LLM
	// free_gpu_memory_fraction), read by the engine's own rule.
	GPUMemoryUtilization *float64 `json:"gpu_memory_utilization,omitempty"`
}

// SLO is a latency target. Percentile 0 means the mean.
type SLO struct {
	TTFTms     float64 `json:"ttft_ms,omitempty"`
	TPOTms     float64 `json:"tpot_ms,omitempty"`
	Percentile float64 `json:"percentile,omitempty"`
}

// Metrics lists the metric names a case may use.
var Metrics = []string{
	"output_tokens_per_s_per_chip",
	"input_tokens_per_s_per_chip",
	"total_tokens_per_s_per_chip",
	"tokens_per_s_per_user",
	"ttft_ms_mean",
	"tpot_ms_mean",
}

// Claims lists the claim kinds.
var Claims = []string{"vendor", "operator", "independent", "mlperf", "user", "measured-here"}

// Engines lists the engine names.
var Engines = []string{"vllm", "sglang", "trtllm", "mindie", "other"}

// Precisions lists the number formats.
var Precisions = []string{"bf16", "fp16", "fp8", "int8", "int4", "fp4"}

// Chips returns the chips of the phase the case measures: with
// disaggregated serving, the prefill instances for phase prefill and the
// decode instances for phase decode; otherwise every instance. It is the
// divisor of a per-chip metric.
func (c *Case) Chips() int {
	n := 0
	for _, in := range c.Instances {
		switch {
		case c.Serving != "disaggregated":
		case c.Phase == "prefill" && in.Role != "prefill",
			c.Phase == "decode" && in.Role != "decode":
			continue
		}
		n += in.TotalChips()
	}
	return n
}

// Role returns the first instance with the given role, or nil.
func (c *Case) Role(role string) *Instance {
	for i := range c.Instances {
		if c.Instances[i].Role == role {
			return &c.Instances[i]
		}
	}
	return nil
}

// ModelIsPath reports whether Model names a config.json file (it ends in
// .json, or starts with ./, ../ or /) rather than a catalog model id.
func (c *Case) ModelIsPath() bool {
	m := c.Model
	return strings.HasSuffix(m, ".json") || strings.HasPrefix(m, "./") ||
		strings.HasPrefix(m, "../") || strings.HasPrefix(m, "/")
}

// ModelPath joins a relative config.json path to the directory of the
// corpus file (slash-separated, as in an [io/fs.FS]). It returns Model
// unchanged when Model is absolute or not a path.
func (c *Case) ModelPath(corpusDir string) string {
	if !c.ModelIsPath() || strings.HasPrefix(c.Model, "/") {
		return c.Model
	}
	return path.Join(corpusDir, c.Model)
}
