package predict

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"

	"ersatz/internal/accuracy"
	"ersatz/internal/corpus"
	"ersatz/internal/perf"
)

// accuracyFloor is what the model achieved when these figures were last
// recorded (docs/perf.md); a change that does worse fails here and must be
// justified in the docs, not hidden. The target for the shipped
// corpus is median ≤ 15% and ≥ 80% of cases within 25%; the second is not
// yet met (see docs/perf.md, Known gaps).
//
// The published.yaml floor was median 9.0%, 75.5% within 25% on 58 cases
// until issue 9 item 4 added 45 published non-NVIDIA and H20 figures,
// encoded as their sources state them, with no parameter moved
// (docs/corpus.md, "Evidence off NVIDIA", lists them). On the 103 cases the
// model measured median 17.5%, 55% within 25%; with each engine's own KV
// memory rule and the stack efficiencies estimated from the corpus
// (issue 9 item 3) it measures 17.4%, 57%, and the floor is that.
// The new cases that moved it, by how far they miss: GPUStack's vLLM-Ascend
// v0.9.1 runs on 910B (+41% to +577% throughput, TPOT -69% and -89%), the
// vllm-ascend Kimi-K2-Thinking tutorial on an Atlas 800 A3 (TPOT ~4x too
// fast), dstack's DeepSeek-R1 on MI300X with the vLLM and SGLang builds of
// early 2025 (+102% to +168% throughput), Oracle's Llama 3.1 405B on MI300X
// (+28% to +100%), the vLLM-Kunlun P800 report (+107%), and the MLPerf
// v5.1 Mixtral Server and MI300X Interactive rows read as the most
// delivered under their SLOs (-43%, -33%, +115%). The misses are
// systematic per engine and chip family, which is what issue 9 item 3's
// stack efficiency estimates; no model parameter was moved to meet them.
var accuracyFloor = map[string]struct{ median, within25 float64 }{
	"published.yaml":   {median: 0.175, within25: 0.565},
	"independent.yaml": {median: 0.15, within25: 0.80},
}

// TestCorpus runs the shipped corpus through the predictor, prints the
// per-case errors, and holds the accuracy to its recorded floor: every case
// predicted or with a reason, no NaN, median and within-25% share no worse
// than accuracyFloor.
func TestCorpus(t *testing.T) {
	for _, name := range []string{"published.yaml", "independent.yaml"} {
		t.Run(name, func(t *testing.T) {
			data := corpus.Published()
			if name == "independent.yaml" {
				data = corpus.Independent()
			}
			f, _, err := corpus.Parse(data, corpus.CorpusMode)
			if err != nil {
				t.Fatal(err)
			}
			p := New(corpus.FS(), ".")
			rep := corpus.EvaluateFile(f, p)
			var errs []float64
			for _, r := range rep.Cases {
				if r.Predicted == nil {
					if r.Reason == "" {
						t.Errorf("%s: no prediction and no reason", r.ID)
					}
					t.Logf("%-48s %-30s FAILED: %s", r.ID, r.Metric, r.Reason)
					errs = append(errs, 1)
					continue
				}
				if math.IsNaN(*r.Predicted) {
					t.Errorf("%s: NaN", r.ID)
				}
				band := ""
				if r.Low != nil {
					band = fmt.Sprintf("[%.4g, %.4g]", *r.Low, *r.High)
				}
				d := ""
				if det, ok := r.Detail.(Detail); ok {
					d = describe(det.Result)
				}
				t.Logf("%-48s %-30s measured %9.4g predicted %9.4g err %+6.1f%% %s %s", r.ID, r.Metric, r.Measured, *r.Predicted, *r.Error*100, band, d)
				errs = append(errs, math.Abs(*r.Error))
			}
			sort.Float64s(errs)
			t.Logf("n=%d median |err| %.1f%%, within 25%% %.0f%%, within band %.0f%%, failed %d",
				rep.Summary.N, rep.Summary.MedianAbsError*100, rep.Summary.Within25Pct*100, rep.Summary.WithinBand*100, rep.Summary.Failed)
			floor := accuracyFloor[name]
			if rep.Summary.MedianAbsError > floor.median {
				t.Errorf("median |error| %.1f%% is worse than the recorded %.1f%%", rep.Summary.MedianAbsError*100, floor.median*100)
			}
			if rep.Summary.Within25Pct < floor.within25-1e-9 {
				t.Errorf("%.0f%% of cases within 25%%, worse than the recorded %.0f%%", rep.Summary.Within25Pct*100, floor.within25*100)
			}
		})
	}
}

func describe(r perf.Result) string {
	s := ""
	for _, p := range r.Pools {
		st := p.Step
		s += fmt.Sprintf(" | %s B=%.0f(%s) step %.2fms [proj %.2f ffn %.2f exp %.2f attn %.2f lm %.2f draft %.2f tp %.2f ep %.2f ovh %.2f] mixed %.0f%%",
			p.Role, p.Batch, p.BatchLimit, float64(p.MeanStep)*1e3,
			float64(st.Projections.Seconds)*1e3, float64(st.FFN.Seconds)*1e3, float64(st.Experts.Seconds)*1e3,
			float64(st.Attention.Seconds)*1e3, float64(st.LMHead.Seconds)*1e3, float64(st.Draft.Seconds)*1e3,
			float64(st.TPComm.Seconds)*1e3, float64(st.EPComm.Seconds)*1e3, float64(st.Overhead.Seconds)*1e3, p.MixedShare*100)
	}
	return s
}

// TestDetailMarshals: the breakdown goes into `ersatz validate --json`.
func TestDetailMarshals(t *testing.T) {
	f, _, err := corpus.Parse(corpus.Published(), corpus.CorpusMode)
	if err != nil {
		t.Fatal(err)
	}
	rep := corpus.Evaluate(f.Cases[:3], New(corpus.FS(), "."))
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"bound":"memory"`) && !strings.Contains(string(b), `"bound":"compute"`) {
		t.Errorf("bounds do not print by name: %.300s", b)
	}
}

// TestUnpredictableCasesSayWhy: a case the model cannot answer returns an
// error naming the reason.
func TestUnpredictableCasesSayWhy(t *testing.T) {
	p := New(corpus.FS(), ".")
	one := 1
	base := corpus.Case{ID: "x", Model: "meta-llama/Llama-3.1-70B-Instruct", Chip: "ascend-910b2", Engine: "vllm",
		Precision: corpus.Precision{Weights: "fp8", Activations: "fp8", KVCache: "fp8"}, Serving: "aggregated",
		Instances: []corpus.Instance{{Role: "mixed", Count: 1, Chips: 8, TP: 8, PP: 1, EP: 1, DP: 1}},
		Workload:  corpus.Workload{InputTokens: 1000, OutputTokens: 100, Load: corpus.Load{Concurrency: &one}},
		Phase:     "all", Metric: "output_tokens_per_s_per_chip", Measured: 1}
	if _, err := p.Predict(&base); err == nil || !strings.Contains(err.Error(), "no fp8 compute") {
		t.Errorf("fp8 on 910B: %v", err)
	}
	big := base
	big.Chip, big.Precision = "h100-sxm", corpus.Precision{Weights: "bf16", Activations: "bf16", KVCache: "bf16"}
	big.Instances = []corpus.Instance{{Role: "mixed", Count: 1, Chips: 1, TP: 1, PP: 1, EP: 1, DP: 1}}
	if _, err := p.Predict(&big); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("70B bf16 on one H100: %v", err)
	}
}

// A decode-only case with no prompt (context_tokens only), as the
// measured-here script writes them, is predicted from the decode steps.
func TestDecodeOnlyCase(t *testing.T) {
	doc := []byte(`version: 1
cases:
  - id: decode-only
    source: test
    claim: measured-here
    model: meta-llama/Llama-3.1-8B-Instruct
    chip: h200-sxm
    engine: other
    precision: {weights: bf16}
    serving: aggregated
    instances:
      - {role: mixed, count: 1, chips: 1, tp: 1}
    workload:
      input_tokens: 0
      output_tokens: 1
      context_tokens: 2048
      load: {batch_per_chip: 64}
    phase: decode
    metric: tpot_ms_mean
    measured: 10
`)
	f, _, err := corpus.Parse(doc, corpus.CorpusMode)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := New(nil, ".").Predict(&f.Cases[0])
	if err != nil {
		t.Fatal(err)
	}
	// 64 sequences × 2048 keys × 128 KiB of bf16 KV (32 layers × 8 × 128 ×
	// 2 × 2 B) = 17.2 GB read, plus 16 GB of weights, at 4.8 TB/s: about
	// 7 ms before efficiencies and overheads.
	if pr.Value < 6 || pr.Value > 20 {
		t.Errorf("TPOT %.2f ms, want the 7–15 ms the bandwidth arithmetic gives", pr.Value)
	}
}

// TestTRTLLMTable holds the dense rows of the whole TensorRT-LLM v1.0
// perf-overview table (docs/data, a diagnostic, not a corpus) to their
// recorded accuracy, and checks that every row is predicted. The MoE rows
// are the open gap of docs/perf.md and are only reported.
func TestTRTLLMTable(t *testing.T) {
	data, err := os.ReadFile("../../docs/data/trtllm-v1-perf-overview.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := corpus.Parse(data, corpus.CorpusMode)
	if err != nil {
		t.Fatal(err)
	}
	rep := corpus.Evaluate(f.Cases, New(corpus.FS(), "."))
	var dense, moe []float64
	for i, r := range rep.Cases {
		if r.Predicted == nil {
			t.Errorf("%s: not predicted: %s", r.ID, r.Reason)
			continue
		}
		e := math.Abs(*r.Error)
		if m := f.Cases[i].Model; strings.Contains(m, "Qwen3") || strings.Contains(m, "Llama-4") {
			moe = append(moe, e)
		} else {
			dense = append(dense, e)
		}
	}
	med := func(xs []float64) float64 { sort.Float64s(xs); return xs[len(xs)/2] }
	within := func(xs []float64) float64 {
		n := 0
		for _, x := range xs {
			if x <= 0.25 {
				n++
			}
		}
		return float64(n) / float64(len(xs))
	}
	t.Logf("dense: %d rows, median %.1f%%, %.0f%% within 25%%; MoE: %d rows, median %.1f%%, %.0f%% within 25%%",
		len(dense), med(dense)*100, within(dense)*100, len(moe), med(moe)*100, within(moe)*100)
	if m, w := med(dense), within(dense); m > 0.07 || w < 0.92 {
		t.Errorf("dense rows: median %.1f%%, %.0f%% within 25%%; recorded 5.8%% and 94%%", m*100, w*100)
	}
}

// cvFloor holds the shipped corpus's figures (docs/accuracy.md): in
// sample (the shipped stack efficiencies and residual table) and
// cross-validated (both re-derived without each case's source), on the 103
// cases after issue 9's evidence off NVIDIA was merged (20 groups). The
// issue's acceptance is a cross-validated median ≤ 12% with the 80% band's
// coverage in [75%, 90%]: the coverage holds (82%), the median does not
// (18.6%), and the floor records it there rather than pretending. The
// misses are the 2024-25 vLLM, SGLang and MindIE builds on MI300X, 910B and
// 910C (docs/corpus.md, Evidence off NVIDIA), whose pairs have too few
// independent sources for a stack efficiency to survive leaving one out.
var cvFloor = map[string]struct{ median, within25, coverLo, coverHi, width float64 }{
	"in-sample":       {median: 0.175, within25: 0.565, coverLo: 0.80, coverHi: 0.90, width: 0.72},
	"cross-validated": {median: 0.187, within25: 0.555, coverLo: 0.75, coverHi: 0.90, width: 0.95},
}

// TestCrossValidated holds the calibrated 80% bands and the
// leave-one-source-out accuracy of the shipped corpus to their floors.
func TestCrossValidated(t *testing.T) {
	f, _, err := corpus.Parse(corpus.Published(), corpus.CorpusMode)
	if err != nil {
		t.Fatal(err)
	}
	base := New(corpus.FS(), ".")
	family := func(chip string) string {
		if c, err := base.Hardware.Chip(chip); err == nil {
			return c.Family
		}
		return ""
	}
	s := accuracy.Setup{Params: base.Params, Family: family, Predictor: func(p *perf.Params) corpus.Predictor {
		pr := *base
		pr.Params = p
		return &pr
	}}
	reps := map[string]*corpus.Report{
		"in-sample":       corpus.Evaluate(f.Cases, &accuracy.Banded{Base: base, Table: accuracy.Default(), Level: 0.8, Family: family}),
		"cross-validated": s.CrossValidate(f.Cases, 0.8),
	}
	for name, rep := range reps {
		sum, fl := rep.Summary, cvFloor[name]
		t.Logf("%s: n=%d median |err| %.1f%%, within 25%% %.0f%%, 80%% band coverage %.0f%%, median width %.0f%%",
			name, sum.N, sum.MedianAbsError*100, sum.Within25Pct*100, sum.WithinBand*100, sum.MedianBandWidth*100)
		if sum.MedianAbsError > fl.median || sum.Within25Pct < fl.within25-1e-9 {
			t.Errorf("%s: median %.1f%%, %.0f%% within 25%%; recorded %.1f%% and %.0f%%", name, sum.MedianAbsError*100, sum.Within25Pct*100, fl.median*100, fl.within25*100)
		}
		if sum.WithinBand < fl.coverLo-1e-9 || sum.WithinBand > fl.coverHi+1e-9 {
			t.Errorf("%s: the 80%% band holds %.0f%% of cases; recorded %.0f–%.0f%%", name, sum.WithinBand*100, fl.coverLo*100, fl.coverHi*100)
		}
		if sum.MedianBandWidth > fl.width {
			t.Errorf("%s: median band width %.0f%%, recorded at most %.0f%%", name, sum.MedianBandWidth*100, fl.width*100)
		}
	}
}
