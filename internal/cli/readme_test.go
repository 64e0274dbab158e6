package cli

import (
	"os"
	"strings"
	"testing"
)

// The README's main job shows a golden-tested command's output verbatim,
// so it cannot go stale: when the golden file changes, so must the README.
func TestREADMEMainJob(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range goldenCases {
		if tc.name != "plan-baseline-r1-h20" {
			continue
		}
		want, err := os.ReadFile("testdata/golden/" + tc.name + ".stdout")
		if err != nil {
			t.Fatal(err)
		}
		block := "```console\n$ ersatz " + tc.args + "\n" + string(want) + "```\n"
		if !strings.Contains(string(readme), block) {
			t.Errorf("README.md does not show `ersatz %s` with the output of testdata/golden/%s.stdout; copy it in", tc.args, tc.name)
		}
		return
	}
	t.Fatal("no golden case plan-baseline-r1-h20")
}
