package plan

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/policy"
)

func request(t testing.TB, modelID string, chips ...string) Request {
	t.Helper()
	cat := hardware.Default()
	m, err := model.Default().Model(modelID)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{
		Model: m, Catalog: cat,
		Traffic: Traffic{RatePerS: 10, InputTokens: 2000, OutputTokens: 500},
		SLO:     SLO{TTFTS: 2, TPOTS: 0.05, Percentile: 90},
		Verify:  0, Headroom: DefaultHeadroom,
	}
	for _, id := range chips {
		c, err := cat.Chip(id)
		if err != nil {
			t.Fatal(err)
		}
		req.Chips = append(req.Chips, c)
	}
	return req
}

func preset(t testing.TB, id string) *policy.Policy {
	t.Helper()
	ps, err := policy.Presets(hardware.Default())
	if err != nil {
		t.Fatal(err)
	}
	return ps[id]
}

func TestDomesticPlan(t *testing.T) {
	req := request(t, "deepseek-ai/DeepSeek-R1", "h20", "h100-sxm", "ascend-910c", "ascend-910b2")
	req.Policy = policy.Set{preset(t, "cn-domestic")}
	req.Verify = 1
	req.VerifyRequests = 400
	res, err := Run(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recommended == nil {
		t.Fatalf("no recommendation: %+v", res.Why)
	}
	if v := res.Recommended.Vendor; v != "huawei" {
		t.Errorf("recommended %s (%s) under cn-domestic, want a Huawei chip", res.Recommended.Chip, v)
	}
	if res.Impact == nil || res.Impact.Without == nil {
		t.Fatal("no ban impact")
	}
	if res.Impact.DeltaCost < 0 {
		t.Errorf("the ban lowers cost (%+.0f $/h): the best plan without a policy must be at least as cheap", res.Impact.DeltaCost)
	}
	// Every plan carries the traffic: replicas × per-replica rate ≥ rate.
	for _, c := range res.Chips {
		if p := c.Best; p != nil {
			if p.TPOTS > req.SLO.TPOTS*1.0001 {
				t.Errorf("%s: planned TPOT %.1f ms over the 50 ms target", p.Chip, p.TPOTS*1e3)
			}
			// Verification adds replicas until the simulated latency
			// meets the targets; a best plan that still misses would
			// rank after every plan that meets them.
			if p.Verified == nil || p.Verified.Requests == 0 {
				t.Errorf("%s: best plan not verified (%+v)", p.Chip, p.Verified)
			} else if !p.Verified.Meets {
				t.Errorf("%s: simulation misses the targets (%+v)", p.Chip, p.Verified)
			}
		}
	}
	if w := res.Why; w.Kind != WhyRecommended || w.RunnerUp == nil || w.RunnerUp.Chip == res.Recommended.Chip {
		t.Errorf("why: %+v, want the recommendation with a runner-up on another chip", w)
	}
	if b := res.Recommended.Binding; b.Limit == "" || res.Recommended.Bound.Part == "" {
		t.Errorf("recommended plan says nothing of what binds (%+v) or dominates (%+v)", b, res.Recommended.Bound)
	}
}

func TestPolicyAllowsNothing(t *testing.T) {
	req := request(t, "meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", "h20")
	req.Policy = policy.Set{preset(t, "cn-domestic")}
	res, err := Run(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recommended != nil {
		t.Fatalf("recommended %s; cn-domestic allows neither H100 nor H20", res.Recommended.Chip)
	}
	if w := res.Why; w.Kind != WhyPolicyDenies || w.Chips != 2 || w.Without == nil {
		t.Errorf("why = %+v, want the policy to deny both chips and the best plan without it", w)
	}
}

func TestSLONothingMeets(t *testing.T) {
	req := request(t, "meta-llama/Llama-3.1-70B-Instruct", "h100-sxm", "ascend-910b2")
	req.SLO = SLO{TPOTS: 0.001, Percentile: 90} // 1 ms per token: no chip decodes a 70B model that fast
	res, err := Run(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recommended != nil {
		t.Fatalf("recommended %s for a 1 ms TPOT", res.Recommended.Chip)
	}
	if w := res.Why; w.Kind != WhyNothingMeets || w.Binding != ReasonTPOT || w.Nearest == nil || !strings.Contains(w.Nearest.Detail, "TPOT p90") {
		t.Errorf("why = %+v, want TPOT binding with its nearest miss", w)
	}
}

func TestFitsNowhere(t *testing.T) {
	req := request(t, "meta-llama/Llama-3.1-8B-Instruct", "l20")
	// A dense model of 10 trillion parameters: 20 TB at bf16, more than 64 L20s (3 TB) hold.
	req.Model = &model.Model{ID: "huge", Architecture: "LlamaForCausalLM", Layers: 400, Hidden: 32768, Vocab: 128000,
		Heads: 256, KVHeads: 16, HeadDim: 128, Intermediate: 131072}
	req.Precisions = []hardware.Precision{hardware.BF16}
	res, err := Run(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recommended != nil {
		t.Fatal("a 10T model fits on L20s?")
	}
	if w := res.Why; w.Binding != ReasonFit || w.Nearest == nil || w.Nearest.Chip != "l20" {
		t.Errorf("why = %+v, want the fit constraint and its nearest miss on l20", w)
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []byte {
		req := request(t, "Qwen/Qwen3-30B-A3B", "h20", "ascend-910b2")
		req.Verify = 1
		req.VerifyRequests = 300
		res, err := Run(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		return b
	}
	if a, b := run(), run(); string(a) != string(b) {
		t.Error("two runs of the same request differ")
	}
}

func TestBadRequest(t *testing.T) {
	for _, tt := range []struct {
		edit func(*Request)
		want string
	}{
		{func(r *Request) { r.Traffic.RatePerS = 0 }, "rate 0: want a positive request rate"},
		{func(r *Request) { r.SLO = SLO{} }, "no latency target"},
		{func(r *Request) { r.SLO.Percentile = 95 }, "percentile 95: want 50, 90 or 99"},
		{func(r *Request) { r.Objective = "speed" }, `objective "speed"`},
		{func(r *Request) { r.Costs = DefaultCosts; r.Costs.PUE = 0.5 }, "PUE 0.5: want at least 1"},
	} {
		req := request(t, "meta-llama/Llama-3.1-8B-Instruct", "h100-sxm")
		tt.edit(&req)
		if _, err := Run(req); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
}

// BenchmarkScreen measures the analytic screen: candidates (chip,
// precision, node, instance shape, batch) evaluated per second on one
// core, verification off.
func BenchmarkScreen(b *testing.B) {
	for _, id := range []string{"meta-llama/Llama-3.1-70B-Instruct", "deepseek-ai/DeepSeek-R1"} {
		b.Run("model="+id[strings.Index(id, "/")+1:], func(b *testing.B) {
			req := request(b, id)
			b.ReportAllocs()
			n := 0
			start := time.Now()
			for b.Loop() {
				res, err := Run(req)
				if err != nil {
					b.Fatal(err)
				}
				n += res.Candidates
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "candidates/s")
		})
	}
}

// Prefill and decode may run on different chips of one vendor; pairing
// vendors is opt-in.
func TestCrossChip(t *testing.T) {
	req := request(t, "deepseek-ai/DeepSeek-R1", "ascend-910c", "ascend-910b2", "h20")
	res, err := Run(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.CrossChip) == 0 {
		t.Fatal("no cross-chip plan between the two Ascend chips")
	}
	for _, p := range res.CrossChip {
		pre, _ := req.Catalog.Chip(p.PrefillChip)
		dec, _ := req.Catalog.Chip(p.Chip)
		if pre == nil || dec == nil || pre.Vendor != dec.Vendor || p.PrefillChip == p.Chip {
			t.Errorf("cross-chip plan %s → %s: want two chips of one vendor", p.PrefillChip, p.Chip)
		}
		// Each pool is priced at its own chip: the total is the sum.
		if p.ChipsTotal < p.Replicas+p.PrefillReplicas {
			t.Errorf("%s → %s: %d chips for %d+%d instances", p.PrefillChip, p.Chip, p.ChipsTotal, p.PrefillReplicas, p.Replicas)
		}
	}
	req.CrossVendor = true
	res, err = Run(req)
	if err != nil {
		t.Fatal(err)
	}
	mixed := false
	for _, p := range res.CrossChip {
		pre, _ := req.Catalog.Chip(p.PrefillChip)
		dec, _ := req.Catalog.Chip(p.Chip)
		mixed = mixed || pre.Vendor != dec.Vendor
	}
	if !mixed {
		t.Error("--cross-vendor tried no pairing across vendors")
	}
}

// TestCrossChipPolicy: a pairing is labelled with the stricter decision of
// its two chips; under cn-domestic an H200 → H20 pairing is denied, as
// both its chips are (it used to show as allowed).
func TestCrossChipPolicy(t *testing.T) {
	req := request(t, "Qwen/Qwen3-32B", "h200-sxm", "h20")
	req.Policy = policy.Set{preset(t, "cn-domestic")}
	res, err := Run(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.CrossChip) == 0 {
		t.Fatal("no cross-chip pairing to check")
	}
	for _, p := range res.CrossChip {
		if p.Policy != "deny" {
			t.Errorf("%s → %s under cn-domestic: policy %q, want deny", p.PrefillChip, p.Chip, p.Policy)
		}
	}
	if res.Recommended != nil {
		t.Errorf("recommended %s under a policy that denies every candidate", res.Recommended.Chip)
	}
}
