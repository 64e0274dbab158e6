package perf

import (
	"fmt"
	"strings"

	"ersatz/internal/fit"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/units"
)

// Engine is the serving engine, which sets defaults (batch cap, chunk
// size, memory share) and host overheads.
type Engine string

// The engines ersatz distinguishes.
const (
	VLLM   Engine = "vllm"
	SGLang Engine = "sglang"
	TRTLLM Engine = "trtllm"
	MindIE Engine = "mindie"
	Other  Engine = "other"
)

// Speculative describes speculative decoding: Draft tokens proposed per
// step and either Acceptance (the chance each draft token is accepted,
// given the ones before it were) or TokensPerStep (the mean tokens a step
// emits, the bonus token included).
type Speculative struct {
	Method        string // mtp | eagle | ngram | draft
	DraftTokens   int
	Acceptance    float64
	TokensPerStep float64
}

// Deployment is one serving instance: a model on TP × PP devices.
type Deployment struct {
	Model *model.Model
	Chip  *hardware.Chip
	// Node supplies the scale-up domain and any link overrides; nil means
	// an 8-device domain with the chip's own links.
	Node *hardware.Node
	// DevicesPerChip is how many devices the engine sees per chip; 0
	// means Chip.EngineDevices() (a 910C is two devices, a B200 one).
	DevicesPerChip int
	// Weights, Activations and KV precisions. Empty Activations and KV
	// take the defaults of [Precisions], which every command shares.
	Weights, Activations, KV hardware.Precision
	// MemoryUtilization, when positive, replaces the engine's share of
	// device memory (vLLM's --gpu-memory-utilization, SGLang's
	// --mem-fraction-static, TensorRT-LLM's free_gpu_memory_fraction),
	// read by each engine's own rule (see [EngineParams.MemoryRule]).
	MemoryUtilization float64
	TP, PP, EP, DP    int
	Engine            Engine
	Speculative       *Speculative
	// MaxSeqs and MaxBatchTokens, when positive, replace the engine's
	// default cap on sequences per batch and its step token budget (per
	// DP rank, as engines schedule each rank on its own): the settings a
	// measurement ran with (vLLM's max_num_seqs and
	// max_num_batched_tokens, TensorRT-LLM's max_batch_size and
	// max_num_tokens).
	MaxSeqs, MaxBatchTokens int
	// NoChunkedPrefill says the engine ran with chunked prefill off: a
	// prompt is prefilled whole in one step, whatever the token budget
	// (trtllm-bench's default).
	NoChunkedPrefill bool
	// Eager says the engine runs without captured graphs (vLLM's
	// --enforce-eager, SGLang's --disable-cuda-graph).
	Eager bool
	// GraphMaxBatch, when positive, replaces the engine's largest graphed
	// batch per rank (SGLang's --cuda-graph-max-bs, TensorRT-LLM's
	// cuda_graph_config batch sizes).
	GraphMaxBatch int
}

// Instance is a validated deployment with every per-step constant
// precomputed, so that [Instance.Step] is a few dozen flops.
type Instance struct {
	d      Deployment
	layout fit.Layout // validated (EP 1 when redundant experts fill the ranks)
	fam    *Family
	eng    *EngineParams
	dpc    int // devices per chip
	attnTP int
	moeTP  int // tensor split of each expert inside an EP group

	maxSeqs, maxBatchTokens int // the engine's batch defaults on this device

	compute hardware.Precision // matmul precision

	// Per-device rates after efficiencies.
	gemmRate  float64 // FLOP/s
	attnRate  float64 // FLOP/s
	memBW     float64 // B/s
	linkBW    float64 // B/s per direction, TP group
	epBW      float64 // B/s per direction, EP group
	upBW      float64 // B/s per direction, scale-up, after efficiency
	outBW     float64 // B/s per direction, scale-out, after efficiency
	ppBW      float64 // B/s per direction, between stages
	hop       float64 // s per collective step
	kernel    float64 // s per kernel
	stepFixed float64 // s per step
	perSeq    float64 // s per sequence per step
	// Host launch time per layer of an eager step, and the largest
	// graphed batch per rank (0: never graphed).
	eagerDense, eagerMoE float64
	graphMax             float64
	imbalance            float64
	allGather            bool // EP tokens reach the experts by all-gather + reduce-scatter
	// Measured stack efficiencies of the engine on the family (1: none).
	stackDecode, stackPrefill float64

	// Per-stage layer counts (the fullest stage).
	layers, moeLayers, denseLayers, slidingLayers float64
	window                                        float64

	// Per-device, per-layer constants.
	attnWBytes     float64 // attention projection weights
	attnFlopsTok   float64 // projection FLOPs per token
	ffnWBytes      float64 // dense FFN weights
	ffnFlopsTok    float64
	sharedWBytes   float64 // shared experts
	sharedFlopsTok float64
	expertWBytes   float64 // one routed expert's slice on this device
	expertFlopsTok float64 // per token routed to it
	expertsDev     float64 // routed experts held per device
	routeK, routeE float64 // expert visits per token, expert slots
	routerFlopsTok float64
	attnActTok     float64 // activation bytes one token moves through the projections
	ffnActTok      float64 // … through a dense FFN
	sharedActTok   float64 // … through the shared experts
	expertActTok   float64 // … through one routed expert (per assignment)
	elemTok        float64 // unfused element-wise bytes per token per layer
	elemAssign     float64 // … per expert assignment (permute, activation, unpermute)
	elemDense      float64 // … of a dense FFN's activation per token
	elemShared     float64 // … of the shared experts' activation per token
	kvBytesTok     float64 // KV bytes one cached token holds per layer on this device
	scoreDecode    float64 // FLOPs per (query, key) per layer, absorbed/decode form
	scorePrefill   float64 // FLOPs per (query, key) per layer, prefill form
	kvBlockQ       float64 // query tile of prefill attention (KV re-read per tile)
	// Sparse attention (topK > 0): keys each query attends to, the
	// indexer's cache bytes per token per layer (part of kvBytesTok) and
	// its FLOPs per (query, key).
	topK, idxBytesTok, idxFlops float64

	hiddenBytes   float64 // one token's hidden state in the activation precision
	dispatchBytes float64 // one token copy dispatched to an expert
	combineBytes  float64 // one token copy combined back
	lmWBytes      float64
	lmFlopsTok    float64
	opsDense      float64 // kernels per dense layer
	opsMoE        float64 // kernels per MoE layer
	draftLayers   float64 // extra layers per draft token (MTP/EAGLE)
	draftTokens   float64
	tokensPerStep float64

	weightsPerDevice units.Bytes
}

const (
	// attnQueryTile is the query block of FlashAttention-style kernels:
	// each block re-reads the keys it attends to.
	attnQueryTile = 128
	// gemmTile is the row tile of dense GEMM kernels; expertTile the
	// largest row tile of grouped expert GEMMs. A GEMM with m rows costs as
	// if m were rounded up to a tile: half a tile wasted on average.
	gemmTile   = 64
	expertTile = 128
	// minExpertTile is the smallest row tile grouped expert GEMMs use
	// when each expert gets few rows (decode): vLLM's and SGLang's Triton
	// fused_moe pad each expert's rows to BLOCK_SIZE_M, 16 in their
	// default and tuned small-M configs (moe_align_block_size), and
	// swap-AB CUTLASS/TensorRT-LLM grouped GEMMs put the tokens on the
	// MMA's N side, which comes in steps of 8-16. Between the two the
	// tile follows the rows an expert gets, so the padding is half of
	// min(max(rows, 16), 128).
	minExpertTile = 16
	// groupedStream is the share of a dense GEMM's weight-streaming rate
	// that grouped expert GEMMs reach when memory-bound: NVIDIA measured
	// TensorRT-LLM's TRTLLM-Gen NVFP4 MoE on a B200 at about 50% of HBM
	// bandwidth where a dense GEMM of the same weights reaches 80.4%
	// (TensorRT-LLM tech blog 23, 'MoE as dense GEMM', 128-512 tokens),
	// and FlashInfer's timings of the same kernels over one EP8 rank's 32
	// DeepSeek experts give 52% at 16 tokens and 60% at 512 (PR #5301):
	// 0.62-0.74 of the dense rate. Many small per-expert problems end
	// their pipelines early and leave SMs idle at the tail.
	groupedStream = 0.65
)

// New validates d against the chip and the model and precomputes the
// constants of [Instance.Step].
func New(d Deployment, p *Params) (*Instance, error) {
	if d.Model == nil || d.Chip == nil {
		return nil, fmt.Errorf("perf: deployment needs a model and a chip")
	}
	if p == nil {
		p = DefaultParams()
	}
	m, c := d.Model, d.Chip
	for _, v := range []*int{&d.TP, &d.PP, &d.EP, &d.DP} {
		if *v == 0 {
			*v = 1
		}
	}
	if d.Engine == "" {
		d.Engine = Other
	}
	layout := fit.Layout{TP: d.TP, PP: d.PP, EP: d.EP, DP: d.DP}
	// EP that does not divide the routed experts means redundant copies
	// fill the ranks (DeepSeek's EP144 holds 256 experts plus 32
	// redundant ones, two per GPU); more EP ranks than experts means one
	// expert per device, the extra ranks holding shared-expert replicas
	// (CloudMatrix384's EP320 for 256 experts).
	uneven := m.MoE() && m.Experts%d.EP != 0
	if uneven {
		if d.EP > d.TP || d.TP%d.EP != 0 {
			return nil, &fit.LayoutError{Field: "ep", Value: d.EP, Msg: fmt.Sprintf("must divide tp %d", d.TP)}
		}
		layout.EP = 1 // fit's checks want EP | experts; the weights per device are the same
	}
	if err := fit.CheckLayout(m, layout); err != nil {
		return nil, err
	}
	compute, err := computePrecision(&d)
	if err != nil {
		return nil, err
	}
	fam, err := p.Family(c.Family)
	if err != nil {
		return nil, err
	}
	in := &Instance{d: d, fam: fam, eng: p.Engine(d.Engine), compute: compute}
	in.stackDecode, in.stackPrefill = p.StackEfficiency(d.Engine, c.Family)
	in.dpc = d.DevicesPerChip
	if in.dpc <= 0 {
		in.dpc = c.EngineDevices()
	}
	if c.MemoryTBps == nil || !c.MemoryTBps.Known() {
		return nil, fmt.Errorf("%s has no memory bandwidth in the catalog", c.ID)
	}
	in.maxSeqs, in.maxBatchTokens = in.eng.MaxSeqs, in.eng.MaxBatchTokens
	if sm := in.eng.Small; sm != nil {
		small := c.MemoryGB.Known() && c.MemoryGB.Value/float64(in.dpc) < sm.BelowGiB
		for _, f := range sm.Families {
			small = small || strings.EqualFold(f, c.Family)
		}
		if small {
			in.maxSeqs, in.maxBatchTokens = sm.MaxSeqs, sm.MaxBatchTokens
		}
	}
	if d.MaxSeqs < 0 || d.MaxBatchTokens < 0 {
		return nil, fmt.Errorf("perf: max seqs %d and max batch tokens %d: want ≥ 0 (0 = the engine default)", d.MaxSeqs, d.MaxBatchTokens)
	}
	if d.MemoryUtilization < 0 || d.MemoryUtilization > 1 {
		return nil, fmt.Errorf("perf: memory utilization %g: want a fraction in (0, 1] (0 = the engine's)", d.MemoryUtilization)
	}
	if d.GraphMaxBatch < 0 {
		return nil, fmt.Errorf("perf: graph max batch %d: want ≥ 0 (0 = the engine default)", d.GraphMaxBatch)
	}
	in.graphMax = float64(in.eng.GraphMaxBatch)
	if d.GraphMaxBatch > 0 {
		in.graphMax = float64(d.GraphMaxBatch)
	}
	if d.MaxSeqs > 0 {
		in.maxSeqs = d.MaxSeqs
	}
	if d.MaxBatchTokens > 0 {
		in.maxBatchTokens = d.MaxBatchTokens
	}
	in.allGather = in.eng.EPComm == EPAllGather
	in.attnTP = d.TP / d.DP
	in.moeTP = d.TP / d.EP
	in.setRates(1, 1)
	in.layout = layout
	in.setShapes(uneven)
	w := fit.DeviceWeights(m, layout, d.Weights)
	in.weightsPerDevice = units.Bytes(w)
	return in, nil
}

// computePrecision checks the precisions against the chip, fills in the
// defaults and returns the one matmuls run in.
func computePrecision(d *Deployment) (hardware.Precision, error) {
	a, kv, err := Precisions(d.Chip, d.Weights, d.Activations, d.KV)
	if err != nil {
		return "", err
	}
	d.Activations, d.KV = a, kv
	return a, nil
}

// Precisions checks weights, activations and KV-cache precisions against
// the chip and fills in the defaults, for every command alike: activations
// at the weights' precision (W8A8, FP8, FP4), but 16-bit under int4
// weights (W4A16, the GPTQ/AWQ kernels every engine ships); a 16-bit model
// in whichever 16-bit format the chip has; and the KV cache at 16 bits,
// the "auto" of vLLM's --kv-cache-dtype and SGLang's, which keeps the
// model's dtype whatever the weights' quantization. An 8-bit KV cache is
// asked for, never assumed.
func Precisions(c *hardware.Chip, weights, acts, kv hardware.Precision) (hardware.Precision, hardware.Precision, error) {
	if weights == "" {
		return "", "", fmt.Errorf("perf: weights precision is required")
	}
	if weights.Bytes() == 0 {
		return "", "", fmt.Errorf("unknown weights precision %q", weights)
	}
	a := acts
	if a == "" {
		switch {
		case weights == hardware.INT4, model.WeightOnly(weights, c):
			a = sixteenBit(c) // weight-only: widened to 16 bits for the matmul
		default:
			a = weights
		}
	}
	if a == hardware.INT4 {
		return "", "", fmt.Errorf("int4 is weight-only: activations must be 8- or 16-bit (W4A8 or W4A16)")
	}
	if weights == hardware.FP4 && a != hardware.FP4 && !c.Runs(a) {
		return "", "", lacks(c, a)
	}
	if !c.Runs(a) {
		if (a == hardware.BF16 || a == hardware.FP16) && c.Runs(sixteenBit(c)) {
			a = sixteenBit(c) // a 16-bit model runs in whichever 16-bit format the chip has
		} else {
			return "", "", lacks(c, a)
		}
	}
	if kv == "" {
		kv = DefaultKV(c)
	}
	if kv.Bytes() == 0 {
		return "", "", fmt.Errorf("unknown kv-cache precision %q", kv)
	}
	if kv != hardware.BF16 && kv != hardware.FP16 && !c.Runs(kv) {
		return "", "", fmt.Errorf("%s has no %s support for the KV cache; it runs %s", c.ID, kv, strings.Join(c.PrecisionNames(), ", "))
	}
	return a, kv, nil
}

// DefaultKV is the KV-cache precision engines use unless told otherwise:
// the chip's 16-bit format (see [Precisions]).
func DefaultKV(c *hardware.Chip) hardware.Precision { return sixteenBit(c) }

func lacks(c *hardware.Chip, p hardware.Precision) error {
	return fmt.Errorf("%s has no %s compute; it runs %s", c.ID, p, strings.Join(c.PrecisionNames(), ", "))
}

// sixteenBit returns the chip's 16-bit format, bf16 preferred.
func sixteenBit(c *hardware.Chip) hardware.Precision {
	if c.Runs(hardware.BF16) || !c.Runs(hardware.FP16) {
		return hardware.BF16
	}
	return hardware.FP16
}

// Deployment returns the validated deployment (defaults filled in).
func (in *Instance) Deployment() Deployment { return in.d }

// Devices is TP × PP.
func (in *Instance) Devices() int { return in.d.TP * in.d.PP }

// Chips is the chips one instance occupies.
func (in *Instance) Chips() float64 { return float64(in.Devices()) / float64(in.dpc) }

// TokensPerStep is the mean tokens a decode step emits per sequence.
func (in *Instance) TokensPerStep() float64 { return in.tokensPerStep }

// WeightsPerDevice is the weight bytes of the fullest device.
func (in *Instance) WeightsPerDevice() units.Bytes { return in.weightsPerDevice }

// Limits are the engine's per-rank scheduling limits on this device: the
// most sequences in one batch and the token budget of one step, after the
// deployment's own settings and the engine's small-device defaults.
func (in *Instance) Limits() (maxSeqs, maxBatchTokens int) { return in.maxSeqs, in.maxBatchTokens }

// Variant returns the instance at pessimistic (v < 0) or optimistic
// (v > 0) inputs: datasheet figures moved by their confidence's spread and
// efficiency parameters by their own.
func (in *Instance) Variant(v int) *Instance {
	c := *in
	s := 1.0
	switch {
	case v < 0:
		s = 0.5
	case v > 0:
		s = 2
	}
	c.setRates(s, s)
	return &c
}
