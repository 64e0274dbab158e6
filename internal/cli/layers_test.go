package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// layers orders the packages: each imports only packages of a lower layer.
var layers = map[string]int{
	"units": 0, "report": 1,
	"hardware": 1, "kvcache": 1,
	"model": 2, "workload": 2, "policy": 2, "corpus": 2,
	"fit": 3, "sim": 3,
	"perf": 4, "predict": 5, "serving": 5, "train": 5, "accuracy": 6, "plan": 7, "deploy": 8, "page": 8, "web": 9, "cli": 10,
	"openai": 0, "loadgen": 3, "emulator": 4, "calibrate": 6, // emulator and loadgen do network I/O, so are not core
}

// core packages do no I/O and read no clock or global randomness.
var core = map[string]bool{"units": true, "hardware": true, "model": true, "kvcache": true, "workload": true,
	"fit": true, "perf": true, "sim": true, "corpus": true, "policy": true, "predict": true, "serving": true, "plan": true, "accuracy": true, "train": true,
	"openai": true, "calibrate": true, "deploy": true, "page": true}

// forbiddenImports are the I/O packages a core package may not import.
var forbiddenImports = map[string]bool{"os": true, "os/exec": true, "os/signal": true, "net": true, "net/http": true, "log": true, "log/slog": true, "syscall": true}

// clockFuncs read the wall clock or wait on it.
var clockFuncs = map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true}

// seededRand are the math/rand functions that do not touch the global
// source: constructors of a generator the caller seeds.
var seededRand = map[string]bool{"New": true, "NewSource": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true}

// listed is what `go list -export -json` says of a package.
type listed struct {
	ImportPath string
	Dir        string
	Name       string
	GoFiles    []string
	Imports    []string
	Export     string
}

// TestLayers type-checks every internal package against the export data
// the go command built for it, and refuses (1) an import of an ersatz
// package of the same or a higher layer, (2) an I/O import in a core
// package, and (3) in a core package, any use of a time function that reads
// the clock or of a math/rand function that draws from the global source,
// however it is reached (a renamed import, a method value, a function
// passed as a value): the type checker resolves each use to its object.
func TestLayers(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, imp := exportImporter(t, fset)
	checked := 0
	for _, p := range pkgs {
		rest, ok := strings.CutPrefix(p.ImportPath, "ersatz/internal/")
		if !ok {
			continue
		}
		name := strings.Split(rest, "/")[0]
		layer, known := layers[name]
		if !known {
			t.Errorf("package %s has no layer in layers_test.go", p.ImportPath)
			continue
		}
		for _, dep := range p.Imports {
			if d, ok := strings.CutPrefix(dep, "ersatz/internal/"); ok {
				d = strings.Split(d, "/")[0]
				ld, known := layers[d]
				switch {
				case !known:
					t.Errorf("%s imports %s, which has no layer in layers_test.go", p.ImportPath, dep)
				case ld >= layer && d != name:
					t.Errorf("%s (layer %d) imports %s (layer %d); imports must point down", p.ImportPath, layer, dep, ld)
				}
			}
			if core[name] && forbiddenImports[dep] {
				t.Errorf("core package %s imports %s", p.ImportPath, dep)
			}
		}
		if !core[name] {
			continue
		}
		var files []*ast.File
		for _, f := range p.GoFiles {
			af, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, af)
		}
		info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-checking %s: %v", p.ImportPath, err)
		}
		for id, obj := range info.Uses {
			if msg := forbiddenUse(obj); msg != "" {
				t.Errorf("%s: core package %s %s", fset.Position(id.Pos()), name, msg)
			}
		}
		checked++
	}
	if checked < len(core) {
		t.Errorf("type-checked %d core packages, want at least %d", checked, len(core))
	}
}

// forbiddenUse says why a use of obj is not allowed in core code, or "".
func forbiddenUse(obj types.Object) string {
	fn, ok := obj.(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Type().(*types.Signature).Recv() != nil {
		return ""
	}
	switch path := fn.Pkg().Path(); {
	case path == "time" && clockFuncs[fn.Name()]:
		return "reads the clock: time." + fn.Name() + " (take time as an input)"
	case (path == "math/rand" || path == "math/rand/v2") && !seededRand[fn.Name()]:
		return "draws from the global random source: rand." + fn.Name() + " (take a seeded *rand.Rand)"
	}
	return ""
}

// goList lists the module's internal packages, their dependencies and the
// packages TestForbiddenUse imports, with the export data the go command
// builds for them; the list is made once per test binary.
var goList = sync.OnceValues(func() ([]listed, error) {
	cmd := exec.Command("go", "list", "-export", "-deps", "-json=ImportPath,Dir,Name,GoFiles,Imports,Export",
		"ersatz/internal/...", "time", "math/rand", "math/rand/v2")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
})

// exportImporter imports packages from the go command's export data.
func exportImporter(t *testing.T, fset *token.FileSet) ([]listed, types.Importer) {
	t.Helper()
	pkgs, err := goList()
	if err != nil {
		t.Fatal(err)
	}
	exports := map[string]string{}
	for _, p := range pkgs {
		exports[p.ImportPath] = p.Export
	}
	return pkgs, importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s: %w", path, os.ErrNotExist)
		}
		return os.Open(f)
	})
}

// TestForbiddenUse checks the checker on code written to break each rule,
// so that a rule that never fires fails here instead of passing silently.
func TestForbiddenUse(t *testing.T) {
	src := `package p
import (
	clock "time"
	"math/rand/v2"
	old "math/rand"
)
var f = clock.Since
func g(r *rand.Rand) float64 {
	_ = clock.Duration(3).Seconds()
	_ = rand.New(rand.NewPCG(1, 2))
	return r.Float64() + rand.Float64() + float64(rand.IntN(3)) + old.Float64()
}
func h() { clock.Sleep(1) }
`
	fset := token.NewFileSet()
	_, imp := exportImporter(t, fset)
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: imp}
	if _, err := conf.Check("p", fset, []*ast.File{f}, info); err != nil {
		t.Fatal(err)
	}
	var got []string
	for id, obj := range info.Uses {
		if forbiddenUse(obj) != "" {
			got = append(got, id.Name)
		}
	}
	// time.Since (as a value), rand.Float64, rand.IntN, math/rand's
	// Float64 and time.Sleep; not the method r.Float64, not Duration, not
	// rand.New or rand.NewPCG.
	if len(got) != 5 {
		t.Errorf("flagged %v, want Since, Float64, IntN, Float64 (math/rand) and Sleep", got)
	}
}
