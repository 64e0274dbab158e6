package hardware

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

//go:embed catalog/*.yaml
var embedded embed.FS

// embeddedCatalog is the embedded catalog, parsed once: parsing takes tens
// of milliseconds, and every command and many tests want it.
var embeddedCatalog = sync.OnceValues(func() (*Catalog, error) { return Load(embedded, "catalog") })

// Default returns the embedded catalog. It panics only if the embedded
// files are invalid, which the package tests rule out.
//
// Each call returns a catalog of its own, so that merging a user's files
// into it leaves the next caller's untouched; the chips and nodes it points
// to are shared and must not be modified (copy a Chip before changing it).
func Default() *Catalog {
	cat, err := embeddedCatalog()
	if err != nil {
		panic("hardware: embedded catalog: " + err.Error())
	}
	return &Catalog{Sources: maps.Clone(cat.Sources), Chips: slices.Clone(cat.Chips), Nodes: slices.Clone(cat.Nodes)}
}

// Load reads every *.yaml and *.yml file in dir of fsys, merges them in
// name order and validates the result.
func Load(fsys fs.FS, dir string) (*Catalog, error) {
	cat := &Catalog{Sources: map[string]Source{}}
	if err := cat.MergeDir(fsys, dir); err != nil {
		return nil, err
	}
	if err := cat.Validate(); err != nil {
		return nil, err
	}
	return cat, nil
}

// MergeDir reads catalog files from dir of fsys into cat. A chip or node
// with an id already present replaces it, so a user's file can correct
// the default catalog. The caller validates afterwards.
func (cat *Catalog) MergeDir(fsys fs.FS, dir string) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return fmt.Errorf("reading catalog directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return fmt.Errorf("reading catalog file: %w", err)
		}
		if err := cat.Merge(data); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	return nil
}

// Merge parses one catalog file and merges it into cat.
func (cat *Catalog) Merge(data []byte) error {
	var part Catalog
	if err := yaml.UnmarshalStrict(data, &part); err != nil {
		return fmt.Errorf("parsing catalog: %w", err)
	}
	if cat.Sources == nil {
		cat.Sources = map[string]Source{}
	}
	for k, s := range part.Sources {
		cat.Sources[k] = s
	}
	var err error
	if cat.Chips, err = upsert("chips", cat.Chips, part.Chips, func(c *Chip) string { return c.ID }); err != nil {
		return err
	}
	cat.Nodes, err = upsert("nodes", cat.Nodes, part.Nodes, func(n *Node) string { return n.ID })
	return err
}

// upsert merges entries into list: an entry whose id (case-insensitive)
// is already there replaces it, a new one is appended.
func upsert[T any](field string, list, entries []*T, id func(*T) string) ([]*T, error) {
	for _, e := range entries {
		if e == nil {
			return list, fmt.Errorf("%s: empty entry", field)
		}
		replaced := false
		for i, old := range list {
			if strings.EqualFold(id(old), id(e)) {
				list[i] = e
				replaced = true
			}
		}
		if !replaced {
			list = append(list, e)
		}
	}
	return list, nil

}

// FieldError is a validation failure at a field path.
type FieldError struct {
	Field string // e.g. "chips[h100-sxm].memory_gb.source"
	Value any
	Msg   string // what was expected
}

func (e *FieldError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s (got %v)", e.Field, e.Msg, e.Value)
}

var vendors = map[string]bool{"nvidia": true, "huawei": true, "cambricon": true, "kunlunxin": true, "hygon": true, "amd": true}

// AvailabilityStatuses lists the statuses an Availability entry may take.
var AvailabilityStatuses = []string{"available", "licence-required", "banned", "discouraged", "case-by-case", "risk"}

var availabilityStatuses = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range AvailabilityStatuses {
		m[s] = true
	}
	return m
}()

var topologies = map[string]bool{"switch": true, "mesh": true, "ring": true, "pcie": true}

// Validate checks that every chip and node is complete and that every
// number cites a known source with a known confidence tier.
func (cat *Catalog) Validate() error {
	ids := map[string]bool{}
	for i, c := range cat.Chips {
		f := fmt.Sprintf("chips[%d]", i)
		if c.ID == "" {
			return &FieldError{Field: f + ".id", Msg: "required"}
		}
		f = fmt.Sprintf("chips[%s]", c.ID)
		for _, n := range append([]string{c.ID}, c.Aliases...) {
			ln := strings.ToLower(n)
			if ids[ln] {
				return &FieldError{Field: f, Value: n, Msg: "id or alias used twice"}
			}
			ids[ln] = true
		}
		if !vendors[c.Vendor] {
			return &FieldError{Field: f + ".vendor", Value: c.Vendor, Msg: "want nvidia, huawei, cambricon, kunlunxin, hygon or amd"}
		}
		if c.Family == "" {
			return &FieldError{Field: f + ".family", Msg: "required"}
		}
		if c.Status != "shipping" && c.Status != "roadmap" {
			return &FieldError{Field: f + ".status", Value: c.Status, Msg: "want shipping or roadmap"}
		}
		if c.Devices < 0 || c.Devices > c.Dies {
			return &FieldError{Field: f + ".devices", Value: c.Devices, Msg: fmt.Sprintf("want 0 (one device) up to the %d dies", c.Dies)}
		}
		if c.Dies < 1 {
			return &FieldError{Field: f + ".dies", Value: c.Dies, Msg: "want at least 1"}
		}
		for _, req := range []struct {
			name string
			v    *Value
		}{{"memory_gb", c.MemoryGB}, {"memory_tbps", c.MemoryTBps}} {
			if !req.v.Known() {
				return &FieldError{Field: f + "." + req.name, Msg: "required, a positive number"}
			}
		}
		if len(c.DenseTFLOPS) == 0 {
			return &FieldError{Field: f + ".dense_tflops", Msg: "want at least one precision"}
		}
		for p := range c.DenseTFLOPS {
			if _, err := ParsePrecision(string(p)); err != nil {
				return &FieldError{Field: f + ".dense_tflops", Value: p, Msg: "want bf16, fp16, fp8, int8, int4 or fp4"}
			}
		}
		for name, v := range c.Values() {
			if err := cat.checkValue(f+"."+name, v); err != nil {
				return err
			}
		}
		for j, a := range c.Availability {
			af := fmt.Sprintf("%s.availability[%d]", f, j)
			if _, ok := cat.Sources[a.Source]; !ok {
				return &FieldError{Field: af + ".source", Value: a.Source, Msg: "want a key of sources"}
			}
			if a.Date == "" {
				return &FieldError{Field: af + ".date", Msg: "required"}
			}
			if a.Jurisdiction == "" {
				return &FieldError{Field: af + ".jurisdiction", Msg: "required"}
			}
			if !availabilityStatuses[a.Status] {
				return &FieldError{Field: af + ".status", Value: a.Status, Msg: "want available, licence-required, banned, discouraged, case-by-case or risk"}
			}
		}
	}
	nodeIDs := map[string]bool{}
	for i, nd := range cat.Nodes {
		f := fmt.Sprintf("nodes[%d]", i)
		if nd.ID == "" {
			return &FieldError{Field: f + ".id", Msg: "required"}
		}
		f = fmt.Sprintf("nodes[%s]", nd.ID)
		nodeIDs[strings.ToLower(nd.ID)] = true
		if nd.ChipsPerNode < 1 {
			return &FieldError{Field: f + ".chips_per_node", Value: nd.ChipsPerNode, Msg: "want at least 1"}
		}
		if nd.ScaleUpDomain < nd.ChipsPerNode {
			return &FieldError{Field: f + ".scaleup_domain", Value: nd.ScaleUpDomain, Msg: fmt.Sprintf("want at least chips_per_node (%d)", nd.ChipsPerNode)}
		}
		if _, ok := cat.Sources[nd.Source]; !ok {
			return &FieldError{Field: f + ".source", Value: nd.Source, Msg: "want a key of sources"}
		}
		if k := nd.Form; k != "" && k != "server" && k != "rack" && k != "supernode" {
			return &FieldError{Field: f + ".kind", Value: k, Msg: "want server, rack or supernode"}
		}
		if nd.Topology != "" && !topologies[nd.Topology] {
			return &FieldError{Field: f + ".topology", Value: nd.Topology, Msg: "want switch, mesh, ring or pcie"}
		}
		for _, id := range nd.Chips {
			if !ids[strings.ToLower(id)] {
				return &FieldError{Field: f + ".chips", Value: id, Msg: "want a chip id of the catalog"}
			}
		}
		for name, v := range map[string]*Value{"scaleup_gbps_per_dir": nd.ScaleUpGBpsPerDir, "scaleout_gbps_per_dir": nd.ScaleOutGBpsPerDir, "overhead_power_w": nd.OverheadPowerW} {
			if v != nil {
				if err := cat.checkValue(f+"."+name, v); err != nil {
					return err
				}
			}
		}
	}
	for _, c := range cat.Chips {
		if !nodeIDs[strings.ToLower(c.Node)] {
			return &FieldError{Field: fmt.Sprintf("chips[%s].node", c.ID), Value: c.Node, Msg: "want a node id of the catalog"}
		}
	}
	return nil
}

func (cat *Catalog) checkValue(field string, v *Value) error {
	if v.Value < 0 {
		return &FieldError{Field: field + ".value", Value: v.Value, Msg: "want a non-negative number"}
	}
	if _, ok := cat.Sources[v.Source]; !ok {
		return &FieldError{Field: field + ".source", Value: v.Source, Msg: "want a key of sources"}
	}
	switch v.Confidence {
	case Datasheet, Paper, Press, Estimate:
	default:
		return &FieldError{Field: field + ".confidence", Value: v.Confidence, Msg: "want datasheet, paper, press or estimate"}
	}
	return nil
}
