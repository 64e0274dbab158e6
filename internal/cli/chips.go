package cli

import (
	"fmt"
	"sort"
	"strings"

	"ersatz/internal/hardware"
	"ersatz/internal/report"
)

func runChips(e *env, args []string) error {
	fs := newFlags(e, "chips", "[--vendor V] [--json]")
	var cats catalogs
	cats.register(fs)
	vendor := fs.String("vendor", "", "only chips of this vendor (nvidia, huawei, cambricon, kunlunxin, hygon, amd)")
	asJSON := fs.Bool("json", false, "print JSON with every number's source")
	if err := parse(fs, args); err != nil {
		return err
	}
	cat, err := cats.hardware(e)
	if err != nil {
		return err
	}
	var chips []*hardware.Chip
	for _, c := range cat.Chips {
		if *vendor == "" || strings.EqualFold(c.Vendor, *vendor) {
			chips = append(chips, c)
		}
	}
	sort.SliceStable(chips, func(i, j int) bool { return vendorRank(chips[i].Vendor) < vendorRank(chips[j].Vendor) })
	if len(chips) == 0 {
		return fmt.Errorf("--vendor %q: no chips; want one of nvidia, huawei, cambricon, kunlunxin, hygon, amd", *vendor)
	}
	if *asJSON {
		return report.WriteJSON(e.stdout, chipsView(cat, chips))
	}
	t := &report.Table{
		Header: []string{"chip", "vendor", "status", "bf16", "fp8", "int8", "fp4", "mem GB", "TB/s", "up GB/s/dir", "W", "launch", "conf", "$/h"},
		Right:  map[int]bool{3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true, 13: true},
	}
	for _, c := range chips {
		t.Add(c.ID, c.Vendor, c.Status,
			tflops(c, hardware.BF16), tflops(c, hardware.FP8), tflops(c, hardware.INT8), tflops(c, hardware.FP4),
			val(c.MemoryGB), val(c.MemoryTBps), val(c.ScaleUpGBpsPerDir), val(c.PowerW), c.Launch, weakest(c), val(c.RentUSDPerHour))
	}
	t.Notes = []string{"Dense TFLOPS per package (TOPS for int8); – means the chip cannot run that precision.",
		"$/h is an estimated rental price per chip-hour.",
		"conf is the weakest confidence among the chip's performance numbers (prices aside); `ersatz chips --json` gives each number's source."}
	return t.WriteText(e.stdout)
}

// vendorRank orders the table: NVIDIA, the Chinese vendors, AMD.
func vendorRank(v string) int {
	return strings.Index("nvidia huawei cambricon kunlunxin hygon amd", v)
}

func tflops(c *hardware.Chip, p hardware.Precision) string {
	v, ok := c.DenseTFLOPS[p]
	if !ok || !v.Known() {
		return "–"
	}
	return report.Num(v.Value, 4)
}

func val(v *hardware.Value) string {
	if !v.Known() {
		return "–"
	}
	return report.Num(v.Value, 4)
}

// weakest returns the least-trusted confidence tier among c's numbers.
func weakest(c *hardware.Chip) string {
	rank := map[hardware.Confidence]int{hardware.Datasheet: 0, hardware.Paper: 1, hardware.Press: 2, hardware.Estimate: 3}
	w := hardware.Datasheet
	for name, v := range c.Values() {
		if name == "price_usd" || name == "rent_usd_per_hour" || name == "interruptions_per_chip_year" {
			continue // prices and failure rates are estimates almost everywhere; conf is about performance
		}
		if rank[v.Confidence] > rank[w] {
			w = v.Confidence
		}
	}
	return string(w)
}

// sourcedValue is a catalog number with its citation spelled out.
type sourcedValue struct {
	Value      float64 `json:"value"`
	Confidence string  `json:"confidence"`
	Source     string  `json:"source"`
	Title      string  `json:"source_title"`
	URL        string  `json:"source_url,omitempty"`
	Note       string  `json:"note,omitempty"`
}

type chipView struct {
	ID           string                  `json:"id"`
	Aliases      []string                `json:"aliases,omitempty"`
	Vendor       string                  `json:"vendor"`
	Name         string                  `json:"name"`
	Family       string                  `json:"family"`
	Dies         int                     `json:"dies"`
	Status       string                  `json:"status"`
	Launch       string                  `json:"launch"`
	Node         string                  `json:"node"`
	Precisions   []string                `json:"precisions"`
	Numbers      map[string]sourcedValue `json:"numbers"`
	Availability []availabilityView      `json:"availability,omitempty"`
	Notes        string                  `json:"notes,omitempty"`
}

type availabilityView struct {
	hardware.Availability
	Title string `json:"source_title"`
	URL   string `json:"source_url,omitempty"`
}

func chipsView(cat *hardware.Catalog, chips []*hardware.Chip) any {
	out := make([]chipView, 0, len(chips))
	for _, c := range chips {
		v := chipView{ID: c.ID, Aliases: c.Aliases, Vendor: c.Vendor, Name: c.Name, Family: c.Family, Dies: c.Dies,
			Status: c.Status, Launch: c.Launch, Node: c.Node, Precisions: c.PrecisionNames(),
			Numbers: map[string]sourcedValue{}, Notes: c.Notes}
		for name, n := range c.Values() {
			s := cat.Sources[n.Source]
			v.Numbers[name] = sourcedValue{Value: n.Value, Confidence: string(n.Confidence), Source: n.Source, Title: s.Title, URL: s.URL, Note: n.Note}
		}
		for _, a := range c.Availability {
			s := cat.Sources[a.Source]
			v.Availability = append(v.Availability, availabilityView{a, s.Title, s.URL})
		}
		out = append(out, v)
	}
	return map[string]any{"chips": out}
}

func runNodes(e *env, args []string) error {
	fs := newFlags(e, "nodes", "[--json]")
	var cats catalogs
	cats.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cat, err := cats.hardware(e)
	if err != nil {
		return err
	}
	if *asJSON {
		return report.WriteJSON(e.stdout, map[string]any{"nodes": cat.Nodes, "sources": cat.Sources})
	}
	t := &report.Table{Header: []string{"node", "kind", "chips/node", "scale-up domain", "topology", "chips", "name"}, Right: map[int]bool{2: true, 3: true}}
	for _, n := range cat.Nodes {
		t.Add(n.ID, n.Kind(), n.ChipsPerNode, n.ScaleUpDomain, n.Topology, strings.Join(n.Chips, ","), n.Name)
	}
	return t.WriteText(e.stdout)
}
