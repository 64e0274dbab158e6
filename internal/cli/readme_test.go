package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEExamples holds every `$ ersatz ...` example in the README to
// the golden output of the same command line, so that an example cannot go
// stale: the command must be a golden case (goldenCases or flagCases, the same flags in
// the same order; a path under internal/cli/ is written from the
// repository's root in the README) and the lines shown must be its
// output. A line "..." in the README stands for any run of lines the
// example leaves out.
func TestREADMEExamples(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	byArgs := map[string]string{}
	for _, tc := range goldenCases {
		byArgs[strings.Join(strings.Fields(tc.args), " ")] = tc.name
	}
	for _, tc := range flagCases {
		byArgs[strings.Join(strings.Fields(tc.args), " ")] = tc.name
	}
	blocks := consoleBlocks(string(data))
	if len(blocks) == 0 {
		t.Fatal("no console examples found in README.md")
	}
	for _, b := range blocks {
		name, ok := byArgs[strings.ReplaceAll(b.args, "internal/cli/", "")]
		if !ok {
			t.Errorf("README line %d: `ersatz %s` is not a golden case; add it to goldenCases", b.line, b.args)
			continue
		}
		// A terminal shows both streams; a usage error prints on stderr only.
		var want []byte
		for _, stream := range []string{".stdout", ".stderr"} {
			out, err := os.ReadFile(filepath.Join("testdata", "golden", name+stream))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, out...)
		}
		if err := matchElided(b.output, strings.Split(strings.TrimRight(string(want), "\n"), "\n")); err != nil {
			t.Errorf("README line %d (`ersatz %s`) differs from testdata/golden/%s.std{out,err}: %v", b.line, b.args, name, err)
		}
	}
}

type consoleBlock struct {
	line   int
	args   string
	output []string
}

var fenceRE = regexp.MustCompile("(?m)^```console\n")

// consoleBlocks finds the README's console examples that run ersatz: the
// command (with its continuation lines joined) and the lines it prints.
func consoleBlocks(readme string) []consoleBlock {
	var out []consoleBlock
	for _, loc := range fenceRE.FindAllStringIndex(readme, -1) {
		rest := readme[loc[1]:]
		end := strings.Index(rest, "```")
		if end < 0 {
			break
		}
		lines := strings.Split(strings.TrimRight(rest[:end], "\n"), "\n")
		if len(lines) == 0 || !strings.HasPrefix(lines[0], "$ ersatz ") {
			continue
		}
		cmd := strings.TrimPrefix(lines[0], "$ ersatz ")
		i := 1
		for strings.HasSuffix(cmd, `\`) && i < len(lines) {
			cmd = strings.TrimSuffix(cmd, `\`) + " " + lines[i]
			i++
		}
		out = append(out, consoleBlock{
			line:   strings.Count(readme[:loc[1]], "\n") + 1,
			args:   strings.Join(strings.Fields(cmd), " "),
			output: lines[i:],
		})
	}
	return out
}

// matchElided reports whether shown is want with runs of lines replaced by
// "..." lines.
func matchElided(shown, want []string) error {
	j := 0
	for i := 0; i < len(shown); i++ {
		if strings.TrimSpace(shown[i]) == "..." {
			// Skip golden lines up to the next shown line.
			if i+1 == len(shown) {
				return nil
			}
			next := shown[i+1]
			for j < len(want) && want[j] != next {
				j++
			}
			continue
		}
		if j >= len(want) {
			return fmt.Errorf("README shows %q after the end of the output", shown[i])
		}
		if shown[i] != want[j] {
			return fmt.Errorf("line %d: README %q, golden %q", i+1, shown[i], want[j])
		}
		j++
	}
	if j != len(want) {
		return fmt.Errorf("README stops after %d of %d lines without \"...\"", j, len(want))
	}
	return nil
}
