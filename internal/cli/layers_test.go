package cli

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// core packages do no I/O and read no clock or global randomness; they
// import only packages of a lower layer.
var layers = map[string]int{
	"units": 0, "report": 1,
	"hardware": 1, "kvcache": 1,
	"model": 2, "workload": 2, "policy": 2, "corpus": 2,
	"fit": 3, "sim": 3,
	"perf": 4, "predict": 5, "serving": 5, "plan": 6, "page": 7, "web": 8, "cli": 9,
}

var core = map[string]bool{"units": true, "hardware": true, "model": true, "kvcache": true, "workload": true,
	"fit": true, "perf": true, "sim": true, "corpus": true, "policy": true, "predict": true, "serving": true, "plan": true}

var forbidden = []string{`"os"`, `"net"`, `"net/http"`, `"log"`, `"os/exec"`}
var forbiddenCalls = []string{"time.Now(", "time.Sleep(", "rand.Intn(", "rand.Float64(", "rand.Int(", "rand.Seed("}

func TestLayers(t *testing.T) {
	dirs, err := filepath.Glob("../*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		pkg := filepath.Base(dir)
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if core[pkg] {
					for _, bad := range forbidden {
						if imp.Path.Value == bad {
							t.Errorf("%s: core package %s imports %s", f, pkg, path)
						}
					}
				}
				if dep, ok := strings.CutPrefix(path, "ersatz/internal/"); ok {
					dep = strings.Split(dep, "/")[0]
					ld, known := layers[dep]
					lp, knownP := layers[pkg]
					if !known || !knownP {
						t.Errorf("%s: package %s or %s has no layer in layers_test.go", f, pkg, dep)
					} else if ld >= lp && dep != pkg {
						t.Errorf("%s: %s (layer %d) imports %s (layer %d); imports must point down", f, pkg, lp, dep, ld)
					}
				}
			}
			if core[pkg] {
				for _, call := range forbiddenCalls {
					if strings.Contains(string(src), call) {
						t.Errorf("%s: core package %s calls %s", f, pkg, call)
					}
				}
			}
		}
	}
}
