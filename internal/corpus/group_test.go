package corpus

import "testing"

func TestGroupKey(t *testing.T) {
	for _, c := range []struct {
		c    Case
		want string
	}{
		{Case{ID: "a", Source: "MLPerf Inference v4.1 closed, NVIDIA DGX-H100"}, "MLPerf Inference v4.1 closed"},
		{Case{ID: "b", Source: "NVIDIA/TensorRT-LLM:docs/source/performance/perf-overview.md, H100"}, "NVIDIA/TensorRT-LLM"},
		{Case{ID: "c", Source: "  a blog post  "}, "a blog post"},
		{Case{ID: "d", Source: "x, y", Group: " harness-1 "}, "harness-1"},
		{Case{ID: "e"}, "id e"},
	} {
		if got := c.c.GroupKey(); got != c.want {
			t.Errorf("%s: group %q, want %q", c.c.ID, got, c.want)
		}
	}
}

// TestGroupParses: the optional group field loads without a warning.
func TestGroupParses(t *testing.T) {
	doc := []byte(`cases:
  - id: g
    group: lab-a
    claim: user
    model: m
    chip: h100-sxm
    precision: {weights: bf16}
    instances: [{role: mixed}]
    workload: {input_tokens: 1, output_tokens: 1, load: {offline: true}}
    metric: output_tokens_per_s_per_chip
    measured: 1
`)
	f, warns, err := Parse(doc, CorpusMode)
	if err != nil || len(warns) > 0 {
		t.Fatalf("err %v, warnings %v", err, warns)
	}
	if f.Cases[0].GroupKey() != "lab-a" {
		t.Errorf("group %q", f.Cases[0].GroupKey())
	}
}
