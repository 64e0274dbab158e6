package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"ersatz/internal/deploy"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
	"ersatz/internal/plan"
)

// emitFlags are plan's --emit k8s DIR | --emit launch [DIR], --plan N,
// --force and --namespace.
type emitFlags struct {
	kind, dir string
	row       int
	force     bool
	namespace string
	warn      io.Writer // where a note on the chosen row goes
}

func (em *emitFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&em.kind, "emit", "", "write what deploys the plan: k8s DIR (Kubernetes manifests) or launch [DIR] (engine launch lines; stdout without DIR)")
	fs.IntVar(&em.row, "plan", 0, "with --emit: the Nth row of the plan table (1-based) instead of the recommended plan")
	fs.BoolVar(&em.force, "force", false, "with --emit: overwrite files that already exist")
	fs.StringVar(&em.namespace, "namespace", "", "with --emit k8s: the namespace of the manifests")
}

// takeDir removes the DIR that follows --emit KIND from the arguments, so
// the flag package, which takes one value a flag, sees the rest.
func (em *emitFlags) takeDir(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		out = append(out, a)
		if a == "--" {
			return append(out, args[i+1:]...)
		}
		name, _, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "emit" {
			continue
		}
		if !hasVal { // the kind is the next argument
			if i+1 >= len(args) {
				break
			}
			i++
			out = append(out, args[i])
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			em.dir = args[i]
		}
	}
	return out
}

// check validates the flags once parsed, the engine the plan models among
// them (before the plan runs).
func (em *emitFlags) check(engine string) error {
	if em.kind != "" {
		if err := (deploy.Options{Engine: perf.Engine(engine), Namespace: em.namespace}).Validate(); err != nil {
			return usagef("--emit (--engine %s, --namespace %q): %v", engine, em.namespace, err)
		}
	}
	switch em.kind {
	case "":
		if em.row != 0 || em.force || em.namespace != "" || em.dir != "" {
			return usagef("--plan, --force and --namespace go with --emit k8s DIR or --emit launch")
		}
	case "k8s":
		if em.dir == "" {
			return usagef("--emit k8s: give the directory to write, e.g. --emit k8s deploy/")
		}
	case "launch":
	default:
		return usagef("--emit %q: want k8s DIR or launch [DIR]", em.kind)
	}
	if em.row < 0 {
		return usagef("--plan %d: want a row of the plan table, 1 or more", em.row)
	}
	return nil
}

// pick returns the plan to emit and its row in the plan table (0 when it
// is a cross-chip plan, which the per-chip table does not list).
func (em *emitFlags) pick(res *plan.Result) (*plan.Plan, int, error) {
	var rows []*plan.ChipResult
	for _, c := range res.Chips {
		if c.Best != nil {
			rows = append(rows, c)
		}
	}
	if em.row > 0 {
		if em.row > len(rows) {
			return nil, 0, usagef("--plan %d: the plan table has %d rows", em.row, len(rows))
		}
		c := rows[em.row-1]
		if w := decisionWord(c.Decision); w != "allow" {
			fmt.Fprintf(em.warn, "ersatz: note: row %d (%s) is %s under the policy: %s\n", em.row, c.Chip, w, c.Decision)
		}
		return c.Best, em.row, nil
	}
	if res.Recommended == nil {
		return nil, 0, fmt.Errorf("--emit: no plan to emit: %s", whyText(res))
	}
	for i, c := range rows {
		if c.Best == res.Recommended {
			return c.Best, i + 1, nil
		}
	}
	return res.Recommended, 0, nil
}

// emit renders the chosen plan and writes it; launch lines without a
// directory go to stdout in place of the plan's text.
func (em *emitFlags) emit(e *env, res *plan.Result, cat *hardware.Catalog, m *model.Model, eng perf.Engine, params *perf.Params) error {
	em.warn = e.stderr
	p, row, err := em.pick(res)
	if err != nil {
		return err
	}
	o := deploy.Options{Model: m.ID, Engine: eng, Row: row, Namespace: em.namespace, Params: params,
		MaxModelLen:   deploy.MaxModelLen(res.Traffic.InputTokens, res.Traffic.OutputTokens),
		ModelCacheGiB: cacheGiB(m)}
	var files []deploy.File
	if em.kind == "k8s" {
		files, err = deploy.Kubernetes(p, cat, o)
	} else {
		files, err = deploy.Launch(p, cat, o)
	}
	if err != nil {
		return fmt.Errorf("--emit %s: %w", em.kind, err)
	}
	if em.kind == "launch" && em.dir == "" {
		_, err := e.stdout.Write(files[0].Data)
		return err
	}
	if err := writeFiles(em.dir, files, em.force); err != nil {
		return fmt.Errorf("--emit %s: %w", em.kind, err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	fmt.Fprintf(e.stderr, "ersatz: wrote %s to %s: %s\n", plural(len(files), "file"), em.dir, strings.Join(names, ", "))
	return nil
}

// cacheGiB sizes the model-cache claim: the checkpoint at 16 bits (an
// upper bound on what is downloaded), with 10% to spare.
func cacheGiB(m *model.Model) int {
	return max(1, int(math.Ceil(m.WeightBytes(hardware.BF16)*1.1/(1<<30))))
}

// writeFiles writes files into dir, creating it; unless force, it first
// checks that none exists, so that nothing already there is lost.
func writeFiles(dir string, files []deploy.File, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, errors.Unwrap(err))
	}
	if !force {
		for _, f := range files {
			path := filepath.Join(dir, f.Name)
			if _, err := os.Lstat(path); err == nil {
				return fmt.Errorf("%s exists; remove it or give --force", path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("checking %s: %w", path, err)
			}
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	for _, f := range files {
		path := filepath.Join(dir, f.Name)
		mode := os.FileMode(0o644)
		if strings.HasSuffix(f.Name, ".sh") {
			mode = 0o755
		}
		fh, err := os.OpenFile(path, flags, mode)
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, errors.Unwrap(err))
		}
		_, werr := fh.Write(f.Data)
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("writing %s: %w", path, werr)
		}
	}
	return nil
}
