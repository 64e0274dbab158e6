package model

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"

	"ersatz/internal/hardware"
)

//go:embed configs
var embedded embed.FS

//go:embed aliases.yaml
var aliasesYAML []byte

// Catalog is a set of models keyed by id ("org/name").
type Catalog struct {
	models  map[string]*Model // by lower-cased id
	ids     []string          // sorted, as given
	aliases map[string]Alias  // by lower-cased alias
}

// Alias is another id for a model whose architecture a shipped config
// already describes, with the reason.
type Alias struct {
	Alias  string `json:"alias"`
	Model  string `json:"model"`
	Source string `json:"source"`
	// Weights is the stored precision of a quantized release (its own
	// quantization_config); Context its longest sequence where it differs
	// from the shared config's. The source gives both.
	Weights     hardware.Precision `json:"weights,omitempty"`
	ExpertsOnly bool               `json:"experts_only,omitempty"`
	Context     int                `json:"context,omitempty"`
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Default returns the shipped models (configs/<org>/<name>/config.json,
// embedded). It panics only if a shipped config is invalid, which the
// package tests rule out.
func Default() *Catalog {
	defaultOnce.Do(func() {
		cat, err := Load(embedded, "configs")
		if err != nil {
			panic("model: embedded configs: " + err.Error())
		}
		if err := cat.AddAliases(aliasesYAML); err != nil {
			panic("model: embedded aliases.yaml: " + err.Error())
		}
		defaultCat = cat
	})
	return defaultCat
}

// Load reads every config.json under root of fsys; a model's id is its
// directory relative to root (configs/deepseek-ai/DeepSeek-V3/config.json
// is "deepseek-ai/DeepSeek-V3"). An error names the file at fault.
func Load(fsys fs.FS, root string) (*Catalog, error) {
	cat := &Catalog{models: map[string]*Model{}}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "config.json" {
			return nil
		}
		dir := path.Dir(p)
		id := strings.TrimPrefix(strings.TrimPrefix(dir, root), "/")
		if root == "." {
			id = dir
		}
		if id == "" || id == "." {
			return fmt.Errorf("%s: a config.json needs a directory naming the model", p)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		m, err := Parse(data, id)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return cat.Add(m)
	})
	if err != nil {
		return nil, err
	}
	return cat, nil
}

// Add puts m in the catalog; an id already present (case-insensitively)
// is an error.
func (c *Catalog) Add(m *Model) error {
	key := strings.ToLower(m.ID)
	if _, dup := c.models[key]; dup {
		return fmt.Errorf("model %q: listed twice", m.ID)
	}
	if c.models == nil {
		c.models = map[string]*Model{}
	}
	c.models[key] = m
	c.ids = append(c.ids, m.ID)
	sort.Strings(c.ids)
	return nil
}

// AddAliases reads a YAML list of aliases ({aliases: [{alias, model,
// source}]}); each must name a model in the catalog and not clash with a
// model id or another alias.
func (c *Catalog) AddAliases(data []byte) error {
	var f struct {
		Aliases []Alias `json:"aliases"`
	}
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return err
	}
	if c.aliases == nil {
		c.aliases = map[string]Alias{}
	}
	for i, a := range f.Aliases {
		key := strings.ToLower(a.Alias)
		switch {
		case a.Alias == "" || a.Source == "":
			return fmt.Errorf("aliases[%d]: want alias, model and source", i)
		case c.models[strings.ToLower(a.Model)] == nil:
			return fmt.Errorf("aliases[%d] (%s): model %q is not in the catalog", i, a.Alias, a.Model)
		case c.models[key] != nil:
			return fmt.Errorf("aliases[%d]: %q is a model id already", i, a.Alias)
		}
		if _, dup := c.aliases[key]; dup {
			return fmt.Errorf("aliases[%d]: %q listed twice", i, a.Alias)
		}
		a.Model = c.models[strings.ToLower(a.Model)].ID
		c.aliases[key] = a
	}
	return nil
}

// Aliases lists the aliases, sorted by alias.
func (c *Catalog) Aliases() []Alias {
	out := make([]Alias, 0, len(c.aliases))
	for _, a := range c.aliases {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Alias < out[j].Alias })
	return out
}

// IDs lists the model ids, sorted.
func (c *Catalog) IDs() []string { return append([]string(nil), c.ids...) }

// Model looks a model up by id, case-insensitively; the bare name without
// the org ("llama-3.1-70b-instruct") works when only one org has it. The
// result is a copy the caller may change. An unknown or ambiguous name is
// a *NotFoundError.
func (c *Catalog) Model(name string) (*Model, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if m, ok := c.models[n]; ok {
		cp := *m
		return &cp, nil
	}
	if a, ok := c.aliases[n]; ok {
		cp := *c.models[strings.ToLower(a.Model)]
		if a.Weights != "" {
			cp.Checkpoint = Checkpoint{Method: "release", Weights: a.Weights, ExpertsOnly: a.ExpertsOnly}
		}
		if a.Context > 0 {
			cp.MaxContext = a.Context
		}
		return &cp, nil
	}
	if !strings.Contains(n, "/") {
		var hits []string
		for _, id := range c.ids {
			if strings.ToLower(bare(id)) == n {
				hits = append(hits, id)
			}
		}
		for _, a := range c.aliases {
			if strings.ToLower(bare(a.Alias)) == n {
				hits = append(hits, a.Alias)
			}
		}
		if len(hits) == 1 {
			return c.Model(hits[0])
		}
		if len(hits) > 1 {
			return nil, &NotFoundError{Name: name, Ambiguous: true, Near: hits}
		}
	}
	return nil, &NotFoundError{Name: name, Near: c.nearest(name)}
}

// nearest finds up to three ids near name, comparing bare names when name
// has no org.
func (c *Catalog) nearest(name string) []string {
	names := append([]string(nil), c.ids...)
	for _, a := range c.aliases {
		names = append(names, a.Alias)
	}
	sort.Strings(names)
	if strings.Contains(name, "/") {
		return hardware.Nearest(name, names)
	}
	byBare := map[string][]string{}
	var bares []string
	for _, id := range names {
		b := bare(id)
		if _, ok := byBare[b]; !ok {
			bares = append(bares, b)
		}
		byBare[b] = append(byBare[b], id)
	}
	var out []string
	for _, b := range hardware.Nearest(name, bares) {
		out = append(out, byBare[b]...)
	}
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

func bare(id string) string { return id[strings.LastIndex(id, "/")+1:] }

// NotFoundError reports a model name the catalog does not know, or a bare
// name that more than one org has, with the nearest or matching ids.
type NotFoundError struct {
	Name      string
	Ambiguous bool
	Near      []string
}

func (e *NotFoundError) Error() string {
	if e.Ambiguous {
		return fmt.Sprintf("model %q is ambiguous; did you mean %s?", e.Name, strings.Join(e.Near, ", "))
	}
	msg := fmt.Sprintf("unknown model %q", e.Name)
	if len(e.Near) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(e.Near, ", "))
	}
	return msg
}
