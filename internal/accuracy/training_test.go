package accuracy

import (
	"bytes"
	"math"
	"os"
	"testing"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
	"ersatz/internal/train"
)

const calibrationPath = "../train/calibration.yaml"

func shippedTrainingSetup(t testing.TB) (*Training, *train.Predictor) {
	t.Helper()
	f, _, err := train.ParseCorpus(train.Shipped())
	if err != nil {
		t.Fatal(err)
	}
	cat := hardware.Default()
	p := &train.Predictor{Hardware: cat, Models: model.Default(), Params: perf.DefaultParams(), FS: train.ShippedFS()}
	family := func(chip string) string {
		if c, err := cat.Chip(chip); err == nil {
			return c.Family
		}
		return ""
	}
	return NewTraining(f.Cases, p, family), p
}

// TestShippedTraining: train/calibration.yaml and
// training-residuals.yaml are what the procedure gives on the shipped
// training corpus today; -update regenerates both. The cross-validated
// figures are held as floors (docs/train.md states them).
func TestShippedTraining(t *testing.T) {
	tr, _ := shippedTrainingSetup(t)
	fit := tr.Fit()
	cal, err := fit.Calibration.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	table, err := fit.Table.MarshalTraining()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(calibrationPath, cal, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("training-residuals.yaml", table, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, err := os.ReadFile(calibrationPath); err != nil || !bytes.Equal(got, cal) {
		t.Errorf("train/calibration.yaml is out of date (go test ./internal/accuracy -run TestShipped -update):\n%s", cal)
	}
	if !bytes.Equal(shippedTraining, table) {
		t.Errorf("training-residuals.yaml is out of date (go test ./internal/accuracy -run TestShipped -update)")
	}
	cv := tr.CrossValidate(0.8).Summary
	if cv.Failed > 0 || cv.MedianAbsError > 0.12 || cv.WithinBand < 0.7 {
		t.Errorf("cross-validated training accuracy fell: median |error| %.1f%% (floor 12%%), 80%% band coverage %.0f%% (floor 70%%), %d failed",
			100*cv.MedianAbsError, 100*cv.WithinBand, cv.Failed)
	}
}

// The calibrated prediction is the model's scaled by the efficiency, so
// the corpus is predicted once: re-running the estimator with the
// calibration gives the same figure for every metric.
func TestTrainingScalingIsExact(t *testing.T) {
	tr, p := shippedTrainingSetup(t)
	cal := train.DefaultCalibration()
	withCal := *p
	withCal.Calibration = cal
	for _, id := range []string{"megatron-gpt-70b-h100-768", "mtnlg-530b-a100-2240", "deepseek-v3-h800-2048-pretrain", "mindspeed-qwen3-8b-910c-8"} {
		i := -1
		for k := range tr.cases {
			if tr.cases[k].ID == id {
				i = k
			}
		}
		if i < 0 {
			t.Fatalf("%s not in the shipped training corpus", id)
		}
		e, _ := cal.Efficiency(tr.regimes[i].Engine, tr.regimes[i].Family)
		want, err := withCal.Predict(&tr.cases[i])
		if err != nil {
			t.Fatal(err)
		}
		got := tr.scaled(i, e)
		if math.Abs(got.p.Value/want.Value-1) > 1e-3 {
			t.Errorf("%s: scaled %.6g, re-predicted %.6g", id, got.p.Value, want.Value)
		}
	}
}

// ParamBand reads an 80% input band at another level on the log scale:
// z(0.5)/z(0.8) = 0.6745/1.2816 = 0.5263, so [80, 125] around 100 (±ln
// 1.25 = 0.2231) becomes 100·e^∓0.1174 = [88.92, 112.46] at 50%; at 80%
// it is unchanged.
func TestParamBand(t *testing.T) {
	for _, c := range []struct{ level, lo, hi float64 }{
		{0.8, 80, 125},
		{0.5, 88.92, 112.46},
	} {
		lo, hi := ParamBand(100, 80, 125, c.level)
		if math.Abs(lo-c.lo) > 0.01 || math.Abs(hi-c.hi) > 0.01 {
			t.Errorf("level %g: [%.2f, %.2f], want [%.2f, %.2f]", c.level, lo, hi, c.lo, c.hi)
		}
	}
}
