package train

import (
	"math"
	"strings"
	"testing"

	"ersatz/internal/model"
)

func shippedReport(t *testing.T) (map[string]float64, float64, int) {
	t.Helper()
	f, warns, err := ParseCorpus(Shipped())
	if err != nil || len(warns) > 0 {
		t.Fatalf("shipped corpus: %v %v", err, warns)
	}
	p := &Predictor{Hardware: catalog(), Models: model.Default(), Params: params, FS: ShippedFS()}
	rep := Evaluate(f.Cases, p.Predict)
	pred := map[string]float64{}
	for _, r := range rep.Cases {
		if r.Predicted == nil {
			t.Errorf("%s: not predicted: %s", r.ID, r.Reason)
			continue
		}
		pred[r.ID] = *r.Predicted
	}
	return pred, rep.Summary.MedianAbsError, len(f.Cases)
}

// The shipped corpus: every case predicted, at least 15 cases and 4 off
// NVIDIA, and the figures held as floors. The targets: DeepSeek-V3's
// 2.788M H800 GPU-hours within 20% (the model covers the 14.8T-token
// pre-training, 2.664M of them); Llama 3 405B on 8,192 H100 within 5
// points of its 43% MFU, both by the model alone (uncalibrated: the
// calibration, internal/accuracy's TestShippedTraining, is held to its
// own floors: 10.7% cross-validated). The model alone's median |error|
// (40.3% on 31 cases when written: it prices the best-engineered stacks,
// docs/train.md) must not get worse.
func TestShippedCorpusFloors(t *testing.T) {
	pred, median, n := shippedReport(t)
	if n < 15 {
		t.Errorf("%d cases, want at least 15", n)
	}
	f, _, _ := ParseCorpus(Shipped())
	off := 0
	for _, c := range f.Cases {
		if ch, err := catalog().Chip(c.Chip); err == nil && ch.Vendor != "nvidia" {
			off++
		}
		if c.Source == "" {
			t.Errorf("%s: no source", c.ID)
		}
		if (c.Metric == "mfu" || c.Metric == "tflops_per_chip") && c.Flops == "" {
			t.Errorf("%s: no FLOPs convention", c.ID)
		}
	}
	if off < 4 {
		t.Errorf("%d cases off NVIDIA, want at least 4", off)
	}
	if got := pred["deepseek-v3-h800-2048-pretrain"]; math.Abs(got/2.788e6-1) > 0.20 {
		t.Errorf("DeepSeek-V3 H800 GPU-hours %.4g, want within 20%% of 2.788M", got)
	}
	if got := pred["llama3-405b-h100-8192"]; math.Abs(got-0.43) > 0.05 {
		t.Errorf("Llama 3 405B MFU %.3f, want within 5 points of 0.43", got)
	}
	if median > 0.41 {
		t.Errorf("median |error| %.3f, was 0.403", median)
	}
}

func TestParseCorpusErrors(t *testing.T) {
	head := "version: 1\nkind: training\ncases:\n"
	ok := "  - {id: a, source: s, model: m, chip: h100, chips: 8, precision: bf16, seq_len: 4096, global_batch: 8, metric: mfu, measured: 0.4}\n"
	if _, _, err := ParseCorpus([]byte(head + ok)); err != nil {
		t.Fatalf("minimal case: %v", err)
	}
	if _, w, err := ParseCorpus([]byte(head + strings.Replace(ok, "measured:", "colour: red, measured:", 1))); err != nil || len(w) != 1 {
		t.Errorf("unknown field: %v, warnings %v; want one warning", err, w)
	}
	for _, c := range []struct{ name, data, want string }{
		{"kind", "version: 1\nkind: serving\ncases: []\n", "kind"},
		{"version", "version: 2\nkind: training\ncases: []\n", "version"},
		{"metric", head + strings.Replace(ok, "metric: mfu", "metric: speed", 1), "metric"},
		{"precision", head + strings.Replace(ok, "bf16", "int4", 1), "precision"},
		{"chips", head + strings.Replace(ok, "chips: 8", "chips: 0", 1), "chips"},
		{"batch", head + strings.Replace(ok, "global_batch: 8, ", "", 1), "global_batch"},
		{"id", head + strings.Replace(ok, "id: a", "id: A_1", 1), "id"},
		{"twice", head + ok + ok, "twice"},
		{"flops", head + strings.Replace(ok, "metric: mfu", "metric: mfu, flops: hfu", 1), "flops"},
		{"tokens", head + strings.Replace(ok, "metric: mfu", "metric: gpu_hours_total", 1), "tokens"},
		{"zero", head + strings.Replace(ok, "seq_len", "zero: 4, seq_len", 1), "zero"},
		{"framework", head + strings.Replace(ok, "seq_len", "framework: deepspeedz, seq_len", 1), "framework"},
		{"peak_share", head + strings.Replace(ok, "seq_len", "peak_share: 3, seq_len", 1), "peak_share"},
		{"memory_tbps", head + strings.Replace(ok, "seq_len", "memory_tbps: -1, seq_len", 1), "memory_tbps"},
	} {
		if _, _, err := ParseCorpus([]byte(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.want)
		}
	}
	if !IsTraining([]byte(head)) || IsTraining([]byte("version: 1\ncases: []\n")) {
		t.Error("IsTraining sniffs kind: training only")
	}
}

// A case that cannot be predicted keeps its row with a reason.
func TestEvaluateKeepsFailures(t *testing.T) {
	f, _, err := ParseCorpus([]byte("version: 1\nkind: training\ncases:\n  - {id: x, source: s, model: no/such, chip: h100, chips: 8, precision: bf16, seq_len: 4096, global_batch: 8, metric: mfu, measured: 0.4}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := &Predictor{Hardware: catalog(), Models: model.Default(), Params: params}
	rep := Evaluate(f.Cases, p.Predict)
	if len(rep.Cases) != 1 || rep.Cases[0].Predicted != nil || rep.Cases[0].Reason == "" || rep.Summary.Failed != 1 {
		t.Errorf("failure row %+v", rep.Cases)
	}
}

func FuzzParseCorpus(f *testing.F) {
	f.Add(Shipped())
	f.Add([]byte("version: 1\nkind: training\ncases:\n  - {id: a, model: m, chip: h100, chips: 8, precision: bf16, seq_len: 4096, global_batch: 8, metric: mfu, measured: 0.4}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, _, err := ParseCorpus(data)
		if err == nil && (file.Kind != "training" || file.Version != 1) {
			t.Errorf("accepted kind %q version %d", file.Kind, file.Version)
		}
	})
}
