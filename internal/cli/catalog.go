package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
)

// catalogs holds the flags every catalog-reading command shares.
type catalogs struct {
	dir string
}

func (c *catalogs) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dir, "catalog", "", "directory of accelerator YAML files merged over the built-in catalog (default $ERSATZ_CATALOG)")
}

// hardware returns the built-in catalog with the user's directory merged
// over it.
func (c *catalogs) hardware(e *env) (*hardware.Catalog, error) {
	dir := c.dir
	if dir == "" {
		dir = e.getenv("ERSATZ_CATALOG")
	}
	cat := hardware.Default()
	if dir == "" {
		return cat, nil
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("catalog %q: want a directory of .yaml files", dir)
	}
	if err := cat.MergeDir(os.DirFS(dir), "."); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", dir, err)
	}
	if err := cat.Validate(); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", dir, err)
	}
	return cat, nil
}

// resolveModel returns a catalog model by id, or reads a Hugging Face
// config.json when name is a path to one (or to its directory). base, when
// set, is the directory relative paths start from.
func resolveModel(name, base string) (*model.Model, error) {
	if looksLikePath(name) {
		p := name
		if base != "" && !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			p = filepath.Join(p, "config.json")
		}
		data, err := readFile(p)
		if err != nil {
			return nil, err
		}
		m, err := model.Parse(data, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return m, nil
	}
	return model.Default().Model(name)
}

func looksLikePath(name string) bool {
	if strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "/") {
		return true
	}
	if _, err := os.Stat(filepath.Join(name, "config.json")); err == nil {
		return true
	}
	return false
}
