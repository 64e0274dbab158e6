package sim_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"ersatz/internal/sim/simtest"
)

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.sim")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			simtest.Run(t, f, bytes.NewReader(b))
		})
	}
}
