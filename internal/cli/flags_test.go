package cli

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"ersatz/internal/hardware"
	"ersatz/internal/plan"
)

// flagCases are the command-line error paths: one line naming the flag,
// the value and the range, and where to look; exit 2. Plus the vLLM
// spellings and plan's table views. Golden files as in TestGolden.
var flagCases = []struct {
	name string
	args string
	code int
}{
	{"flag-unknown", "plan --nope", 2},
	{"flag-did-you-mean", "fit --modle meta-llama/Llama-3.1-70B-Instruct", 2},
	{"flag-no-value", "simulate --model", 2},
	{"flag-not-a-number", "simulate --model Qwen/Qwen3-14B --chip h100 --chips 1 --rate fast", 2},
	{"flag-rate-negative", "simulate --model Qwen/Qwen3-14B --chip h100 --chips 1 --rate -5", 2},
	{"flag-predict-rate-negative", "predict --model Qwen/Qwen3-14B --chip h100 --chips 1 --rate -5", 2},
	{"flag-memory-utilization", "fit --model Qwen/Qwen3-14B --chip h100 --chips 1 --gpu-memory-utilization 1.5", 2},
	{"flag-plan-top-negative", "plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --top -1", 2},
	// --chips is a count everywhere; plan names its candidates with --chip.
	{"flag-plan-chips-list", "plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --chips l20,h20", 2},
	{"flag-fit-chips-list", "fit --model Qwen/Qwen3-14B --chip h100 --chips h100,h20", 2},
	{"flag-fit-chip-list", "fit --model Qwen/Qwen3-14B --chip h100,h20 --chips 1", 2},
	{"flag-alias-twice", "fit --model Qwen/Qwen3-14B --chip h100 --tp 2 --tensor-parallel-size 2", 2},
	{"flag-plan-unknown-chip", "plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --chip l20,h1000", 1},
	{"flag-vllm-and-ersatz-dp", "fit --model Qwen/Qwen3-30B-A3B --chip h100 --tensor-parallel-size 2 --data-parallel-size 4 --dp 2", 2},
	{"flag-context-zero", "fit --model Qwen/Qwen3-14B --chip h100 --chips 1 --max-model-len 0", 2},
	{"help-unknown-command", "help frobnicate", 2},
	{"flag-vllm-dp-dense", "fit --model Qwen/Qwen3-14B --chip h100 --tensor-parallel-size 1 --data-parallel-size 2", 2},
	// vLLM's spellings: tp 1 × dp 8 with expert parallelism is ersatz's tp8 ep8 dp8.
	{"fit-vllm-spellings", "fit --model Qwen/Qwen3-30B-A3B --chip h100 --tensor-parallel-size 1 --data-parallel-size 8 --enable-expert-parallel --gpu-memory-utilization 0.85 --kv-cache-dtype fp8_e4m3 --max-model-len 32768", 0},
	{"help-plan", "help plan", 0},
	// Input the model cannot take: both numbers, one line.
	{"context-fit", "fit --model meta-llama/Llama-3.1-70B-Instruct --chip h100 --chips 8 --context 200000", 2},
	{"context-predict", "predict --model meta-llama/Llama-3.1-70B-Instruct --chip h100 --chips 8 --input-tokens 130000 --output-tokens 2000", 2},
	{"context-simulate", "simulate --model Qwen/Qwen3-14B --chip h100 --chips 1 --rate 1 --input-tokens 40000 --output-tokens 1000", 2},
	{"context-plan", "plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 40000 --output-tokens 1000 --tpot-p90 50ms", 2},
	// Quantized checkpoints at their own precision: gpt-oss's MXFP4
	// experts weight-only on one H100; Qwen's FP8 release at fp8.
	{"fit-gpt-oss-h100", "fit --model openai/gpt-oss-120b --chip h100-sxm --chips 1", 0},
	{"fit-qwen3-235b-fp8", "fit --model Qwen/Qwen3-235B-A22B-FP8 --chip h100-sxm --chips 4", 0},
	// CloudMatrix384's EP320: more EP ranks than DeepSeek's 256 experts.
	{"predict-ep320-910c", "predict --model deepseek-ai/DeepSeek-R1 --chip ascend-910c --chips 160 --ep 320 --dp 320 --weights int8 --kv-cache int8 --input-tokens 2000 --output-tokens 1000 --batch-per-chip 4", 0},
	// simulate warns, as predict does, when arrivals exceed the capacity.
	{"simulate-overload", "simulate --model Qwen/Qwen3-14B --chip h100 --chips 1 --rate 100 --requests 200", 0},
	{"flag-node-wrong-chip", "predict --model deepseek-ai/DeepSeek-R1 --chip ascend-910c --chips 8 --node gb200-nvl72", 2},
	{"plan-wide", "plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --chip l20,h20,ascend-910b2 --verify 0 --wide", 0},
	{"plan-top", "plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --chip l20,h20,ascend-910b2 --verify 0 --top 1", 0},
}

func TestFlagGolden(t *testing.T) {
	for _, tc := range flagCases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(tc.args)
			if code != tc.code {
				t.Errorf("ersatz %s: exit %d, want %d\nstderr: %s", tc.args, code, tc.code, stderr)
			}
			if tc.code == 2 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("ersatz %s: want one line on stderr, got:\n%s", tc.args, stderr)
			}
			check(t, tc.name+".stdout", []byte(stdout))
			check(t, tc.name+".stderr", []byte(stderr))
		})
	}
}

func runMain(args string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Main(strings.Fields(args), strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	return code, stdout.String(), stderr.String()
}

// TestHelpCommand: `ersatz help plan` is `ersatz plan -h`, on stdout, exit 0.
func TestHelpCommand(t *testing.T) {
	for _, cmd := range []string{"plan", "fit", "simulate"} {
		c1, out1, _ := runMain("help " + cmd)
		c2, out2, _ := runMain(cmd + " -h")
		if c1 != 0 || c2 != 0 || out1 != out2 || !strings.HasPrefix(out1, "Usage: ersatz "+cmd) {
			t.Errorf("help %s: exit %d and %d, outputs equal %v:\n%s", cmd, c1, c2, out1 == out2, out1)
		}
	}
}

// TestPlanTableWidth: the default plan table fits 120 columns.
func TestPlanTableWidth(t *testing.T) {
	_, out, _ := runMain("plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --chip l20,h20,ascend-910b2,ascend-310p,mlu370-x8 --verify 0")
	tables, _, ok := strings.Cut(out, "\nRecommended")
	if !ok {
		t.Fatalf("no recommendation:\n%s", out)
	}
	for _, l := range strings.Split(tables, "\n") {
		if n := len([]rune(l)); n > 120 {
			t.Errorf("line of %d columns:\n%s", n, l)
		}
	}
}

// placement names servers, racks and supernodes as what they are.
func TestPlacement(t *testing.T) {
	cat := hardware.Default()
	for _, c := range []struct {
		p    plan.Plan
		want string
	}{
		{plan.Plan{Node: "atlas-800-a2", ChipsTotal: 80, Nodes: 10}, "10 atlas-800-a2 servers"},
		{plan.Plan{Node: "cloudmatrix384", ChipsTotal: 160, Nodes: 20}, "1 cloudmatrix384 supernode (20 of its 48 servers)"},
		{plan.Plan{Node: "gb200-nvl72", ChipsTotal: 144, Nodes: 36}, "2 gb200-nvl72 racks (36 servers)"},
	} {
		if got := placement(cat, &c.p); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}

// The numbers of one column read one way: no exponent, no separator.
func TestSig(t *testing.T) {
	for _, c := range []struct {
		v    float64
		n    int
		want string
	}{
		{0.176, 3, "0.176"},
		{39.4, 3, "39.4"},
		{140, 2, "140"},   // %g would write 1.4e+02
		{1229, 2, "1200"}, // report.Num would write 1,229
		{25, 3, "25.0"},
		{0.0421, 2, "0.042"},
		{0, 3, "0"},
	} {
		if got := sig(c.v, c.n); got != c.want {
			t.Errorf("sig(%g, %d) = %q, want %q", c.v, c.n, got, c.want)
		}
	}
}

// FuzzFlags: whatever the command line, parsing ends in no error, help, or
// a one-line usage error.
func FuzzFlags(f *testing.F) {
	for _, c := range flagCases {
		f.Add(c.args)
	}
	f.Add("fit --tp=x --chips -1 --gpu-memory-utilization=2 --kv-cache-dtype auto")
	f.Fuzz(func(t *testing.T, line string) {
		var stdout, stderr bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		fs := newFlags(e, "fit", "")
		var d deployFlags
		d.catalogs.register(fs)
		d.register(fs)
		err := parse(fs, strings.Fields(line))
		var u *usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
		case !errors.As(err, &u):
			t.Fatalf("%q: %T %v, want a usage error", line, err, err)
		case strings.Contains(err.Error(), "\n"):
			t.Fatalf("%q: a usage error of several lines: %q", line, err)
		}
	})
}
