package perf

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

//go:embed params.yaml
var defaultParams []byte

// Param is one efficiency number with its provenance. Spread is the
// relative half-width of its uncertainty, used for the low/high band.
type Param struct {
	Value  float64 `json:"value"`
	Spread float64 `json:"spread"`
	Source string  `json:"source"`
}

// Family holds the efficiency parameters of one chip family. There are at
// most eight, so that no family can be tuned case by case.
type Family struct {
	// Inherit names a sibling whose parameters this family copies where
	// it sets none; Widen is added to every inherited parameter's spread,
	// because borrowed numbers deserve less trust.
	Inherit string  `json:"inherit,omitempty"`
	Widen   float64 `json:"widen,omitempty"`
	Note    string  `json:"note,omitempty"`
	// Parent is Inherit once resolved (Inherit is cleared so that a second
	// resolve does not widen again); stack efficiencies follow it.
	Parent string `json:"-"`

	// GEMMEff is the share of the 16-bit dense peak a large matmul reaches.
	GEMMEff *Param `json:"gemm_eff,omitempty"`
	// LowPrecisionScale multiplies GEMMEff for 8-bit matmuls (and, squared,
	// for 4-bit ones): the doubled peak is harder to feed and sustained
	// low-precision work runs into the power limit.
	LowPrecisionScale *Param `json:"lowp_gemm_scale,omitempty"`
	// MemEff is the share of memory bandwidth a streaming kernel reaches.
	MemEff *Param `json:"mem_eff,omitempty"`
	// AttnEff is the share of 16-bit peak attention kernels (FlashAttention,
	// FlashMLA) reach when compute-bound.
	AttnEff *Param `json:"attn_eff,omitempty"`
	// CommEff is the share of per-direction link bandwidth collectives reach.
	CommEff *Param `json:"comm_eff,omitempty"`
	// HopLatency is the latency of one step of a collective, in seconds.
	HopLatency *Param `json:"hop_latency_s,omitempty"`
	// KernelOverhead is the fixed cost of one kernel (launch gap, tail,
	// synchronisation), in seconds.
	KernelOverhead *Param `json:"kernel_overhead_s,omitempty"`
	// MoEImbalance is the busiest EP rank's expert load over the mean.
	MoEImbalance *Param `json:"moe_imbalance,omitempty"`
}

// EngineParams are a serving engine's defaults and costs.
type EngineParams struct {
	// StepOverhead is the host-side cost of one engine step (scheduling,
	// input preparation, sampling, detokenisation), in seconds.
	StepOverhead *Param `json:"step_overhead_s,omitempty"`
	// SeqOverhead is the host cost per scheduled sequence per step, in
	// seconds (Python bookkeeping that grows with the batch).
	SeqOverhead *Param `json:"seq_overhead_s,omitempty"`
	// KernelScale multiplies the family's GEMM and attention efficiency:
	// how close the engine's kernels come to the family's best.
	KernelScale *Param `json:"kernel_scale,omitempty"`
	// MaxSeqs is the default cap on sequences in one batch
	// (vLLM's max_num_seqs).
	MaxSeqs int `json:"max_seqs"`
	// MaxBatchTokens is the default token budget of one step
	// (max_num_batched_tokens), which sets the prefill chunk.
	MaxBatchTokens int `json:"max_batch_tokens"`
	// Small, when set, replaces MaxSeqs and MaxBatchTokens on devices with
	// less memory than Small.BelowGiB or of one of Small.Families (vLLM
	// keeps its small defaults on A100s).
	Small *SmallDefaults `json:"small_device,omitempty"`
	// MemoryUtilization is the engine's default memory share, read by
	// MemoryRule.
	MemoryUtilization float64 `json:"memory_utilization"`
	// MemoryRule is how the share becomes a KV-cache budget: "device"
	// (the default: of the device's memory, everything inside it),
	// "static" (weights and KV inside it, activations outside), "free"
	// (of what is free after weights and activations), or "sglang"
	// (static, at the share SGLang computes from the device's memory and
	// the layout unless one is given; see sglangMemFraction).
	MemoryRule string `json:"memory_rule,omitempty"`
	// MemorySource cites the rule and the default share.
	MemorySource string `json:"memory_source,omitempty"`
	// EPOverlap says the engine overlaps expert-parallel communication
	// with compute (two micro-batches) when it runs DP attention with EP.
	EPOverlap bool `json:"ep_overlap"`
	// OverlapSMShare is the share of the compute units the communication
	// kernels hold while they overlap compute (DeepEP reserves SMs).
	OverlapSMShare float64 `json:"overlap_sm_share,omitempty"`
	// KVReserve is how the scheduler admits a request against the KV
	// cache: "current" (the default) holds the blocks a sequence has
	// filled, so the cache carries sequences at their mean length;
	// "completion" reserves every block the request can reach (prompt
	// plus max_tokens) at admission, as TensorRT-LLM's default
	// GUARANTEED_NO_EVICT capacity scheduler does.
	KVReserve string `json:"kv_reserve,omitempty"`
	// HostOverlap says the engine prepares the next step on the host while
	// the device runs this one (TRT-LLM's overlap scheduler), so a step
	// takes the longer of the two instead of their sum.
	HostOverlap bool `json:"host_overlap,omitempty"`
	// EPComm is how MoE tokens reach their experts under DP attention
	// with EP: "alltoall" (the default: DeepEP-style dispatch and combine
	// of each token's expert copies) or "allgather" (every rank gathers
	// every rank's tokens, runs its own experts on them and
	// reduce-scatters the partial outputs).
	EPComm string `json:"ep_comm,omitempty"`
	// EagerLayer and EagerMoELayer are the host time to launch one dense
	// or one MoE decoder layer when a step runs without a captured graph
	// (eager PyTorch), in seconds. The device runs behind the host, so
	// an eager step takes at least its launch time. Nil means the engine
	// always runs compiled graphs.
	EagerLayer    *Param `json:"eager_layer_s,omitempty"`
	EagerMoELayer *Param `json:"eager_moe_layer_s,omitempty"`
	// GraphMaxBatch is the largest per-rank batch the engine replays from
	// a captured graph: decode sequences for a decode-only step, tokens
	// for a step that carries prefill. 0 means it never graphs.
	GraphMaxBatch int `json:"graph_max_batch,omitempty"`
	// GraphDecodeOnly says steps that carry prefill run eagerly (SGLang,
	// TensorRT-LLM); with attention DP one rank's prefill makes every
	// rank eager, since the ranks agree on graph use each step.
	GraphDecodeOnly bool   `json:"graph_decode_only,omitempty"`
	Note            string `json:"note,omitempty"`
}

// Values of EngineParams.KVReserve and EngineParams.EPComm.
const (
	KVReserveCurrent    = "current"
	KVReserveCompletion = "completion"
	EPAllToAll          = "alltoall"
	EPAllGather         = "allgather"
)

// SmallDefaults are an engine's batch defaults on smaller devices.
type SmallDefaults struct {
	BelowGiB       float64  `json:"below_gib"`
	Families       []string `json:"families,omitempty"`
	MaxSeqs        int      `json:"max_seqs"`
	MaxBatchTokens int      `json:"max_batch_tokens"`
}

// Params is the whole parameter set: families by name, engines by name.
type Params struct {
	Sources  map[string]string        `json:"sources,omitempty"`
	Families map[string]*Family       `json:"families"`
	Engines  map[string]*EngineParams `json:"engines"`
	// Stack holds the measured stack efficiencies by [StackKey]
	// (engine/family), generated from the corpus (docs/accuracy.md).
	Stack map[string]*Stack `json:"stack,omitempty"`
}

// DefaultParams returns the embedded parameter set. It panics only when the
// embedded file is invalid, which the package tests rule out.
//
// Each call parses the file afresh (2.5 ms): callers merge overlays into
// the result, so a shared value would leak one caller's overlay into the
// next.
func DefaultParams() *Params {
	p, err := ParseParams(defaultParams)
	if err != nil {
		panic("perf: embedded params.yaml: " + err.Error())
	}
	return p
}

// ParseParams reads a parameter file (the format of params.yaml), resolves
// inheritance and checks that every family has all eight parameters.
func ParseParams(data []byte) (*Params, error) {
	var p Params
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("parsing perf params: %w", err)
	}
	if err := p.resolve(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Merge overlays o on p: families and engines named in o replace p's.
func (p *Params) Merge(o *Params) {
	for k, f := range o.Families {
		p.Families[k] = f
	}
	for k, e := range o.Engines {
		p.Engines[k] = e
	}
	for k, s := range o.Stack {
		if p.Stack == nil {
			p.Stack = map[string]*Stack{}
		}
		p.Stack[k] = s
	}
}

func (p *Params) resolve() error {
	names := make([]string, 0, len(p.Families))
	for n := range p.Families {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := p.inherit(n, 0); err != nil {
			return err
		}
	}
	for _, n := range names {
		f := p.Families[n]
		for _, q := range f.params() {
			if *q.p == nil {
				return fmt.Errorf("perf params: family %s: %s missing", n, q.name)
			}
			if (*q.p).Value < 0 || (*q.p).Spread < 0 || (*q.p).Spread >= 1 {
				return fmt.Errorf("perf params: family %s: %s: want value ≥ 0 and spread in [0, 1)", n, q.name)
			}
		}
		for _, q := range []*Param{f.GEMMEff, f.LowPrecisionScale, f.MemEff, f.AttnEff, f.CommEff} {
			if q.Value <= 0 || q.Value > 1 {
				return fmt.Errorf("perf params: family %s: efficiencies must lie in (0, 1]", n)
			}
		}
		if f.MoEImbalance.Value < 1 {
			return fmt.Errorf("perf params: family %s: moe_imbalance must be ≥ 1", n)
		}
	}
	for n, e := range p.Engines {
		if (e.EagerLayer == nil) != (e.EagerMoELayer == nil) {
			return fmt.Errorf("perf params: engine %s: eager_layer_s and eager_moe_layer_s: want both or neither", n)
		}
		if e.GraphMaxBatch < 0 {
			return fmt.Errorf("perf params: engine %s: graph_max_batch %d: want ≥ 0", n, e.GraphMaxBatch)
		}
		if e.StepOverhead == nil || e.SeqOverhead == nil || e.KernelScale == nil {
			return fmt.Errorf("perf params: engine %s: step_overhead_s, seq_overhead_s and kernel_scale are required", n)
		}
		switch e.MemoryRule {
		case "", "device", "static", "free", "sglang":
		default:
			return fmt.Errorf("perf params: engine %s: memory_rule %q: want device, static, free or sglang", n, e.MemoryRule)
		}
		if e.MaxSeqs < 1 || e.MaxBatchTokens < 1 || e.MemoryUtilization <= 0 || e.MemoryUtilization > 1 {
			return fmt.Errorf("perf params: engine %s: want max_seqs ≥ 1, max_batch_tokens ≥ 1, memory_utilization in (0, 1]", n)
		}
		switch e.KVReserve {
		case "", KVReserveCurrent, KVReserveCompletion:
		default:
			return fmt.Errorf("perf params: engine %s: kv_reserve %q: want %s or %s", n, e.KVReserve, KVReserveCurrent, KVReserveCompletion)
		}
		switch e.EPComm {
		case "", EPAllToAll, EPAllGather:
		default:
			return fmt.Errorf("perf params: engine %s: ep_comm %q: want %s or %s", n, e.EPComm, EPAllToAll, EPAllGather)
		}
	}
	if err := p.checkStack(); err != nil {
		return err
	}
	if _, ok := p.Engines[string(Other)]; !ok {
		return fmt.Errorf("perf params: engine %q is required (it is the fallback)", Other)
	}
	return nil
}

type namedParam struct {
	name string
	p    **Param
}

func (f *Family) params() []namedParam {
	return []namedParam{
		{"gemm_eff", &f.GEMMEff}, {"lowp_gemm_scale", &f.LowPrecisionScale}, {"mem_eff", &f.MemEff}, {"attn_eff", &f.AttnEff},
		{"comm_eff", &f.CommEff}, {"hop_latency_s", &f.HopLatency},
		{"kernel_overhead_s", &f.KernelOverhead},
		{"moe_imbalance", &f.MoEImbalance},
	}
}

// inherit fills family n's missing parameters from its parent, widening
// their spread.
func (p *Params) inherit(n string, depth int) error {
	f := p.Families[n]
	if f.Inherit == "" {
		return nil
	}
	if depth > len(p.Families) {
		return fmt.Errorf("perf params: family %s: inheritance cycle", n)
	}
	parent, ok := p.Families[f.Inherit]
	if !ok {
		return fmt.Errorf("perf params: family %s inherits unknown family %q", n, f.Inherit)
	}
	if err := p.inherit(f.Inherit, depth+1); err != nil {
		return err
	}
	for i, q := range f.params() {
		if *q.p != nil {
			continue
		}
		src := *parent.params()[i].p
		if src == nil {
			continue
		}
		c := *src
		c.Spread = min(c.Spread+f.Widen, 0.9)
		c.Source = "inherited from " + f.Inherit + ": " + c.Source
		*q.p = &c
	}
	f.Parent, f.Inherit = f.Inherit, "" // resolved; a second resolve must not widen again
	return nil
}

// Family returns the parameters of a chip family.
func (p *Params) Family(name string) (*Family, error) {
	f, ok := p.Families[strings.ToLower(name)]
	if !ok {
		names := make([]string, 0, len(p.Families))
		for n := range p.Families {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("no performance parameters for chip family %q (known: %s)", name, strings.Join(names, ", "))
	}
	return f, nil
}

// Engine returns an engine's parameters, falling back to "other".
func (p *Params) Engine(e Engine) *EngineParams {
	if ep, ok := p.Engines[string(e)]; ok {
		return ep
	}
	return p.Engines[string(Other)]
}
