// Package hardware holds the accelerator and node catalog: what each chip
// can do, how chips are wired into nodes and supernodes, and where every
// number comes from.
//
// A catalog is data (YAML files, see catalog/), loaded from an fs.FS so that
// the package does no I/O of its own: the embedded default is [Default], and
// a user's directory is merged over it by the caller.
package hardware

import (
	"fmt"
	"sort"
	"strings"

	"ersatz/internal/units"
)

// Precision is a number format that weights, activations or the KV cache
// use.
type Precision string

// The precisions ersatz models. int4 is weight-only: its matmuls run at the
// activation precision (8 or 16 bit).
const (
	BF16 Precision = "bf16"
	FP16 Precision = "fp16"
	FP8  Precision = "fp8"
	INT8 Precision = "int8"
	INT4 Precision = "int4"
	FP4  Precision = "fp4"
)

// Precisions lists every precision in the order tables print them.
var Precisions = []Precision{BF16, FP16, FP8, INT8, INT4, FP4}

// Bytes is the storage size of one element.
func (p Precision) Bytes() float64 {
	switch p {
	case BF16, FP16:
		return 2
	case FP8, INT8:
		return 1
	case INT4, FP4:
		return 0.5
	}
	return 0
}

// ParsePrecision accepts the names above, case-insensitively.
func ParsePrecision(s string) (Precision, error) {
	p := Precision(strings.ToLower(strings.TrimSpace(s)))
	for _, q := range Precisions {
		if p == q {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown precision %q (want one of bf16, fp16, fp8, int8, int4, fp4)", s)
}

// Confidence says how far a number can be trusted.
type Confidence string

// Confidence tiers, most trusted first.
const (
	Datasheet Confidence = "datasheet" // the vendor's own specification
	Paper     Confidence = "paper"     // a peer-reviewed or arXiv paper, or a vendor's performance model
	Press     Confidence = "press"     // press or analyst reports
	Estimate  Confidence = "estimate"  // ersatz's own estimate; see the note
)

// Spread is the relative half-width of the uncertainty band each tier
// implies, used to widen a prediction's low/high band. These are ersatz's
// judgement, documented in docs/catalog.md.
func (c Confidence) Spread() float64 {
	switch c {
	case Datasheet:
		return 0
	case Paper:
		return 0.05
	case Press:
		return 0.15
	}
	return 0.30
}

// Value is one catalog number with its provenance.
type Value struct {
	Value      float64    `json:"value"`
	Source     string     `json:"source"`         // a key into Catalog.Sources
	Confidence Confidence `json:"confidence"`     // datasheet | paper | press | estimate
	Note       string     `json:"note,omitempty"` // e.g. "bidirectional total halved"
}

// Known reports whether v holds a number.
func (v *Value) Known() bool { return v != nil && v.Value > 0 }

// Source is a citation.
type Source struct {
	Title string `json:"title"`
	URL   string `json:"url,omitempty"`
	Date  string `json:"date,omitempty"` // when published or retrieved, YYYY-MM-DD
}

// Availability is a dated statement about whether a chip can be bought or
// used in a jurisdiction.
type Availability struct {
	Jurisdiction string `json:"jurisdiction"` // e.g. "cn", "us", "global"
	Status       string `json:"status"`       // available | licence-required | banned | discouraged | case-by-case | risk
	Date         string `json:"date"`         // YYYY-MM-DD when it took effect
	Note         string `json:"note,omitempty"`
	Source       string `json:"source"`
}

// Chip is one accelerator package as its vendor sells it (a 910C is one
// chip of two dies).
type Chip struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Vendor  string   `json:"vendor"` // nvidia | huawei | cambricon | kunlunxin | hygon | amd
	Name    string   `json:"name"`
	// Family selects the efficiency parameters of the performance model
	// (e.g. "hopper", "ascend-a2").
	Family string `json:"family"`
	// Dies counts the silicon dies in the package; Devices counts the
	// devices the serving engine sees per package (0 means 1). They differ:
	// a 910C's two dies are two NPUs to CANN, while a B200's two dies are
	// one GPU to CUDA.
	Dies    int    `json:"dies"`
	Devices int    `json:"devices,omitempty"`
	Status  string `json:"status"` // shipping | roadmap
	Launch  string `json:"launch"` // YYYY-MM or YYYY-Qn
	// DenseTFLOPS is the dense (no 2:4 sparsity) peak per package, in
	// TFLOP/s (TOP/s for integers). A precision absent here cannot run.
	DenseTFLOPS map[Precision]*Value `json:"dense_tflops"`
	MemoryGB    *Value               `json:"memory_gb"`
	// MemoryTBps is the device memory bandwidth.
	MemoryTBps *Value `json:"memory_tbps"`
	// ScaleUpGBpsPerDir is the chip's scale-up (NVLink, HCCS, UB, xGMI,
	// MLU-Link, PCIe) bandwidth per direction, summed over its links.
	ScaleUpGBpsPerDir *Value `json:"scaleup_gbps_per_dir"`
	// ScaleOutGBpsPerDir is the chip's share of the node's scale-out
	// network (RDMA NICs), per direction.
	ScaleOutGBpsPerDir *Value `json:"scaleout_gbps_per_dir"`
	PowerW             *Value `json:"power_w"`
	PriceUSD           *Value `json:"price_usd,omitempty"`
	// RentUSDPerHour is a typical cloud or market rental price per chip-hour.
	RentUSDPerHour *Value `json:"rent_usd_per_hour,omitempty"`
	// InterruptionsPerChipYear is the unexpected training-job
	// interruptions per chip per year of synchronous training, all causes
	// counted (the chip, its memory, host, network, software), for the
	// training estimator's failure model.
	InterruptionsPerChipYear *Value `json:"interruptions_per_chip_year,omitempty"`
	// Node is the default node or system this chip ships in.
	Node         string         `json:"node"`
	Availability []Availability `json:"availability,omitempty"`
	Notes        string         `json:"notes,omitempty"`
}

// Node is a server or supernode: how many chips share one scale-up domain.
type Node struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Chips []string `json:"chips"` // chip ids this node can hold
	// ChipsPerNode is the chip count of one server.
	ChipsPerNode int `json:"chips_per_node"`
	// ScaleUpDomain is how many chips one scale-up fabric joins (8 for an
	// HGX board, 72 for NVL72, 384 for CloudMatrix384).
	ScaleUpDomain int `json:"scaleup_domain"`
	// Topology of the scale-up fabric: switch | mesh | ring | pcie.
	Topology string `json:"topology"`
	// Form is what the node is, as deployments count it: server (the
	// default), rack (a scale-up domain of several servers sold as one, as
	// GB200 NVL72) or supernode (CloudMatrix384, Atlas SuperPoDs). See Kind.
	Form string `json:"kind,omitempty"`
	// ScaleUpGBpsPerDir, when set, overrides the chip's scale-up bandwidth
	// in this node (e.g. PCIe-only servers).
	ScaleUpGBpsPerDir  *Value `json:"scaleup_gbps_per_dir,omitempty"`
	ScaleOutGBpsPerDir *Value `json:"scaleout_gbps_per_dir,omitempty"`
	// PowerW is the node's power beyond its chips (CPUs, NICs, fans), per node.
	OverheadPowerW *Value `json:"overhead_power_w,omitempty"`
	Source         string `json:"source"`
	Notes          string `json:"notes,omitempty"`
}

// Kind is the node's form: server, rack or supernode.
func (n *Node) Kind() string {
	if n.Form == "" {
		return "server"
	}
	return n.Form
}

// Units is how many of the node's kind hold chips: servers for a server,
// whole racks or supernodes (of ScaleUpDomain chips) otherwise.
func (n *Node) Units(chips int) int {
	per := max(n.ChipsPerNode, 1)
	if n.Kind() != "server" {
		per = max(n.ScaleUpDomain, per)
	}
	return (chips + per - 1) / per
}

// Catalog is a set of chips and nodes with the sources they cite.
type Catalog struct {
	Sources map[string]Source `json:"sources"`
	Chips   []*Chip           `json:"chips"`
	Nodes   []*Node           `json:"nodes"`
}

// Peak returns the dense peak rate for p, and whether the chip runs p.
// int4 weights run their matmuls at int8 (W4A8) where the chip has int8 and
// otherwise at fp16; callers choose the activation precision.
func (c *Chip) Peak(p Precision) (units.FLOPSRate, bool) {
	v, ok := c.DenseTFLOPS[p]
	if !ok || !v.Known() {
		return 0, false
	}
	return units.FLOPSRate(v.Value * units.Tera), true
}

// EngineDevices is the devices the serving engine sees per package.
func (c *Chip) EngineDevices() int { return max(c.Devices, 1) }

// Memory returns the package's memory capacity. Vendors print HBM
// capacity in "GB" that are binary: an "80 GB" H100 reports 81,559 MiB and
// a "64 GB" 910B 65,536 MB, because HBM stacks come in powers of two. So
// memory_gb is read as GiB.
func (c *Chip) Memory() units.Bytes { return units.Bytes(c.MemoryGB.Value * units.GiB) }

// MemoryBandwidth returns the device memory bandwidth.
func (c *Chip) MemoryBandwidth() units.BytesPerSecond {
	return units.BytesPerSecond(c.MemoryTBps.Value * units.Tera)
}

// ScaleUpPerDir returns the scale-up bandwidth per direction.
func (c *Chip) ScaleUpPerDir() units.BytesPerSecond {
	if !c.ScaleUpGBpsPerDir.Known() {
		return 0
	}
	return units.BytesPerSecond(c.ScaleUpGBpsPerDir.Value * units.Giga)
}

// ScaleOutPerDir returns the scale-out bandwidth per direction.
func (c *Chip) ScaleOutPerDir() units.BytesPerSecond {
	if !c.ScaleOutGBpsPerDir.Known() {
		return 0
	}
	return units.BytesPerSecond(c.ScaleOutGBpsPerDir.Value * units.Giga)
}

// Power returns the chip's board power.
func (c *Chip) Power() units.Watts {
	if !c.PowerW.Known() {
		return 0
	}
	return units.Watts(c.PowerW.Value)
}

// Runs reports whether the chip can compute in p.
func (c *Chip) Runs(p Precision) bool { _, ok := c.Peak(p); return ok }

// PrecisionNames lists the precisions the chip runs.
func (c *Chip) PrecisionNames() []string {
	var out []string
	for _, p := range Precisions {
		if c.Runs(p) {
			out = append(out, string(p))
		}
	}
	return out
}

// Values returns every number of the chip with a label, for validation
// and for listing provenance.
func (c *Chip) Values() map[string]*Value {
	m := map[string]*Value{
		"memory_gb":             c.MemoryGB,
		"memory_tbps":           c.MemoryTBps,
		"scaleup_gbps_per_dir":  c.ScaleUpGBpsPerDir,
		"scaleout_gbps_per_dir": c.ScaleOutGBpsPerDir,
		"power_w":               c.PowerW,
		"price_usd":             c.PriceUSD,
		"rent_usd_per_hour":     c.RentUSDPerHour,
	}
	m["interruptions_per_chip_year"] = c.InterruptionsPerChipYear
	for p, v := range c.DenseTFLOPS {
		m["dense_tflops."+string(p)] = v
	}
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return m
}

// Chip looks a chip up by id or alias, case-insensitively. Names as
// people write them also match: spaces and underscores for hyphens, a
// vendor or product-line prefix ("NVIDIA H100 SXM", "AMD Instinct
// MI300X", "Huawei Ascend 910C") or no hyphens at all.
func (cat *Catalog) Chip(name string) (*Chip, error) {
	n := chipKey(name)
	for _, compact := range []bool{false, true} {
		for _, c := range cat.Chips {
			for _, id := range append([]string{c.ID}, c.Aliases...) {
				k := chipKey(id)
				if compact {
					n, k = strings.ReplaceAll(n, "-", ""), strings.ReplaceAll(k, "-", "")
				}
				if k == n {
					return c, nil
				}
			}
		}
	}
	return nil, &NotFoundError{Kind: "chip", Name: name, Near: nearest(name, cat.chipNames())}
}

// chipPrefixes are vendor and product-line words a chip name may carry.
var chipPrefixes = []string{"nvidia-", "amd-", "instinct-", "huawei-", "cambricon-", "kunlunxin-", "baidu-", "hygon-"}

// chipKey normalises a chip name: lower case, hyphens for spaces and
// underscores, no vendor prefix.
func chipKey(name string) string {
	k := strings.ToLower(strings.TrimSpace(name))
	k = strings.NewReplacer(" ", "-", "_", "-").Replace(k)
	for strings.Contains(k, "--") {
		k = strings.ReplaceAll(k, "--", "-")
	}
	for trimmed := true; trimmed; {
		trimmed = false
		for _, p := range chipPrefixes {
			if rest, ok := strings.CutPrefix(k, p); ok && rest != "" {
				k, trimmed = rest, true
			}
		}
	}
	return k
}

// Node looks a node up by id, case-insensitively.
func (cat *Catalog) Node(name string) (*Node, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, nd := range cat.Nodes {
		if strings.ToLower(nd.ID) == n {
			return nd, nil
		}
	}
	var names []string
	for _, nd := range cat.Nodes {
		names = append(names, nd.ID)
	}
	return nil, &NotFoundError{Kind: "node", Name: name, Near: nearest(name, names)}
}

// NodeOf returns the chip's default node.
func (cat *Catalog) NodeOf(c *Chip) (*Node, error) {
	nd, err := cat.Node(c.Node)
	if err != nil {
		return nil, fmt.Errorf("chip %s: node: %w", c.ID, err)
	}
	return nd, nil
}

func (cat *Catalog) chipNames() []string {
	var names []string
	for _, c := range cat.Chips {
		names = append(names, c.ID)
		names = append(names, c.Aliases...)
	}
	sort.Strings(names)
	return names
}

// NotFoundError reports an unknown catalog name with the nearest known ones.
type NotFoundError struct {
	Kind string
	Name string
	Near []string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("unknown %s %q", e.Kind, e.Name)
	if len(e.Near) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(e.Near, ", "))
	}
	return msg
}
