package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// trainGolden are the `ersatz train` and training-validate commands the
// README and docs/train.md show; run `go test ./internal/cli -run
// 'TestGolden/(train|validate-training)' -update` after an intended change.
var trainGolden = []struct {
	name string
	args string
	code int
}{
	// The README's R2 question.
	{"train-v3-h800-published", "train --model deepseek-ai/DeepSeek-V3 --chip h800-sxm --chips 2048 --tokens 14.8T --precision fp8 --global-batch 15360 --tp 1 --pp 16 --ep 64 --vpp 2 --zero 1 --ep-overlap", 0},
	{"train-v3-h800-uncalibrated", "train --model deepseek-ai/DeepSeek-V3 --chip h800-sxm --chips 2048 --tokens 14.8T --precision fp8 --global-batch 15360 --tp 1 --pp 16 --ep 64 --vpp 2 --zero 1 --ep-overlap --uncalibrated --csv", 0},
	{"train-v3-910b-60d", "train --model deepseek-ai/DeepSeek-V3 --chip ascend-910b2 --days 60 --tokens 14.8T --global-batch 15360", 0},
	{"train-v3-cm384-60d", "train --model deepseek-ai/DeepSeek-V3 --chip ascend-910c --node cloudmatrix384 --days 60 --tokens 14.8T --global-batch 15360", 0},
	{"train-v3-cn-domestic-60d", "train --model deepseek-ai/DeepSeek-V3 --days 60 --tokens 14.8T --global-batch 15360 --policy cn-domestic --candidates h800-sxm,h100-sxm,ascend-910b2,ascend-910c,ascend-910c@cloudmatrix384", 0},
	{"train-v3-cn-domestic-60d-open", "train --model deepseek-ai/DeepSeek-V3 --days 60 --tokens 14.8T --global-batch 15360 --policy cn-domestic --candidates h800-sxm,h100-sxm,ascend-910b2,ascend-910c,ascend-910c@cloudmatrix384 --framework mindspeed", 0},
	{"validate-training", "validate --corpus training", 0},
	{"validate-training-cv", "validate --corpus training --cv", 0},
	{"validate-training-uncalibrated", "validate --corpus training --uncalibrated", 0},
	{"train-scenario", "train --scenario ../train/testdata/scenario.yaml", 0},
	{"train-csv", "train --model meta-llama/Llama-3.1-8B-Instruct --chip h100 --chips 64 --tokens 1T --tp 1 --pp 1 --vpp 1 --zero 1 --micro-batch 2 --recompute full --csv", 0},
	{"train-missing-tokens", "train --model meta-llama/Llama-3.1-8B-Instruct --chip h100 --chips 8", 2},
	{"train-bad-recompute", "train --model meta-llama/Llama-3.1-8B-Instruct --chip h100 --chips 8 --tokens 1T --recompute some", 2},
	{"train-bad-tokens", "train --model meta-llama/Llama-3.1-8B-Instruct --chip h100 --chips 8 --tokens lots", 2},
	{"train-bad-framework", "train --model meta-llama/Llama-3.1-8B-Instruct --chip h100 --chips 8 --tokens 1T --framework megatrom", 2},
	{"train-bad-band", "train --model meta-llama/Llama-3.1-8B-Instruct --chip h100 --chips 8 --tokens 1T --band 1.5", 2},
	{"validate-uncalibrated-serving", "validate --uncalibrated", 2},
	{"validate-training-uncalibrated-cv", "validate --corpus training --uncalibrated --cv", 2},
	{"train-no-fit", "train --model meta-llama/Llama-3.1-405B-Instruct --chip h100 --chips 8 --tokens 1T", 1},
	{"train-bad-layout", "train --model meta-llama/Llama-3.1-8B-Instruct --chip h100 --chips 8 --tokens 1T --tp 3", 1},
}

// init adds the training commands to TestGolden's cases (run them alone
// with -run 'TestGolden/train').
func init() {
	for _, tc := range trainGolden {
		goldenCases = append(goldenCases, struct {
			name string
			args string
			code int
		}{tc.name, tc.args, tc.code})
	}
}

// The README's R2 section shows these goldens verbatim; it must not drift
// from what the commands print.
func TestREADMEShowsTrainGoldens(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"train-v3-h800-published", "train-v3-cn-domestic-60d"} {
		want, err := os.ReadFile(filepath.Join("testdata", "golden", name+".stdout"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), string(want)) {
			t.Errorf("README.md does not show testdata/golden/%s.stdout as it is; paste it in", name)
		}
	}
}
