package model

import (
	"math"
	"testing"

	"ersatz/internal/hardware"
)

// Literal shapes, copied from the configs, so the arithmetic is tested
// independently of the parser.
var (
	// meta-llama/Llama-3.1-70B-Instruct config.json.
	llama70 = Model{ID: "llama70", Layers: 80, Hidden: 8192, Vocab: 128256,
		Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 28672}
	// deepseek-ai/DeepSeek-V3 config.json.
	dsv3 = Model{ID: "dsv3", Layers: 61, Hidden: 7168, Vocab: 129280,
		Heads: 128, KVHeads: 128, HeadDim: 192,
		QLoraRank: 1536, KVLoraRank: 512, QKNopeHeadDim: 128, QKRopeHeadDim: 64, VHeadDim: 128,
		Intermediate: 18432, Experts: 256, ExpertsPerToken: 8, MoEIntermediate: 2048,
		SharedExperts: 1, SharedIntermediate: 2048, DenseLayers: 3, MTPLayers: 1}
	// openai/gpt-oss-120b config.json.
	gptoss = Model{ID: "gptoss", Layers: 36, Hidden: 2880, Vocab: 201088,
		Heads: 64, KVHeads: 8, HeadDim: 64, SlidingWindow: 128, SlidingLayers: 18,
		Intermediate: 2880, Experts: 128, ExpertsPerToken: 4, MoEIntermediate: 2880}
	// meta-llama/Llama-4-Scout-17B-16E-Instruct text_config: every layer
	// MoE (16 routed + 1 shared expert); chunked attention (8,192) on the
	// 36 RoPE layers, the 12 NoPE layers global.
	scout = Model{ID: "scout", Layers: 48, Hidden: 5120, Vocab: 202048,
		Heads: 40, KVHeads: 8, HeadDim: 128, SlidingWindow: 8192, SlidingLayers: 36,
		Intermediate: 16384, Experts: 16, ExpertsPerToken: 1, MoEIntermediate: 8192,
		SharedExperts: 1, SharedIntermediate: 8192}
	// meta-llama/Llama-4-Maverick-17B-128E-Instruct text_config: every
	// other layer MoE (128 routed + 1 shared), the other 24 dense (16,384).
	maverick = Model{ID: "maverick", Layers: 48, Hidden: 5120, Vocab: 202048,
		Heads: 40, KVHeads: 8, HeadDim: 128, SlidingWindow: 8192, SlidingLayers: 36,
		Intermediate: 16384, Experts: 128, ExpertsPerToken: 1, MoEIntermediate: 8192,
		SharedExperts: 1, SharedIntermediate: 8192, DenseLayers: 24}
	// MiniMaxAI/MiniMax-M2 config.json: 256 experts, top 8, every layer.
	minimax = Model{ID: "minimax", Layers: 62, Hidden: 3072, Vocab: 200064,
		Heads: 48, KVHeads: 8, HeadDim: 128,
		Intermediate: 1536, Experts: 256, ExpertsPerToken: 8, MoEIntermediate: 1536}
)

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Abs(want)
}

func TestAttnParams(t *testing.T) {
	tests := []struct {
		m    Model
		want float64
	}{
		// q 8192×8192 + k,v 2×8192×1024 + o 8192×8192
		// = 67,108,864 + 16,777,216 + 67,108,864 = 150,994,944
		{llama70, 150994944},
		// q_a 7168×1536 = 11,010,048; q_b 1536×128×192 = 37,748,736;
		// kv_a 7168×576 = 4,128,768; kv_b 512×128×256 = 16,777,216;
		// o 128×128×7168 = 117,440,512; sum 187,105,280
		{dsv3, 187105280},
		// q 2880×4096 + k,v 2×2880×512 + o 4096×2880
		// = 11,796,480 + 2,949,120 + 11,796,480 = 26,542,080
		{gptoss, 26542080},
	}
	for _, tt := range tests {
		if got := tt.m.AttnParams(); got != tt.want {
			t.Errorf("%s: AttnParams = %.0f, want %.0f", tt.m.ID, got, tt.want)
		}
	}
	q := dsv3
	q.QLoraRank = 0 // direct q: 7168×128×192 = 176,160,768 replaces q_a+q_b
	if got, want := q.AttnParams(), 187105280-11010048-37748736+176160768.0; got != want {
		t.Errorf("MLA without q_lora: AttnParams = %.0f, want %.0f", got, want)
	}
}

func TestFFNParams(t *testing.T) {
	// Llama-3.1-70B: 3 × 8192 × 28672 = 704,643,072
	if got := llama70.DenseFFNParams(); got != 704643072 {
		t.Errorf("llama70 DenseFFNParams = %.0f", got)
	}
	if llama70.ExpertParams() != 0 || llama70.SharedParams() != 0 || llama70.RouterParams() != 0 {
		t.Error("dense model has expert params")
	}
	// DeepSeek-V3: expert 3 × 7168 × 2048 = 44,040,192; one shared expert of
	// the same width; router 7168 × 256 = 1,835,008.
	if got := dsv3.ExpertParams(); got != 44040192 {
		t.Errorf("dsv3 ExpertParams = %.0f", got)
	}
	if got := dsv3.SharedParams(); got != 44040192 {
		t.Errorf("dsv3 SharedParams = %.0f", got)
	}
	if got := dsv3.RouterParams(); got != 1835008 {
		t.Errorf("dsv3 RouterParams = %.0f", got)
	}
	// Embedding 129,280 × 7168 = 926,679,040; untied head the same.
	if got := dsv3.EmbeddingParams(); got != 926679040 || dsv3.LMHeadParams() != got {
		t.Errorf("dsv3 embedding/head = %.0f/%.0f", got, dsv3.LMHeadParams())
	}
	tied := llama70
	tied.TiedEmbeddings = true
	if tied.LMHeadParams() != 0 {
		t.Error("tied LM head counted")
	}
}

func TestParamsLiteral(t *testing.T) {
	// DeepSeek-V3 (arXiv 2412.19437: 671B total, 37B activated):
	//   embeddings 2 × 926,679,040                       =   1,853,358,080
	//   attention 61 × 187,105,280                       =  11,413,422,080
	//   dense FFN 3 × 3 × 7168 × 18432                   =   1,189,085,184
	//   MoE 58 × (257 × 44,040,192 + 1,835,008)          = 656,569,532,416
	//   total                                            = 671,025,397,760
	//   active: 58 × (9 × 44,040,192 + 1,835,008) = 23,095,410,688 in
	//   place of the MoE term                            =  37,551,276,032
	total, active := dsv3.Params()
	if total != 671025397760 {
		t.Errorf("dsv3 total = %.0f", total)
	}
	if active != 37551276032 {
		t.Errorf("dsv3 active = %.0f", active)
	}
	// Without the embedding lookup: 37,551,276,032 − 926,679,040 = 36,624,596,992.
	if got := dsv3.ComputeParams(); got != 36624596992 {
		t.Errorf("dsv3 ComputeParams = %.0f", got)
	}
	tot, act := dsv3.NonEmbeddingParams()
	if tot != total-1853358080 || act != active-1853358080 {
		t.Errorf("dsv3 NonEmbeddingParams = %.0f, %.0f", tot, act)
	}
	for _, tt := range []struct {
		m             Model
		total, active float64
	}{
		// Llama 4 Scout: expert 3 × 5120 × 8192 = 125,829,120; attention
		// q 5120×5120 + k,v 2×5120×1024 + o 5120×5120 = 62,914,560.
		//   embeddings 2 × 202,048 × 5120                =   2,068,971,520
		//   attention 48 × 62,914,560                    =   3,019,898,880
		//   MoE 48 × (17 × 125,829,120 + 5120 × 16)      = 102,680,494,080
		//   total                                        = 107,769,364,480
		//   active: 48 × (2 × 125,829,120 + 81,920) = 12,083,527,680
		//   (one routed, one shared) in place of MoE     =  17,172,398,080
		{scout, 107769364480, 17172398080},
		// Llama 4 Maverick: MoE in 24 layers, dense FFN in the other 24.
		//   embeddings, attention as Scout               =   5,088,870,400
		//   dense 24 × 3 × 5120 × 16384                  =   6,039,797,760
		//   MoE 24 × (129 × 125,829,120 + 5120 × 128)    = 389,582,684,160
		//   total                                        = 400,711,352,320
		//   active: 24 × (2 × 125,829,120 + 655,360) = 6,055,526,400
		//   in place of MoE                              =  17,184,194,560
		{maverick, 400711352320, 17184194560},
		// MiniMax-M2: expert 3 × 3072 × 1536 = 14,155,776; attention
		// q 3072×6144 + k,v 2×3072×1024 + o 6144×3072 = 44,040,192.
		//   embeddings 2 × 200,064 × 3072                =   1,229,193,216
		//   attention 62 × 44,040,192                    =   2,730,491,904
		//   MoE 62 × (256 × 14,155,776 + 3072 × 256)     = 224,729,235,456
		//   total                                        = 228,688,920,576
		//   active: 62 × (8 × 14,155,776 + 786,432) = 7,070,023,680
		//   in place of MoE                              =  11,029,708,800
		{minimax, 228688920576, 11029708800},
	} {
		total, active := tt.m.Params()
		if total != tt.total || active != tt.active {
			t.Errorf("%s: Params = %.0f, %.0f, want %.0f, %.0f", tt.m.ID, total, active, tt.total, tt.active)
		}
	}
	// A dense model's active count is its total.
	total, active = llama70.Params()
	if total != active {
		t.Errorf("llama70: total %.0f != active %.0f", total, active)
	}
}

func TestWeightBytes(t *testing.T) {
	// Llama-3.1-70B in bf16: every weight 2 B.
	total, _ := llama70.Params()
	if got := llama70.WeightBytes(hardware.BF16); got != 2*total {
		t.Errorf("bf16 WeightBytes = %.0f, want %.0f", got, 2*total)
	}
	// fp8: linear layers 1 B, embeddings and head 2 B.
	emb := 2 * 128256 * 8192.0
	if got, want := llama70.WeightBytes(hardware.FP8), (total-emb)*1+emb*2; got != want {
		t.Errorf("fp8 WeightBytes = %.0f, want %.0f", got, want)
	}
	// DeepSeek-V3 fp8: routers (58 × 1,835,008) stay 16-bit too.
	total, _ = dsv3.Params()
	other := 1853358080 + 58*1835008.0
	if got, want := dsv3.WeightBytes(hardware.FP8), (total-other)+2*other; got != want {
		t.Errorf("dsv3 fp8 WeightBytes = %.0f, want %.0f", got, want)
	}
}

func TestKVBytes(t *testing.T) {
	// Llama-3.1-70B bf16: 80 layers × 8 KV heads × 128 × 2 (K and V) × 2 B.
	if got := llama70.KVBytesPerToken(hardware.BF16); got != 327680 {
		t.Errorf("llama70 KVBytesPerToken = %.0f, want 327,680", got)
	}
	// DeepSeek-V3 bf16: 61 × (512 + 64) × 2 B.
	if got := dsv3.KVBytesPerToken(hardware.BF16); got != 70272 {
		t.Errorf("dsv3 KVBytesPerToken = %.0f, want 70,272", got)
	}
	// fp8 halves it.
	if got := dsv3.KVBytesPerToken(hardware.FP8); got != 35136 {
		t.Errorf("dsv3 fp8 KVBytesPerToken = %.0f, want 35,136", got)
	}
	// DeepSeek-V3.2 adds the indexer's fp8 key and its 4-byte scale:
	// 61 × (576 × 2 + 128 + 4) = 61 × 1,284 = 78,324 B in bf16, and
	// 61 × (576 + 132) = 43,188 B with an fp8 latent.
	dsv32 := dsv3
	dsv32.IndexTopK, dsv32.IndexHeads, dsv32.IndexHeadDim = 2048, 64, 128
	if got := dsv32.KVBytesPerToken(hardware.BF16); got != 78324 {
		t.Errorf("dsv3.2 KVBytesPerToken = %.0f, want 78,324", got)
	}
	if got := dsv32.KVBytesPerToken(hardware.FP8); got != 43188 {
		t.Errorf("dsv3.2 fp8 KVBytesPerToken = %.0f, want 43,188", got)
	}
	// gpt-oss-120b at 128k (131,072) context, bf16: per layer and token
	// 2 × 8 × 64 × 2 B = 2,048 B; 18 full layers hold 131,072 tokens, 18
	// sliding layers 128:
	//   2,048 × (18 × 131,072 + 18 × 128) = 2,048 × 2,361,600 = 4,836,556,800
	if got := gptoss.KVBytes(131072, hardware.BF16); got != 4836556800 {
		t.Errorf("gptoss KVBytes(128k) = %.0f, want 4,836,556,800", got)
	}
	// Per token uncapped: 36 × 2,048 = 73,728.
	if got := gptoss.KVBytesPerToken(hardware.BF16); got != 73728 {
		t.Errorf("gptoss KVBytesPerToken = %.0f, want 73,728", got)
	}
	// Below the window nothing is capped.
	if got := gptoss.KVBytes(100, hardware.BF16); got != 100*73728 {
		t.Errorf("gptoss KVBytes(100) = %.0f", got)
	}
	if got := llama70.KVBytes(1000, hardware.BF16); got != 1000*327680 {
		t.Errorf("llama70 KVBytes(1000) = %.0f", got)
	}
	// Llama 4 (Scout and Maverick share the attention shape), bf16: per
	// layer and token 2 × 8 × 128 × 2 B = 4,096 B; uncapped 48 × 4,096 =
	// 196,608 B. At 128k the 36 chunked layers hold one chunk (8,192, the
	// window standing in for it), the 12 global layers everything:
	//   4,096 × (12 × 131,072 + 36 × 8,192) = 4,096 × 1,867,776 = 7,650,410,496
	for _, m := range []Model{scout, maverick} {
		if got := m.KVBytesPerToken(hardware.BF16); got != 196608 {
			t.Errorf("%s KVBytesPerToken = %.0f, want 196,608", m.ID, got)
		}
		if got := m.KVBytes(131072, hardware.BF16); got != 7650410496 {
			t.Errorf("%s KVBytes(128k) = %.0f, want 7,650,410,496", m.ID, got)
		}
	}
	// MiniMax-M2 bf16, full attention in all 62 layers:
	// 62 × 2 × 8 × 128 × 2 B = 253,952 B per token, at any context.
	if got := minimax.KVBytesPerToken(hardware.BF16); got != 253952 {
		t.Errorf("minimax KVBytesPerToken = %.0f, want 253,952", got)
	}
	if got := minimax.KVBytes(131072, hardware.BF16); got != 131072*253952 {
		t.Errorf("minimax KVBytes(128k) = %.0f", got)
	}
	if llama70.KVBytes(0, hardware.BF16) != 0 || llama70.KVBytes(-5, hardware.BF16) != 0 {
		t.Error("KVBytes of an empty context is not 0")
	}
}

func TestKVHeadsPerDevice(t *testing.T) {
	tests := []struct {
		m        Model
		tp, want int
	}{
		{llama70, 1, 8}, {llama70, 2, 4}, {llama70, 8, 1}, {llama70, 16, 1}, {llama70, 0, 8},
		{gptoss, 4, 2}, {gptoss, 3, 3},
		{dsv3, 8, 1}, {dsv3, 1, 1},
	}
	for _, tt := range tests {
		if got := tt.m.KVHeadsPerDevice(tt.tp); got != tt.want {
			t.Errorf("%s KVHeadsPerDevice(%d) = %d, want %d", tt.m.ID, tt.tp, got, tt.want)
		}
	}
	// Llama-3.1-70B at TP 16: one KV head replicated, 80 × 1 × 128 × 2 × 2 B.
	if got := llama70.KVBytesPerTokenPerDevice(16, hardware.BF16); got != 40960 {
		t.Errorf("llama70 KVBytesPerTokenPerDevice(16) = %.0f", got)
	}
	if got := dsv3.KVBytesPerTokenPerDevice(8, hardware.BF16); got != 70272 {
		t.Errorf("dsv3 KVBytesPerTokenPerDevice(8) = %.0f", got)
	}
}

func TestDecodeFLOPs(t *testing.T) {
	// Dense: decode FLOPs = 2 × (active params − embedding lookup) + score.
	// Llama-3.1-70B at 4,096 context:
	//   linear 2 × (70,552,387,584 − 1,050,673,152) = 139,003,428,864
	//   score  80 layers × 4,096 keys × 64 heads × 128 × 2 (QK, PV) × 2
	//        = 10,737,418,240
	f := llama70.DecodeFLOPs(4096)
	_, active := llama70.Params()
	lin := 2 * (active - 128256*8192)
	if got := f.Total() - f.Score; got != lin || lin != 139003428864 {
		t.Errorf("llama70 decode linear = %.0f, want %.0f", got, lin)
	}
	if f.Score != 10737418240 {
		t.Errorf("llama70 decode score = %.0f", f.Score)
	}
	if f.Experts != 0 || f.LMHead != 2*128256*8192 {
		t.Errorf("llama70 decode split %+v", f)
	}
	// DeepSeek-V3, absorbed MLA at 4,096 context:
	//   per key and head: QK 512+64, PV 512 multiply-adds = 1,088
	//   61 × 4,096 × 128 × 1,088 × 2 = 69,591,891,968
	f = dsv3.DecodeFLOPs(4096)
	if f.Score != 69591891968 {
		t.Errorf("dsv3 decode score = %.0f", f.Score)
	}
	if got, want := f.Total()-f.Score, 2*dsv3.ComputeParams(); got != want {
		t.Errorf("dsv3 decode linear = %.0f, want %.0f", got, want)
	}
	// Routed experts: 2 × 58 × (8 × 44,040,192 + 1,835,008).
	if want := 2 * 58 * (8*44040192 + 1835008.0); f.Experts != want {
		t.Errorf("dsv3 decode experts = %.0f, want %.0f", f.Experts, want)
	}
	// Naive form: per key and head 128+64 + 128 = 320.
	if got := dsv3.AttnScoreFLOPs(4096, false); got != 2*61*4096*128*320.0 {
		t.Errorf("dsv3 naive score = %.0f", got)
	}
	// gpt-oss sliding layers see at most 128 keys:
	//   2 × 64 heads × 64 × 2 × (18 × 10,000 + 18 × 128)
	if got, want := gptoss.DecodeFLOPs(10000).Score, 2*64*64*2*(18*10000+18*128.0); got != want {
		t.Errorf("gptoss decode score = %.0f, want %.0f", got, want)
	}
	// Llama 4's chunked layers are scored as a window of 8,192 keys (an
	// upper bound: a chunk averages half that):
	//   2 × 40 heads × 128 × 2 × (12 × 131,072 + 36 × 8,192)
	if got, want := scout.DecodeFLOPs(131072).Score, 2*40*128*2*(12*131072+36*8192.0); got != want {
		t.Errorf("scout decode score = %.0f, want %.0f", got, want)
	}
	if llama70.AttnScoreFLOPs(0, true) != 0 {
		t.Error("score of empty context")
	}
}

func TestPrefillFLOPs(t *testing.T) {
	// Llama-3.1-70B, 1,000 tokens: linear terms × 1,000, LM head once,
	// score over 1000·1001/2 = 500,500 (query, key) pairs per layer:
	//   80 × 500,500 × 64 × 128 × 2 × 2 = 1,312,030,720,000
	d := llama70.DecodeFLOPs(0)
	f := llama70.PrefillFLOPs(1000)
	if f.Attention != 1000*d.Attention || f.FFN != 1000*d.FFN || f.LMHead != d.LMHead {
		t.Errorf("llama70 prefill linear %+v vs decode %+v", f, d)
	}
	if f.Score != 1312030720000 {
		t.Errorf("llama70 prefill score = %.0f", f.Score)
	}
	// Prefill score = Σ decode scores for i = 1..n (GQA has one form).
	var sum float64
	for i := 1; i <= 300; i++ {
		sum += gptoss.AttnScoreFLOPs(i, false)
	}
	if got := gptoss.PrefillFLOPs(300).Score; !near(got, sum, 1e-12) {
		t.Errorf("gptoss prefill score = %.0f, want Σ = %.0f", got, sum)
	}
	// MLA prefills in naive form: per key and head 320 multiply-adds.
	if got, want := dsv3.PrefillFLOPs(10).Score, 2*61*55*128*320.0; got != want {
		t.Errorf("dsv3 prefill score = %.0f, want %.0f", got, want)
	}
	if (llama70.PrefillFLOPs(0) != FLOPs{}) {
		t.Error("prefill of 0 tokens")
	}
}

func TestFLOPsHelpers(t *testing.T) {
	f := FLOPs{1, 2, 3, 4, 5}
	if f.Total() != 15 || f.Scale(2).Total() != 30 || f.Add(f).Total() != 30 {
		t.Errorf("FLOPs helpers: %v %v %v", f.Total(), f.Scale(2), f.Add(f))
	}
}
