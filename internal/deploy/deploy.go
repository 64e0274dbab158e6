// Package deploy turns a plan into what an operator runs: each vendor's
// engine launch lines and Kubernetes manifests (a Deployment per pool, or
// a LeaderWorkerSet when an instance spans nodes, and a Service per pool).
//
// It does no I/O: Launch and Kubernetes return files as values and the
// caller writes them. Images, flags, device-plugin resources and node
// labels come from the vendors' public code and docs (docs/deploy.md
// names each source); a value no source gives is emitted as a placeholder
// that starts with REPLACE-ME and says why, and is listed in each file's
// header.
package deploy

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"ersatz/internal/hardware"
	"ersatz/internal/perf"
	"ersatz/internal/plan"
)

// Options say what to serve and how the plan's engine was modelled.
type Options struct {
	// Model is the checkpoint the engine loads (a Hugging Face repo id).
	Model string
	// Engine is the engine the plan modelled: "vllm" (each vendor's vLLM
	// build), "sglang" (NVIDIA, AMD, Ascend) or "mindie" (Ascend, one node
	// per instance, aggregated).
	Engine perf.Engine
	// Row is the plan's row in the plan table (1-based), for the headers.
	Row int
	// Name is the base name of the Kubernetes objects; empty derives it
	// from the model.
	Name      string
	Namespace string
	// MaxModelLen is --max-model-len.
	MaxModelLen int
	// Params are the engine defaults the plan assumed (max_num_seqs,
	// max_num_batched_tokens, memory utilisation); nil means the defaults.
	Params *perf.Params
	// MemoryUtilization, when positive, replaces the engine's default.
	MemoryUtilization float64
	// ModelCacheGiB sizes the model-cache volume claim.
	ModelCacheGiB int
}

// File is one emitted file.
type File struct {
	Name string
	Data []byte
}

// Port is the engine's HTTP port in every emitted launch.
const Port = 8000

// pool is one set of identical serving instances: the whole deployment
// when aggregated, the prefill or the decode pool when disaggregated.
type pool struct {
	role     string // "serve", "prefill" or "decode"
	name     string // object name
	chip     *hardware.Chip
	node     *hardware.Node
	stack    *stack
	layout   layout
	replicas int
	weights  string
	kv       string
	// perNode is the devices one node gives the engine; nodes the pods
	// per instance (1 unless the instance spans nodes).
	perNode, nodes int
	// other is the peer pool of a disaggregated plan.
	other *pool
}

// layout is an instance's parallel degrees in devices, as ersatz counts
// them: TP × PP devices, attention DP inside the TP group, EP experts.
type layout struct{ TP, PP, EP, DP int }

// maxDegree bounds a parallel degree, far above any plan's (64).
const maxDegree = 1 << 16

var layoutRE = regexp.MustCompile(`^tp(\d+) pp(\d+) ep(\d+) dp(\d+)$`)

// parseLayout reads a plan's layout ("tp8 pp1 ep8 dp1").
func parseLayout(s string) (layout, error) {
	m := layoutRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return layout{}, fmt.Errorf("layout %q: want \"tpN ppN epN dpN\"", s)
	}
	var v [4]int
	for i := range v {
		n, err := strconv.Atoi(m[i+1])
		if err != nil || n > maxDegree {
			return layout{}, fmt.Errorf("layout %q: degree %s: want at most %d", s, m[i+1], maxDegree)
		}
		v[i] = max(n, 1) // ep0 is a dense model: no expert parallelism
	}
	l := layout{TP: v[0], PP: v[1], EP: v[2], DP: v[3]}
	if l.TP%l.DP != 0 {
		return layout{}, fmt.Errorf("layout %q: dp %d does not divide tp %d", s, l.DP, l.TP)
	}
	return l, nil
}

func (l layout) devices() int { return l.TP * l.PP }

// pools splits a plan into its pools, checking each against the catalog.
func pools(p *plan.Plan, cat *hardware.Catalog, base string) ([]*pool, error) {
	mk := func(role, chipID, nodeID, lay, weights string, replicas int) (*pool, error) {
		c, err := cat.Chip(chipID)
		if err != nil {
			return nil, fmt.Errorf("%s pool: %w", role, err)
		}
		var n *hardware.Node
		if nodeID != "" {
			n, err = cat.Node(nodeID)
		} else {
			n, err = cat.NodeOf(c)
		}
		if err != nil {
			return nil, fmt.Errorf("%s pool: %w", role, err)
		}
		s, ok := stackFor(c.Vendor)
		if !ok {
			return nil, fmt.Errorf("%s pool: vendor %q of %s: no serving stack known", role, c.Vendor, c.ID)
		}
		l, err := parseLayout(lay)
		if err != nil {
			return nil, fmt.Errorf("%s pool: %w", role, err)
		}
		if replicas < 1 {
			return nil, fmt.Errorf("%s pool: replicas %d: want ≥ 1", role, replicas)
		}
		pl := &pool{role: role, name: base, chip: c, node: n, stack: s, layout: l, replicas: replicas, weights: weights, kv: p.KVCache}
		if role != "serve" {
			pl.name = base + "-" + role
		}
		pl.perNode = max(n.ChipsPerNode, 1) * c.EngineDevices()
		d := l.devices()
		pl.nodes = 1
		if d > pl.perNode {
			if d%pl.perNode != 0 {
				return nil, fmt.Errorf("%s pool: %d devices per instance do not fill whole %s nodes of %d devices", role, d, n.ID, pl.perNode)
			}
			pl.nodes = d / pl.perNode
		}
		return pl, nil
	}
	if p.Serving != plan.Disaggregated {
		pl, err := mk("serve", p.Chip, p.Node, p.Layout, p.Weights, p.Replicas)
		if err != nil {
			return nil, err
		}
		return []*pool{pl}, nil
	}
	preChip, preWeights, preNode := p.PrefillChip, p.PrefillWeights, ""
	if preChip == "" {
		preChip, preNode = p.Chip, p.Node
	}
	if preWeights == "" {
		preWeights = p.Weights
	}
	pre, err := mk("prefill", preChip, preNode, p.PrefillLayout, preWeights, p.PrefillReplicas)
	if err != nil {
		return nil, err
	}
	dec, err := mk("decode", p.Chip, p.Node, p.Layout, p.Weights, p.Replicas)
	if err != nil {
		return nil, err
	}
	pre.other, dec.other = dec, pre
	return []*pool{pre, dec}, nil
}

// pools are the plan's pools, checked against what the engine's launch
// can carry.
func (o *Options) pools(p *plan.Plan, cat *hardware.Catalog) ([]*pool, error) {
	ps, err := pools(p, cat, o.Name)
	if err == nil && o.Engine == "mindie" {
		err = mindieCheck(ps)
	}
	if err == nil && o.Engine == "sglang" {
		err = sglangCheck(ps)
	}
	return ps, err
}

var nameRE = regexp.MustCompile(`[^a-z0-9]+`)

// baseName is a DNS-1035 label from the model id: its last path part,
// lower-cased, other characters as '-'.
func baseName(model string) string {
	s := model
	if i := strings.LastIndex(s, "/"); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Trim(nameRE.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "m-" + s
	}
	return strings.TrimRight(s, "-")
}

// Validate checks the options that do not depend on the plan (the engine,
// the namespace, the name), so that a caller can refuse them before
// planning.
func (o Options) Validate() error {
	if o.Model == "" {
		o.Model = "m"
	}
	if o.Params == nil {
		o.Params = &perf.Params{} // not parsed: no defaults needed to validate
	}
	return o.check()
}

// check validates the options and fills defaults.
func (o *Options) check() error {
	if strings.TrimSpace(o.Model) == "" {
		return fmt.Errorf("model: empty; want a Hugging Face repo id")
	}
	switch o.Engine {
	case "", "vllm":
		o.Engine = "vllm"
	case "mindie", "sglang":
	default:
		return fmt.Errorf("engine %q: launches are emitted for vllm (each vendor's vLLM build), sglang (NVIDIA, AMD, Ascend) and mindie (Ascend); plan with --engine vllm", o.Engine)
	}
	if o.Params == nil {
		o.Params = perf.DefaultParams()
	}
	if o.MemoryUtilization < 0 || o.MemoryUtilization > 1 {
		return fmt.Errorf("memory utilization %g: want 0 < u ≤ 1", o.MemoryUtilization)
	}
	if o.MaxModelLen <= 0 {
		o.MaxModelLen = 8192
	}
	if o.ModelCacheGiB <= 0 {
		o.ModelCacheGiB = 1024
	}
	if o.Namespace != "" {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return fmt.Errorf("namespace %q: %s", o.Namespace, errs[0])
		}
	}
	if o.Name == "" {
		o.Name = baseName(o.Model)
	} else if n := baseName(o.Name); n != o.Name {
		return fmt.Errorf("name %q: want a DNS-1035 label such as %q", o.Name, n)
	}
	return nil
}

// batchDefaults are the engine's max_num_seqs and max_num_batched_tokens
// on a pool's chip, as the performance model takes them (perf.New), and
// the memory share it assumed (perf.Params.MemoryShare: SGLang's computed
// mem_fraction_static, the others' defaults).
func (o *Options) batchDefaults(pl *pool) (seqs, tokens int, util float64) {
	c := pl.chip
	e := o.Params.Engine(o.Engine)
	seqs, tokens = e.MaxSeqs, e.MaxBatchTokens
	util = o.Params.MemoryShare(o.Engine, c, pl.layout.TP, pl.layout.PP, pl.layout.EP > 1 && pl.layout.DP > 1)
	if sm := e.Small; sm != nil {
		small := c.MemoryGB != nil && c.MemoryGB.Known() && c.MemoryGB.Value/float64(c.EngineDevices()) < sm.BelowGiB
		for _, f := range sm.Families {
			small = small || strings.EqualFold(f, c.Family)
		}
		if small {
			seqs, tokens = sm.MaxSeqs, sm.MaxBatchTokens
		}
	}
	if o.MemoryUtilization > 0 {
		util = o.MemoryUtilization
	}
	return seqs, tokens, util
}

// MaxModelLen is the --max-model-len for a traffic: the mean request
// (prompt plus output) rounded up to a multiple of 1024, at least 8192
// tokens (the sequence length of ersatz's memory account).
func MaxModelLen(inputTokens, outputTokens float64) int {
	n := int(math.Ceil((inputTokens+outputTokens)/1024)) * 1024
	return max(n, 8192)
}

// describe is the one-line summary of a plan in the files' headers.
func describe(p *plan.Plan, o *Options) string {
	shape := fmt.Sprintf("%d × %s of %s", p.Replicas, p.Chip, p.Layout)
	if p.Serving == plan.Disaggregated {
		pre := p.PrefillChip
		if pre == "" {
			pre = p.Chip
		}
		shape = fmt.Sprintf("prefill %d × %s of %s, decode %d × %s of %s", p.PrefillReplicas, pre, p.PrefillLayout, p.Replicas, p.Chip, p.Layout)
	}
	row := ""
	if o.Row > 0 {
		row = fmt.Sprintf(" (row %d of the plan table)", o.Row)
	}
	return fmt.Sprintf("ersatz plan%s: %s, %s weights, %s serving; %d chips in %s", row, shape, p.Weights, p.Serving, p.ChipsTotal, plural(p.Nodes, "node"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
