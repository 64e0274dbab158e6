package hardware

import (
	"errors"
	"flag"
	"io/fs"
	"math"
	"path"
	"strings"
	"testing"
)

func TestDefaultValid(t *testing.T) {
	cat, err := Load(embedded, "catalog")
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Chips) == 0 {
		t.Fatal("no chips")
	}
	_ = Default() // must not panic
}

// requiredChips maps every chip id the project needs to its family.
var requiredChips = map[string]string{
	"a100-sxm":      "ampere",
	"a800-sxm":      "ampere",
	"h100-pcie":     "hopper",
	"h100-nvl":      "hopper",
	"h100-sxm":      "hopper",
	"h800-sxm":      "hopper",
	"h20":           "hopper",
	"h200-sxm":      "hopper",
	"b200":          "blackwell",
	"gb200":         "blackwell",
	"l20":           "ada",
	"l40s":          "ada",
	"rtx-pro-6000d": "blackwell-pcie",
	"ascend-910b2":  "ascend-a2",
	"ascend-910b3":  "ascend-a2",
	"ascend-910b4":  "ascend-a2",
	"ascend-910c":   "ascend-a3",
	"ascend-310p":   "ascend-310p",
	"ascend-950pr":  "ascend-950",
	"ascend-950dt":  "ascend-950",
	"ascend-960":    "ascend-960",
	"mlu370-x8":     "cambricon",
	"mlu590":        "cambricon",
	"p800":          "kunlunxin",
	"k100-ai":       "hygon",
	"bw1000":        "hygon",
	"mi300x":        "cdna3",
	"mi325x":        "cdna3",
}

var requiredNodes = []string{
	"hgx-a100-8", "hgx-a800-8", "hgx-h100-8", "hgx-h800-8", "hgx-h20-8", "hgx-h200-8", "hgx-b200-8",
	"gb200-nvl72", "pcie-8", "atlas-800-a2", "atlas-800-a3", "cloudmatrix384",
	"atlas-300i-duo-server", "atlas-850", "atlas-950-supernode", "atlas-960-supernode",
	"oam-mi300x-8", "oam-mi325x-8", "mlu370-server-8", "mlu590-server-8",
	"p800-server-8", "hygon-server-8",
}

func TestRequiredChipsResolve(t *testing.T) {
	cat := Default()
	for id, family := range requiredChips {
		for _, name := range []string{id, strings.ToUpper(id), " " + id + " "} {
			c, err := cat.Chip(name)
			if err != nil {
				t.Errorf("Chip(%q): %v", name, err)
				continue
			}
			if c.ID != id {
				t.Errorf("Chip(%q) = %s", name, c.ID)
			}
		}
		if c, err := cat.Chip(id); err == nil && c.Family != family {
			t.Errorf("%s: family %q, want %q", id, c.Family, family)
		}
	}
	if len(cat.Chips) != len(requiredChips) {
		var extra []string
		for _, c := range cat.Chips {
			if _, ok := requiredChips[c.ID]; !ok {
				extra = append(extra, c.ID)
			}
		}
		t.Logf("catalog has %d chips, %d required; extra: %v", len(cat.Chips), len(requiredChips), extra)
	}
}

func TestAliases(t *testing.T) {
	cat := Default()
	for alias, id := range map[string]string{
		"h100": "h100-sxm", "H100": "h100-sxm", "a100": "a100-sxm", "h800": "h800-sxm",
		"h200": "h200-sxm", "gb200-nvl72": "gb200", "GB200-NVL72": "gb200",
		"910b": "ascend-910b2", "910B2": "ascend-910b2", "910b3": "ascend-910b3",
		"910b4": "ascend-910b4", "910c": "ascend-910c", "910C": "ascend-910c",
		"310p": "ascend-310p", "atlas-300i-duo": "ascend-310p", "950pr": "ascend-950pr",
		"950dt": "ascend-950dt", "960": "ascend-960", "mi300": "mi300x", "MI300": "mi300x",
		"mi325": "mi325x", "mlu370": "mlu370-x8", "k100": "k100-ai", "rtx-6000d": "rtx-pro-6000d",
		"a800": "a800-sxm", "A800": "a800-sxm",
	} {
		c, err := cat.Chip(alias)
		if err != nil {
			t.Errorf("Chip(%q): %v", alias, err)
			continue
		}
		if c.ID != id {
			t.Errorf("Chip(%q) = %s, want %s", alias, c.ID, id)
		}
	}
	_, err := cat.Chip("h1000")
	var nf *NotFoundError
	if !errors.As(err, &nf) || len(nf.Near) == 0 {
		t.Errorf("Chip(h1000) = %v, want a NotFoundError with suggestions", err)
	}
}

func TestRequiredNodes(t *testing.T) {
	cat := Default()
	for _, id := range requiredNodes {
		if _, err := cat.Node(id); err != nil {
			t.Errorf("Node(%q): %v", id, err)
		}
	}
	nd, _ := cat.Node("gb200-nvl72")
	if nd != nil && nd.ScaleUpDomain != 72 {
		t.Errorf("gb200-nvl72 scaleup_domain = %d, want 72", nd.ScaleUpDomain)
	}
	nd, _ = cat.Node("cloudmatrix384")
	if nd != nil && nd.ScaleUpDomain != 384 {
		t.Errorf("cloudmatrix384 scaleup_domain = %d, want 384", nd.ScaleUpDomain)
	}
	nd, _ = cat.Node("atlas-800-a2")
	if nd != nil && nd.Topology != "mesh" {
		t.Errorf("atlas-800-a2 topology = %q, want mesh", nd.Topology)
	}
	for _, nd := range cat.Nodes {
		if !nd.OverheadPowerW.Known() {
			t.Errorf("node %s: no overhead_power_w", nd.ID)
		}
		if nd.Topology == "" {
			t.Errorf("node %s: no topology", nd.ID)
		}
	}
}

// Every chip has what the planner needs: capacity, bandwidth, power,
// price, rent, a default node that lists it, and at least one precision.
func TestChipsComplete(t *testing.T) {
	cat := Default()
	for _, c := range cat.Chips {
		if c.Memory() <= 0 || c.MemoryBandwidth() <= 0 {
			t.Errorf("%s: memory %v, bandwidth %v", c.ID, c.Memory(), c.MemoryBandwidth())
		}
		if c.Power() <= 0 {
			t.Errorf("%s: no power", c.ID)
		}
		if !c.PriceUSD.Known() {
			t.Errorf("%s: no price", c.ID)
		}
		if !c.RentUSDPerHour.Known() {
			t.Errorf("%s: no rent", c.ID)
		}
		if c.ScaleUpPerDir() <= 0 || c.ScaleOutPerDir() <= 0 {
			t.Errorf("%s: scale-up %v, scale-out %v", c.ID, c.ScaleUpPerDir(), c.ScaleOutPerDir())
		}
		if len(c.PrecisionNames()) == 0 {
			t.Errorf("%s: no precision", c.ID)
		}
		if c.Name == "" || c.Launch == "" {
			t.Errorf("%s: name or launch missing", c.ID)
		}
		for label, v := range c.Values() {
			if !v.Known() {
				t.Errorf("%s.%s: not a positive number", c.ID, label)
			}
			if v.Confidence == Estimate && v.Note == "" {
				t.Errorf("%s.%s: an estimate needs a note saying why", c.ID, label)
			}
		}
		nd, err := cat.NodeOf(c)
		if err != nil {
			t.Errorf("%s: %v", c.ID, err)
			continue
		}
		found := false
		for _, id := range nd.Chips {
			if strings.EqualFold(id, c.ID) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: default node %s does not list it", c.ID, nd.ID)
		}
		for _, a := range c.Availability {
			if a.Jurisdiction == "" || a.Date == "" || a.Source == "" {
				t.Errorf("%s: incomplete availability %+v", c.ID, a)
			}
		}
	}
}

func TestRoadmap(t *testing.T) {
	cat := Default()
	for id, launch := range map[string]string{"ascend-950pr": "2026-Q1", "ascend-950dt": "2026-Q4", "ascend-960": "2027-Q4"} {
		c, err := cat.Chip(id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != "roadmap" || c.Launch != launch {
			t.Errorf("%s: status %q launch %q, want roadmap %s", id, c.Status, c.Launch, launch)
		}
	}
	for _, c := range cat.Chips {
		if c.Status == "roadmap" && !strings.HasPrefix(c.ID, "ascend-9") {
			t.Errorf("%s: unexpectedly roadmap", c.ID)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func mustChip(t *testing.T, cat *Catalog, id string) *Chip {
	t.Helper()
	c, err := cat.Chip(id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tflops(t *testing.T, c *Chip, p Precision) float64 {
	t.Helper()
	r, ok := c.Peak(p)
	if !ok {
		t.Fatalf("%s does not run %s", c.ID, p)
	}
	return float64(r) / 1e12
}

// Spot checks against the spec arithmetic.
func TestSpotChecks(t *testing.T) {
	cat := Default()

	// H100 SXM: 1,979 TFLOPS BF16 with 2:4 sparsity -> 989 dense.
	h100 := mustChip(t, cat, "h100")
	if got := tflops(t, h100, BF16); !near(got, 989) {
		t.Errorf("H100 bf16 = %v, want 989", got)
	}
	// NVLink4: 18 links, 900 GB/s bidirectional -> 450 GB/s per direction.
	if got := float64(h100.ScaleUpPerDir()) / 1e9; !near(got, 900.0/2) {
		t.Errorf("H100 scale-up = %v GB/s per direction, want 450", got)
	}
	// H20: FP8 = INT8 = 296 dense (2 x 148 BF16).
	h20 := mustChip(t, cat, "h20")
	if got := tflops(t, h20, FP8); !near(got, 296) || !near(got, 2*tflops(t, h20, BF16)) {
		t.Errorf("H20 fp8 = %v, want 296 = 2 x 148", got)
	}
	// 910B2: no FP8 (INT8 instead), 752 INT8 = 2 x 376 FP16.
	b2 := mustChip(t, cat, "910b2")
	if b2.Runs(FP8) || b2.Runs(FP4) {
		t.Errorf("910B2 runs %v; it has no fp8/fp4", b2.PrecisionNames())
	}
	if got := tflops(t, b2, INT8); !near(got, 2*376) {
		t.Errorf("910B2 int8 = %v, want 752", got)
	}
	// 910B2 HCCS: 7 peers x 28 GB/s = 196 GB/s, already unidirectional.
	if got := float64(b2.ScaleUpPerDir()) / 1e9; !near(got, 7*28) {
		t.Errorf("910B2 scale-up = %v, want 196", got)
	}
	// 910C: 2 dies x 64 GB = 128 GB (binary, as memory_gb is read); 2 x 1.6 TB/s; 2 x 196 GB/s UB.
	c := mustChip(t, cat, "910c")
	if c.Dies != 2 || !near(c.Memory().GiB(), 2*64) || c.MemoryGB.Value != 128 {
		t.Errorf("910C dies %d memory %v GiB, want 2 and 128", c.Dies, c.Memory().GiB())
	}
	if got := float64(c.MemoryBandwidth()) / 1e12; !near(got, 2*1.6) {
		t.Errorf("910C bandwidth %v TB/s, want 3.2", got)
	}
	if got := float64(c.ScaleUpPerDir()) / 1e9; !near(got, 2*196) {
		t.Errorf("910C scale-up %v GB/s, want 392", got)
	}
	if c.Runs(FP8) {
		t.Error("910C has no fp8")
	}
	// A100: no FP8, native INT4 = 2 x INT8 = 1,248; NVLink3 600 bi -> 300.
	a100 := mustChip(t, cat, "a100")
	if a100.Runs(FP8) || !near(tflops(t, a100, INT4), 2*624) {
		t.Errorf("A100: fp8 %v, int4 %v", a100.Runs(FP8), a100.DenseTFLOPS[INT4])
	}
	if got := float64(a100.ScaleUpPerDir()) / 1e9; !near(got, 600.0/2) {
		t.Errorf("A100 scale-up %v, want 300", got)
	}
	// A800: A100 compute, NVLink cut to 400 bi -> 200 per direction.
	a800 := mustChip(t, cat, "a800")
	if !near(tflops(t, a800, BF16), tflops(t, a100, BF16)) || a800.Runs(FP8) {
		t.Errorf("A800: bf16 %v, fp8 %v; want A100's and none", a800.DenseTFLOPS[BF16], a800.Runs(FP8))
	}
	if got := float64(a800.ScaleUpPerDir()) / 1e9; !near(got, 400.0/2) {
		t.Errorf("A800 scale-up %v, want 200", got)
	}
	// H100 PCIe / NVL: datasheet sparse figures halved (1,513 -> 756, 3,341 -> 1,671).
	for id, want := range map[string][2]float64{"h100-pcie": {756, 1513}, "h100-nvl": {835, 1671}} {
		c := mustChip(t, cat, id)
		if bf, f8 := tflops(t, c, BF16), tflops(t, c, FP8); !near(bf, want[0]) || !near(f8, want[1]) {
			t.Errorf("%s: bf16 %v fp8 %v, want %v", id, bf, f8, want)
		}
	}
	// B200: DGX B200 144 PFLOPS FP4 sparse / 8 GPUs / 2 = 9,000 dense; 2 dies.
	b200 := mustChip(t, cat, "b200")
	if got := tflops(t, b200, FP4); !near(got, 144e3/8/2) || b200.Dies != 2 {
		t.Errorf("B200 fp4 %v dies %d, want 9000 and 2", got, b200.Dies)
	}
	// Only Blackwell, CDNA 4 (MXFP4) and the Ascend 950/960 run fp4.
	for _, ch := range cat.Chips {
		fam := ch.Family
		wantFP4 := fam == "blackwell" || fam == "blackwell-pcie" || fam == "cdna4" || fam == "ascend-950" || fam == "ascend-960"
		if ch.Runs(FP4) != wantFP4 {
			t.Errorf("%s (%s): runs fp4 = %v", ch.ID, fam, ch.Runs(FP4))
		}
	}
	// MI300X: 7 xGMI links x 128 GB/s = 896 bi -> 448 per direction.
	mi := mustChip(t, cat, "mi300x")
	if got := float64(mi.ScaleUpPerDir()) / 1e9; !near(got, 7*128/2) {
		t.Errorf("MI300X scale-up %v, want 448", got)
	}
	// Multi-die packages.
	for id, dies := range map[string]int{"mlu370-x8": 2, "ascend-310p": 2, "gb200": 2, "h100-sxm": 1} {
		if got := mustChip(t, cat, id).Dies; got != dies {
			t.Errorf("%s dies = %d, want %d", id, got, dies)
		}
	}
	// 910B scale-out: 200 GbE per NPU = 25 GB/s.
	if got := float64(b2.ScaleOutPerDir()) / 1e9; !near(got, 200.0/8) {
		t.Errorf("910B2 scale-out %v, want 25", got)
	}
}

func TestAvailability(t *testing.T) {
	cat := Default()
	has := func(id, jur, status, date string) {
		t.Helper()
		c := mustChip(t, cat, id)
		for _, a := range c.Availability {
			if a.Jurisdiction == jur && a.Status == status && a.Date == date {
				return
			}
		}
		t.Errorf("%s: no %s %s %s entry in %+v", id, jur, status, date, c.Availability)
	}
	has("h20", "cn", "licence-required", "2025-04-14")
	has("h200-sxm", "cn", "case-by-case", "2026-01-15")
	has("ascend-910b2", "global", "risk", "2025-05-13")
	has("ascend-910c", "global", "risk", "2025-05-13")
	has("rtx-pro-6000d", "cn", "banned", "2025-09-17")
	has("a100-sxm", "cn", "banned", "2022-10-07")
	has("h100-sxm", "cn", "banned", "2022-10-07")
	has("h800-sxm", "cn", "banned", "2023-10-17")
	has("a800-sxm", "cn", "available", "2022-11-07")
	has("a800-sxm", "cn", "banned", "2023-10-17")
	has("h100-pcie", "cn", "banned", "2022-10-07")
	has("h100-nvl", "cn", "banned", "2022-10-07")
	has("l40s", "cn", "banned", "2023-10-17")
	for _, c := range cat.Chips {
		for _, a := range c.Availability {
			if !availabilityStatuses[a.Status] {
				t.Errorf("%s: status %q", c.ID, a.Status)
			}
		}
	}
}

func TestSpread(t *testing.T) {
	prev := -1.0
	for _, c := range []Confidence{Datasheet, Paper, Press, Estimate} {
		if s := c.Spread(); s <= prev {
			t.Errorf("%s spread %v not above %v", c, s, prev)
		} else {
			prev = s
		}
	}
}

// minimal is a valid one-chip, one-node catalog for the rejection tests.
const minimal = `
sources:
  s: {title: "a source"}
chips:
  - id: x1
    vendor: nvidia
    name: X1
    family: hopper
    dies: 1
    status: shipping
    launch: "2024"
    dense_tflops:
      bf16: {value: 100, source: s, confidence: datasheet}
    memory_gb: {value: 80, source: s, confidence: datasheet}
    memory_tbps: {value: 3, source: s, confidence: datasheet}
    power_w: {value: 700, source: s, confidence: datasheet}
    node: n1
    availability:
      - {jurisdiction: cn, status: banned, date: "2022-10-07", source: s}
nodes:
  - id: n1
    name: N1
    chips: [x1]
    chips_per_node: 8
    scaleup_domain: 8
    topology: switch
    source: s
`

func TestValidateRejects(t *testing.T) {
	base := &Catalog{}
	if err := base.Merge([]byte(minimal)); err != nil {
		t.Fatal(err)
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("minimal catalog invalid: %v", err)
	}
	for _, tc := range []struct {
		name, from, to, field string
	}{
		{"missing source", "memory_gb: {value: 80, source: s,", "memory_gb: {value: 80, source: nope,", "chips[x1].memory_gb.source"},
		{"empty source", "memory_tbps: {value: 3, source: s,", "memory_tbps: {value: 3, source: \"\",", "chips[x1].memory_tbps.source"},
		{"unknown confidence", "power_w: {value: 700, source: s, confidence: datasheet}", "power_w: {value: 700, source: s, confidence: rumour}", "chips[x1].power_w.confidence"},
		{"unknown vendor", "vendor: nvidia", "vendor: acme", "chips[x1].vendor"},
		{"tflops source", "bf16: {value: 100, source: s,", "bf16: {value: 100, source: t,", "chips[x1].dense_tflops.bf16.source"},
		{"unknown precision", "bf16: {value: 100", "fp64: {value: 100", "chips[x1].dense_tflops"},
		{"negative value", "memory_gb: {value: 80,", "memory_gb: {value: -80,", "chips[x1].memory_gb"},
		{"unknown status", "status: shipping", "status: rumoured", "chips[x1].status"},
		{"no dies", "dies: 1", "dies: 0", "chips[x1].dies"},
		{"unknown node", "node: n1", "node: n2", "chips[x1].node"},
		{"availability source", "date: \"2022-10-07\", source: s}", "date: \"2022-10-07\", source: q}", "chips[x1].availability[0].source"},
		{"availability status", "status: banned", "status: maybe", "chips[x1].availability[0].status"},
		{"node source", "topology: switch\n    source: s", "topology: switch\n    source: z", "nodes[n1].source"},
		{"node topology", "topology: switch", "topology: torus", "nodes[n1].topology"},
		{"node chips", "chips: [x1]", "chips: [x9]", "nodes[n1].chips"},
		{"small domain", "scaleup_domain: 8", "scaleup_domain: 4", "nodes[n1].scaleup_domain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(minimal, tc.from) {
				t.Fatalf("fixture lacks %q", tc.from)
			}
			cat := &Catalog{}
			if err := cat.Merge([]byte(strings.Replace(minimal, tc.from, tc.to, 1))); err != nil {
				if tc.name == "unknown precision" {
					return // rejected while parsing is fine too
				}
				t.Fatal(err)
			}
			err := cat.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a FieldError", err)
			}
			if !strings.HasPrefix(fe.Field, tc.field) {
				t.Errorf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), fe.Field) {
				t.Errorf("message %q does not name the field", err)
			}
		})
	}
}

func TestValidateDuplicateAlias(t *testing.T) {
	cat := Default()
	extra := strings.Replace(minimal, "id: x1", "id: x1\n    aliases: [H100]", 1)
	if err := cat.Merge([]byte(extra)); err != nil {
		t.Fatal(err)
	}
	var fe *FieldError
	if err := cat.Validate(); !errors.As(err, &fe) || !strings.Contains(fe.Msg, "twice") {
		t.Errorf("Validate = %v, want an alias-used-twice error", err)
	}
}

// A user's file with a default chip's id replaces that chip.
func TestMergeReplaces(t *testing.T) {
	cat := Default()
	n := len(cat.Chips)
	over := strings.Replace(minimal, "id: x1", "id: H100-SXM", 1)
	over = strings.Replace(over, "chips: [x1]", "chips: [h100-sxm]", 1)
	if err := cat.Merge([]byte(over)); err != nil {
		t.Fatal(err)
	}
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cat.Chips) != n {
		t.Errorf("chips %d, want %d", len(cat.Chips), n)
	}
	c := mustChip(t, cat, "h100-sxm")
	if c.MemoryGB.Value != 80 || tflops(t, c, BF16) != 100 {
		t.Errorf("h100-sxm not replaced: %+v", c)
	}
}

func embeddedFiles(t testing.TB) [][]byte {
	t.Helper()
	entries, err := fs.ReadDir(embedded, "catalog")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, e := range entries {
		data, err := fs.ReadFile(embedded, path.Join("catalog", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

func TestVendorFiles(t *testing.T) {
	entries, err := fs.ReadDir(embedded, "catalog")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	for _, v := range []string{"nvidia", "huawei", "cambricon", "kunlunxin", "hygon", "amd"} {
		if !have[v+".yaml"] {
			t.Errorf("no catalog/%s.yaml", v)
		}
	}
	// Each vendor file holds only its vendor's chips.
	for _, e := range entries {
		cat := &Catalog{}
		data, _ := fs.ReadFile(embedded, path.Join("catalog", e.Name()))
		if err := cat.Merge(data); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for _, c := range cat.Chips {
			if c.Vendor+".yaml" != e.Name() {
				t.Errorf("%s: chip %s of vendor %s", e.Name(), c.ID, c.Vendor)
			}
		}
	}
}

// entries splits a catalog file into one small file per chip or node
// entry. The sources are left out: merged over the default catalog, the
// entry still validates.
func entries(data []byte) [][]byte {
	var out [][]byte
	section := ""
	var cur []string
	flush := func() {
		if len(cur) > 0 && section != "sources" {
			out = append(out, []byte(section+":\n"+strings.Join(cur, "\n")+"\n"))
		}
		cur = nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
			continue
		case !strings.HasPrefix(line, " "):
			flush()
			section = strings.TrimSuffix(strings.TrimSpace(line), ":")
			continue
		case strings.HasPrefix(line, "  - "):
			flush()
		}
		cur = append(cur, line)
	}
	flush()
	return out
}

// clone copies a catalog deeply enough for Merge, which replaces whole
// entries and never edits one.
func clone(base *Catalog) *Catalog {
	cat := &Catalog{Sources: map[string]Source{}}
	for k, v := range base.Sources {
		cat.Sources[k] = v
	}
	cat.Chips = append([]*Chip(nil), base.Chips...)
	cat.Nodes = append([]*Node(nil), base.Nodes...)
	return cat
}

// maxFuzzInput bounds what the fuzzer explores: every input it finds
// interesting is minimised first, which takes tens of seconds for a
// catalog entry of a few KB and minutes for a whole file, leaving a short
// run no time to fuzz. Every seed still runs whole in plain `go test`.
const maxFuzzInput = 1024

// FuzzMerge merges arbitrary bytes over the default catalog and validates:
// neither step may panic.
func FuzzMerge(f *testing.F) {
	for _, data := range embeddedFiles(f) {
		f.Add(data)
		// One seed per entry as well: small inputs mutate and minimise
		// far faster than whole files.
		for _, chunk := range entries(data) {
			f.Add(chunk)
		}
	}
	f.Add([]byte(minimal))
	f.Add([]byte("chips: [null]"))
	f.Add([]byte("chips:\n  - id: x\n    dense_tflops: {bf16: null}\n    memory_gb: null"))
	f.Add([]byte("nodes: [{id: n, chips_per_node: 1, scaleup_domain: 1, scaleup_gbps_per_dir: null}]"))
	base := Default()
	fuzzing := flag.Lookup("test.fuzz") != nil && flag.Lookup("test.fuzz").Value.String() != ""
	f.Fuzz(func(t *testing.T, data []byte) {
		if fuzzing && len(data) > maxFuzzInput {
			return
		}
		cat := clone(base)
		if err := cat.Merge(data); err != nil {
			return
		}
		if err := cat.Validate(); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate error %v is not a FieldError", err)
			}
			return
		}
		if err := (&Catalog{}).Merge(data); err != nil {
			t.Fatalf("merging into an empty catalog failed after merging into the default: %v", err)
		}
		for _, c := range cat.Chips {
			_, _ = c.Peak(BF16)
			_, _ = c.Memory(), c.MemoryBandwidth()
			_ = c.PrecisionNames()
			if _, err := cat.NodeOf(c); err != nil {
				t.Fatalf("valid catalog, but chip %s: %v", c.ID, err)
			}
		}
	})
}

func TestEntries(t *testing.T) {
	n := 0
	for _, data := range embeddedFiles(t) {
		for _, chunk := range entries(data) {
			part := &Catalog{}
			if err := part.Merge(chunk); err != nil {
				t.Fatalf("%v\n%s", err, chunk)
			}
			if len(part.Chips)+len(part.Nodes) != 1 {
				t.Fatalf("chunk holds %d chips and %d nodes:\n%s", len(part.Chips), len(part.Nodes), chunk)
			}
			cat := clone(Default())
			if err := cat.Merge(chunk); err != nil {
				t.Fatal(err)
			}
			if err := cat.Validate(); err != nil {
				t.Fatalf("%v\n%s", err, chunk)
			}
			n++
		}
	}
	if n != len(Default().Chips)+len(Default().Nodes) {
		t.Errorf("%d chunks for %d chips and %d nodes", n, len(Default().Chips), len(Default().Nodes))
	}
}

// TestChipNames: names as people write them resolve; near misses do not.
func TestChipNames(t *testing.T) {
	cat := Default()
	for name, want := range map[string]string{
		"H100":                "h100-sxm",
		"NVIDIA H100 SXM":     "h100-sxm", // vendor prefix, space
		"h100_sxm":            "h100-sxm", // underscore
		"Huawei Ascend 910C":  "ascend-910c",
		"AMD Instinct MI300X": "mi300x",
		"ascend910b4":         "ascend-910b4", // no hyphen
		"NVIDIA H100 PCIe":    "h100-pcie",
		"H100 NVL":            "h100-nvl",
	} {
		c, err := cat.Chip(name)
		if err != nil || c.ID != want {
			t.Errorf("Chip(%q) = %v, %v; want %s", name, c, err, want)
		}
	}
	for _, bad := range []string{"h1000", "nvidia", "ascend", "910"} {
		if c, err := cat.Chip(bad); err == nil {
			t.Errorf("Chip(%q) = %s, want an error", bad, c.ID)
		}
	}
}
