package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"ersatz/internal/fit"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
	"ersatz/internal/report"
)

// deployFlags are the flags that place a model on chips, shared by fit,
// predict and simulate.
type deployFlags struct {
	catalogs
	model, chip            string
	chips, tp, pp, ep, dp  int
	weights, kvCache, acts string
	context                int
	memUtil                float64
	vllm                   vllmFlags
	node                   string // predict and simulate: --node
}

func (d *deployFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.model, "model", "", "model: a catalog id (see ersatz models) or a path to a Hugging Face config.json")
	fs.StringVar(&d.chip, "chip", "", "accelerator id or alias (see ersatz chips)")
	fs.IntVar(&d.chips, "chips", 0, "chips (packages) in one instance; default tp×pp devices")
	fs.IntVar(&d.tp, "tp", 0, "tensor-parallel degree in devices (default: every device of --chips)")
	fs.IntVar(&d.pp, "pp", 1, "pipeline-parallel stages")
	fs.IntVar(&d.ep, "ep", 1, "expert-parallel width (MoE)")
	fs.IntVar(&d.dp, "dp", 1, "attention data-parallel degree inside the instance")
	fs.StringVar(&d.weights, "weights", "", "weight precision: bf16, fp16, fp8, int8, int4, fp4 (default: the checkpoint's, see docs/cli.md)")
	fs.StringVar(&d.acts, "activations", "", "activation precision (default: the weight precision; 16-bit under int4 and weight-only weights)")
	fs.StringVar(&d.kvCache, "kv-cache", "", "KV-cache precision (default: 16-bit, the engines' auto)")
	fs.IntVar(&d.context, "context", 0, "tokens per sequence (prompt + output) for the sequences-that-fit figure (default 8192, or the model's context if shorter)")
	fs.Float64Var(&d.memUtil, "memory-utilization", 0, "share of device memory the engine may use (default: the engine's, vLLM 0.9; vLLM --gpu-memory-utilization)")
	d.vllm.register(fs)
}

// resolved is a deployment after looking up its names.
type resolved struct {
	cat     *hardware.Catalog
	model   *model.Model
	chip    *hardware.Chip
	layout  fit.Layout
	weights hardware.Precision
	acts    hardware.Precision
	kv      hardware.Precision
	memUtil float64 // 0: the engine's
	context int
}

func (d *deployFlags) resolve(e *env) (*resolved, error) {
	if d.model == "" {
		return nil, usagef("--model is required")
	}
	if d.chip == "" {
		return nil, usagef("--chip is required")
	}
	cat, err := d.hardware(e)
	if err != nil {
		return nil, err
	}
	if strings.Contains(d.chip, ",") {
		return nil, usagef("--chip %s: this command takes one chip; ersatz plan --chip A,B compares several", d.chip)
	}
	chip, err := cat.Chip(d.chip)
	if err != nil {
		return nil, fmt.Errorf("--chip: %w", err)
	}
	m, err := resolveModel(d.model, "")
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	if d.node != "" {
		if cat, chip, err = onNode(cat, chip, d.node); err != nil {
			return nil, err
		}
	}
	r := &resolved{cat: cat, model: m, chip: chip}
	weights := d.weights
	if weights == "" {
		weights = string(m.CheckpointPrecision(chip))
	}
	if r.weights, err = precisionFlag("--weights", weights); err != nil {
		return nil, err
	}
	var acts, kv hardware.Precision
	if d.acts != "" {
		if acts, err = precisionFlag("--activations", d.acts); err != nil {
			return nil, err
		}
	}
	if k := kvDtype(d.kvCache); k != "" {
		if kv, err = precisionFlag("--kv-cache", k); err != nil {
			return nil, err
		}
	}
	// The defaults are perf's, which every command shares; the checks
	// here name the flag.
	a, k, perr := perf.Precisions(chip, r.weights, acts, kv)
	if perr == nil {
		acts, kv = a, k
	} else if acts == "" {
		acts = r.weights
	}
	if kv == "" {
		kv = perf.DefaultKV(chip)
	}
	r.acts, r.kv = acts, kv
	if err := checkPrecisions(chip, r.weights, r.acts, r.kv); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	dies := chip.EngineDevices()
	if d.pp < 1 {
		return nil, usagef("--pp %d: want a positive integer", d.pp)
	}
	tp, dp, ep := d.tp, d.dp, d.ep
	if v := d.vllm; v.dp > 0 || v.eep {
		if v.dp > 0 && !m.MoE() {
			return nil, usagef("--data-parallel-size %d: %s is dense, so vLLM runs %d independent copies; give --replicas (simulate) or --instances (predict)", v.dp, m.ID, v.dp)
		}
		if d.dp != 1 || d.ep != 1 {
			return nil, usagef("--data-parallel-size and --enable-expert-parallel are vLLM's spelling of --dp and --ep; give one spelling")
		}
		if v.dp > 0 {
			tp, dp = tp*v.dp, v.dp
		}
	}
	switch {
	case tp == 0 && d.chips == 0:
		return nil, usagef("--chips or --tp is required")
	case tp == 0:
		if d.chips*dies%d.pp != 0 {
			return nil, usagef("--pp %d: must divide the %d devices of %d × %s", d.pp, d.chips*dies, d.chips, chip.ID)
		}
		tp = d.chips * dies / d.pp
	case d.chips != 0 && d.chips*dies != tp*d.pp:
		return nil, usagef("--chips %d: %d × %s is %d devices (%d dies each), but tp %d × pp %d needs %d", d.chips, d.chips, chip.ID, d.chips*dies, dies, tp, d.pp, tp*d.pp)
	}
	if d.vllm.eep {
		ep = tp
	}
	r.layout = fit.Layout{TP: tp, PP: d.pp, EP: ep, DP: dp}
	if err := fit.CheckLayout(m, r.layout); err != nil {
		return nil, err
	}
	if d.context < 0 {
		return nil, usagef("--context %d: want a positive token count", d.context)
	}
	context, err := contextFor(m, d.context)
	if err != nil {
		return nil, err
	}
	if d.memUtil < 0 || d.memUtil > 1 {
		return nil, usagef("--memory-utilization %g: want a fraction in (0, 1]", d.memUtil)
	}
	r.memUtil, r.context = d.memUtil, context
	return r, nil
}

func precisionFlag(flag, v string) (hardware.Precision, error) {
	p, err := hardware.ParsePrecision(v)
	if err != nil {
		return "", usagef("%s: %v", flag, err)
	}
	return p, nil
}

// checkPrecisions refuses a precision the chip cannot compute or store.
// int4, and fp4 on a chip without fp4, are storage only: their matmuls run
// at the activation precision.
func checkPrecisions(c *hardware.Chip, w, a, kv hardware.Precision) error {
	runs := strings.Join(c.PrecisionNames(), ", ")
	if !model.WeightOnly(w, c) && !c.Runs(w) {
		return fmt.Errorf("--weights %s: %s has no %s compute (it runs %s)", w, c.ID, w, runs)
	}
	if !c.Runs(a) {
		return fmt.Errorf("--activations %s: %s has no %s compute (it runs %s)", a, c.ID, a, runs)
	}
	if kv != hardware.INT4 && !c.Runs(kv) && !(kv == hardware.BF16 && c.Runs(hardware.FP16)) {
		return fmt.Errorf("--kv-cache %s: %s has no %s support (it runs %s)", kv, c.ID, kv, runs)
	}
	return nil
}

func runFit(e *env, args []string) error {
	fs := newFlags(e, "fit", "--model M --chip C --chips N [--tp --pp --ep --dp] [--weights fp8] [--kv-cache fp8] [--context 8192] [--json]")
	var d deployFlags
	d.catalogs.register(fs)
	d.register(fs)
	engineName := fs.String("engine", "vllm", "serving engine whose memory rule and step budget size the KV cache: "+engineNames)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	engine, err := parseEngine(*engineName)
	if err != nil {
		return err
	}
	r, err := d.resolve(e)
	if err != nil {
		return err
	}
	// The account is the performance model's, so that fit, predict,
	// simulate and plan agree on the same deployment.
	in, err := r.instance(engine, nil, nil)
	if err != nil {
		return err
	}
	cp, err := in.Capacity(r.context)
	if err != nil {
		return err
	}
	res, opts := cp.Fit, in.FitOptions(r.context)
	out := fitOutput{Result: res, Weights: string(r.weights), KVCache: string(r.kv), opts: opts}
	if !res.Fits {
		if s, ok := fit.Smallest(r.model, in.FitChip(), opts); ok {
			out.Smallest = &s
		}
		out.Alternatives = alternatives(r, in.FitChip(), opts)
	}
	if *asJSON {
		if err := report.WriteJSON(e.stdout, out); err != nil {
			return err
		}
	} else if err := writeFit(e.stdout, r, out); err != nil {
		return err
	}
	if !res.Fits {
		return fmt.Errorf("%s does not fit on %d × %s", r.model.ID, res.Chips, r.chip.ID)
	}
	return nil
}

type fitOutput struct {
	fit.Result
	Weights      string        `json:"weights_precision"`
	KVCache      string        `json:"kv_cache_precision"`
	Smallest     *fit.Result   `json:"smallest,omitempty"`
	Alternatives []alternative `json:"alternatives,omitempty"`
	opts         fit.Options
}

// alternative is the smallest deployment at another weight precision.
type alternative struct {
	Weights string `json:"weights_precision"`
	Chips   int    `json:"chips"`
	Layout  string `json:"layout"`
}

// alternatives tries the narrower weight precisions the chip runs.
func alternatives(r *resolved, chip *hardware.Chip, opts fit.Options) []alternative {
	var out []alternative
	for _, p := range []hardware.Precision{hardware.FP8, hardware.INT8, hardware.INT4, hardware.FP4} {
		if p.Bytes() >= r.weights.Bytes() || (p != hardware.INT4 && !r.chip.Runs(p)) {
			continue
		}
		o := opts
		o.Weights = p
		if s, ok := fit.Smallest(r.model, chip, o); ok {
			out = append(out, alternative{string(p), s.Chips, s.Layout.String()})
		}
	}
	return out
}

func writeFit(w io.Writer, r *resolved, o fitOutput) error {
	res := o.Result
	var b strings.Builder
	devices := "devices"
	if res.Devices == 1 {
		devices = "device"
	}
	weights := o.Weights
	if r.acts != r.weights {
		weights += fmt.Sprintf(" (%s matmuls)", r.acts)
	}
	fmt.Fprintf(&b, "%s on %d × %s (%d %s, %s), weights %s, KV cache %s\n",
		r.model.ID, res.Chips, r.chip.ID, res.Devices, devices, res.Layout, weights, o.KVCache)
	t := &report.Table{Header: []string{"per device", "GB", ""}, Right: map[int]bool{1: true}}
	t.Add("memory", gb(float64(res.DeviceMemory)), fmt.Sprintf("%.0f GiB", res.DeviceMemory.GiB()))
	t.Add("usable", gb(float64(res.Usable)), fmt.Sprintf("%.0f%% (--memory-utilization)", o.opts.MemoryUtilization*100))
	t.Add("weights", gb(float64(res.Weights)), fmt.Sprintf("of %s GB in all", gb(float64(res.WeightsTotal))))
	t.Add("activations", gb(float64(res.Activations)), fmt.Sprintf("workspace for %d batched tokens (estimate)", o.opts.BatchTokens))
	t.Add("runtime", gb(float64(res.Runtime)), "graphs and communication buffers (estimate)")
	t.Add("KV cache free", gb(float64(res.KVFree)), "")
	if err := t.WriteText(&b); err != nil {
		return err
	}
	shard := "split across KV heads"
	if r.model.MLA() {
		shard = "MLA latent, held whole on every tensor-parallel device"
	} else if fit.KVShard(r.model, r.layout) < r.layout.AttnTP() {
		shard = "KV heads replicated: fewer KV heads than tensor-parallel devices"
	}
	fmt.Fprintf(&b, "KV per token:       %s B per device (%s)\n", report.Num(float64(res.KVPerToken), 4), shard)
	fmt.Fprintf(&b, "KV tokens:          %s per instance\n", report.Num(float64(res.KVTokens), 4))
	fmt.Fprintf(&b, "sequences @ %-6d  %s per instance\n", res.Context, report.Num(float64(res.Sequences), 4))
	if res.Fits {
		b.WriteString("fits: yes\n")
	} else {
		fmt.Fprintf(&b, "fits: no: %s\n", res.Reason)
		if s := o.Smallest; s != nil {
			fmt.Fprintf(&b, "smallest that fits at %s: %d × %s (%s), %s sequences of %d tokens\n",
				o.Weights, s.Chips, r.chip.ID, s.Layout, report.Num(float64(s.Sequences), 4), s.Context)
		} else {
			fmt.Fprintf(&b, "nothing up to %d × %s fits at %s\n", fit.MaxChips, r.chip.ID, o.Weights)
		}
		for _, a := range o.Alternatives {
			fmt.Fprintf(&b, "at %s weights: %d × %s (%s)\n", a.Weights, a.Chips, r.chip.ID, a.Layout)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func gb(bytes float64) string { return fmt.Sprintf("%.1f", bytes/1e9) }
