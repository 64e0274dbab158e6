package deploy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"ersatz/internal/hardware"
	"ersatz/internal/plan"
)

// How an instance that spans nodes starts. vLLM documents two ways: data
// parallelism across nodes, each node running its own ranks with the
// others --headless (docs serving/data_parallel_deployment.md), and a Ray
// cluster that carries tensor and pipeline groups across nodes (docs
// deployment/frameworks/lws.md with examples/online_serving/
// multi-node-serving.sh, which the Ray lines here do the same as).
const (
	modeSingle = "single"
	modeDP     = "dp"
	modeRay    = "ray"

	dpRPCPort = 13345 // the port vLLM's data-parallel docs use
	rayPort   = 6379
)

// Role names of the pods of one instance.
const (
	roleSingle = "single"
	roleLeader = "leader"
	roleWorker = "worker"
)

// command is one container's start: shell lines, then the server.
type command struct {
	pre  []string // shell lines before the server
	argv []string // the server; empty for a Ray worker, which only joins
	exe  int      // how many of argv name the program (the rest are its arguments)
}

// shell says the command needs a shell (a prelude, expansions, Ray).
func (c command) shell() bool {
	if len(c.pre) > 0 || len(c.argv) == 0 {
		return true
	}
	for _, a := range c.argv {
		if strings.Contains(a, "$") {
			return true
		}
	}
	return false
}

// script is the command as one shell script, the server exec'd so that
// it gets the container's signals.
func (c command) script() string {
	if len(c.argv) == 0 {
		return multiline(c)
	}
	return multiline(command{pre: c.pre, argv: append([]string{"exec"}, c.argv...)})
}

// mode is how the pool's instances start.
func (pl *pool) mode() string {
	l := pl.layout
	attn := l.TP / l.DP
	switch {
	case pl.nodes == 1:
		return modeSingle
	case l.PP == 1 && l.DP > 1 && l.DP%pl.nodes == 0 && attn <= pl.perNode && pl.perNode%attn == 0:
		return modeDP
	}
	return modeRay
}

// note is a line of a file's header; placeholder marks a value to replace.
type note struct {
	text        string
	placeholder bool
}

// engineArgs are the server's command line for one pool, before the
// multi-node flags, with the notes they need.
func (o *Options) engineArgs(pl *pool) ([]string, []note) {
	s, l := pl.stack, pl.layout
	var notes []note
	argv := append([]string(nil), s.serve...)
	if s.modelFlag {
		argv = append(argv, "--model")
	}
	argv = append(argv, o.Model, "--port", strconv.Itoa(Port), "--tensor-parallel-size", strconv.Itoa(l.TP/l.DP))
	if l.PP > 1 {
		argv = append(argv, "--pipeline-parallel-size", strconv.Itoa(l.PP))
	}
	if l.DP > 1 {
		argv = append(argv, "--data-parallel-size", strconv.Itoa(l.DP))
	}
	if l.EP > 1 {
		// vLLM's expert-parallel group is the TP × DP ranks of the instance.
		argv = append(argv, "--enable-expert-parallel")
		if l.EP != l.TP {
			notes = append(notes, note{text: fmt.Sprintf("the plan's EP %d differs from the instance's %d ranks (vLLM's TP × DP), which vLLM uses as the expert-parallel width", l.EP, l.TP)})
		}
	}
	q, qnote, qph := s.quantization(pl.weights)
	argv = append(argv, q...)
	if qnote != "" {
		notes = append(notes, note{text: pl.role + " pool, " + pl.weights + " weights: " + qnote, placeholder: qph})
	}
	switch pl.kv {
	case "", "bf16", "fp16":
	case "fp8":
		if s.vendor == "nvidia" || s.vendor == "amd" {
			argv = append(argv, "--kv-cache-dtype", "fp8")
		} else {
			notes = append(notes, note{text: "REPLACE-ME: the plan stores the KV cache in fp8; no --kv-cache-dtype fp8 is documented for " + s.engine, placeholder: true})
		}
	default:
		notes = append(notes, note{text: "REPLACE-ME: the plan stores the KV cache in " + pl.kv + "; no flag is documented for it in " + s.engine, placeholder: true})
	}
	seqs, tokens, util := o.batchDefaults(pl)
	argv = append(argv, "--max-model-len", strconv.Itoa(o.MaxModelLen),
		"--gpu-memory-utilization", strconv.FormatFloat(util, 'g', -1, 64),
		"--max-num-seqs", strconv.Itoa(seqs), "--max-num-batched-tokens", strconv.Itoa(tokens))
	if pl.mode() != modeRay {
		argv = append(argv, s.extra...)
	}
	if pl.other != nil {
		cfg, n := kvTransfer(pl)
		argv = append(argv, "--kv-transfer-config", cfg)
		notes = append(notes, n...)
	}
	return argv, notes
}

// kvTransfer is the --kv-transfer-config of a P/D pool.
func kvTransfer(pl *pool) (string, []note) {
	s := pl.stack
	cfg := map[string]any{"kv_connector": s.kvConnector, "kv_role": "kv_both"}
	var notes []note
	if !s.kvKnown {
		cfg["kv_connector"] = "REPLACE-ME (no KV connector documented for " + s.engine + ")"
		notes = append(notes, note{text: "REPLACE-ME: " + s.engine + " documents no KV connector for prefill/decode disaggregation", placeholder: true})
	}
	pre, dec := pl, pl.other
	if pl.role == "decode" {
		pre, dec = pl.other, pl
	}
	if s.producerConsumer {
		// vllm-ascend tutorials/features/pd_disaggregation_mooncake_*.md
		cfg["kv_role"] = map[string]string{"prefill": "kv_producer", "decode": "kv_consumer"}[pl.role]
		cfg["kv_port"] = map[string]string{"prefill": "30000", "decode": "30100"}[pl.role]
		cfg["kv_connector_extra_config"] = map[string]any{
			"prefill": map[string]int{"dp_size": pre.layout.DP, "tp_size": pre.layout.TP / pre.layout.DP},
			"decode":  map[string]int{"dp_size": dec.layout.DP, "tp_size": dec.layout.TP / dec.layout.DP},
		}
	}
	if pl.other.stack != s {
		notes = append(notes, note{text: "REPLACE-ME: prefill on " + pre.stack.engine + " and decode on " + dec.stack.engine + " need a KV transfer between two vendors' engines, which no stack documents", placeholder: true})
	}
	b, _ := json.Marshal(cfg) // maps of strings and ints always marshal
	return string(b), notes
}

// commands are the starts of a pool's pods: one, or a leader and a worker.
func (o *Options) commands(pl *pool) (map[string]command, []note) {
	if o.Engine == "sglang" {
		return o.sglangCommands(pl)
	}
	argv, notes := o.engineArgs(pl)
	s := pl.stack
	exe := len(s.serve)
	var pre []string
	if s.prelude != "" {
		pre = append(pre, s.prelude)
	}
	switch pl.mode() {
	case modeSingle:
		return map[string]command{roleSingle: {pre: pre, argv: argv, exe: exe}}, notes
	case modeDP:
		local := pl.layout.DP / pl.nodes
		common := append(append([]string(nil), argv...), "--data-parallel-size-local", strconv.Itoa(local),
			"--data-parallel-address", "${LWS_LEADER_ADDRESS}", "--data-parallel-rpc-port", strconv.Itoa(dpRPCPort))
		worker := append(append([]string(nil), common...), "--headless", "--data-parallel-start-rank", fmt.Sprintf("$((LWS_WORKER_INDEX * %d))", local))
		return map[string]command{roleLeader: {pre: pre, argv: common, exe: exe}, roleWorker: {pre: pre, argv: worker, exe: exe}}, notes
	}
	argv = append(argv, "--distributed-executor-backend", "ray")
	if pl.layout.DP > 1 {
		argv = append(argv, "--data-parallel-backend", "ray")
	}
	leader := append(append([]string(nil), pre...),
		fmt.Sprintf("ray start --head --port=%d", rayPort),
		`until [ "$(python3 -c 'import ray; ray.init(address="auto"); print(sum(n["Alive"] for n in ray.nodes()))' 2>/dev/null)" = "${LWS_GROUP_SIZE}" ]; do sleep 5; done`)
	worker := append(append([]string(nil), pre...),
		fmt.Sprintf(`until ray start --address="${LWS_LEADER_ADDRESS}:%d" --block; do sleep 5; done`, rayPort))
	if s.vendor != "nvidia" && s.vendor != "amd" {
		notes = append(notes, note{text: s.engine + " documents no multi-node recipe here; these Ray lines follow vLLM's LWS recipe"})
	}
	return map[string]command{roleLeader: {pre: leader, argv: argv, exe: exe}, roleWorker: {pre: worker}}, notes
}

var plainArg = regexp.MustCompile(`^[A-Za-z0-9_./:=,@%+-]+$`)

// shellJoin quotes arguments for a POSIX shell; an argument holding an
// expansion ersatz wrote ($VAR, $((…))) stays double-quoted so it expands.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		switch {
		case plainArg.MatchString(a):
			out[i] = a
		case strings.HasPrefix(a, "$"):
			out[i] = `"` + a + `"`
		default:
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// poolNotes are the header notes of a pool: placeholders for its image,
// resource and node labels, and what its launch needs.
func (o *Options) poolNotes(pl *pool) []note {
	var notes []note
	if img, ph := o.image(pl); ph && o.Engine != "mindie" {
		notes = append(notes, note{text: "image: " + img, placeholder: true})
	}
	if r, ph := pl.stack.resource(pl.chip); ph {
		notes = append(notes, note{text: "device resource " + r + ": no device-plugin resource documented for " + pl.chip.ID, placeholder: true})
	}
	labels := pl.stack.nodeLabels(pl.chip, pl.node)
	for _, lb := range labels {
		if lb.placeholder {
			notes = append(notes, note{text: fmt.Sprintf("node label %s=%s: set it to your %s nodes' value (kubectl get nodes -L %s)", lb.key, lb.value, pl.chip.ID, lb.key), placeholder: true})
		} else if lb.key == "nvidia.com/gpu.product" || lb.key == "amd.com/gpu.product-name" {
			notes = append(notes, note{text: fmt.Sprintf("node label %s=%s is the product name as published manifests show it; the labeller reports the SKU's own (kubectl get nodes -L %s)", lb.key, lb.value, lb.key)})
		}
	}
	if len(labels) == 0 {
		notes = append(notes, note{text: pl.stack.vendor + " publishes no chip-model node label; the device resource alone selects its nodes"})
	}
	if pl.stack.note != "" && o.Engine == "vllm" {
		notes = append(notes, note{text: pl.stack.note})
	}
	if chips := pl.layout.devices() / pl.chip.EngineDevices(); pl.nodes > 1 && pl.node.ScaleUpDomain >= chips {
		// The plan's step model put the instance's collectives on the
		// scale-up fabric (NVL72, CloudMatrix384), which holds only when
		// its pods land in one domain.
		notes = append(notes, note{text: fmt.Sprintf("%s pool: each instance spans %s inside one %s scale-up domain (%d chips), as the plan assumed; schedule each group into one domain (topology labels or, on NVL72 racks, NVIDIA's DRA ComputeDomain), which these manifests do not do",
			pl.role, plural(pl.nodes, "node"), pl.node.ID, pl.node.ScaleUpDomain)})
	}
	if pl.nodes > 1 {
		for _, e := range pl.stack.multiNodeEnv {
			if e.value == "eth0" {
				notes = append(notes, note{text: e.name + "=eth0: set it to the pod network interface of your nodes", placeholder: true})
			}
		}
	}
	return notes
}

// Launch returns the engine launch lines of a plan as one shell script,
// launch.sh, that takes the role of the node it runs on: the pool, and
// for an instance across nodes whether the node leads it or works in it.
func Launch(p *plan.Plan, cat *hardware.Catalog, o Options) ([]File, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	ps, err := o.pools(p, cat)
	if err != nil {
		return nil, err
	}
	var b, cases strings.Builder
	var roles []string
	for _, pl := range ps {
		if o.Engine == "mindie" {
			res, _ := pl.stack.resource(pl.chip)
			fmt.Fprintf(&cases, "# %s pool %q: %s of %s on %s (%s), MindIE on %d × %s\n%s)\n%s",
				pl.role, pl.name, plural(pl.replicas, "instance"), layoutString(pl.layout), pl.chip.ID, pl.node.ID, pl.layout.devices(), res, pl.role, o.mindieLaunch(pl))
			roles = append(roles, pl.role)
			continue
		}
		cmds, _ := o.commands(pl)
		img, _ := o.image(pl)
		res, _ := pl.stack.resource(pl.chip)
		fmt.Fprintf(&cases, "\n# %s pool %q: %s of %s on %s (%s), %s each on %s; %s in %s; %d × %s per node\n",
			pl.role, pl.name, plural(pl.replicas, "instance"), layoutString(pl.layout), pl.chip.ID, pl.node.ID,
			plural(pl.layout.devices(), "device"), plural(pl.nodes, "node"), o.engineLabel(pl), img, min(pl.layout.devices(), pl.perNode), res)
		for _, role := range []string{roleSingle, roleLeader, roleWorker} {
			c, ok := cmds[role]
			if !ok {
				continue
			}
			name := pl.role
			switch role {
			case roleLeader:
				name += "-leader"
				fmt.Fprintf(&cases, "# node 0 of each instance of %d nodes\n", pl.nodes)
			case roleWorker:
				name += "-worker"
				cases.WriteString("# nodes 1.. of each instance: LWS_LEADER_ADDRESS is node 0's address, LWS_WORKER_INDEX this node's index\n")
			}
			roles = append(roles, name)
			fmt.Fprintf(&cases, "%s)\n", name)
			for _, e := range o.launchEnv(pl) {
				fmt.Fprintf(&cases, "  export %s\n", e)
			}
			if pl.nodes > 1 {
				fmt.Fprintf(&cases, "  export LWS_GROUP_SIZE=%d LWS_LEADER_ADDRESS=\"${LWS_LEADER_ADDRESS:?set it to the address of node 0}\" LWS_WORKER_INDEX=\"${LWS_WORKER_INDEX:-0}\"\n", pl.nodes)
			}
			cases.WriteString(indent(c.script(), "  ") + "\n  ;;\n")
		}
	}
	b.WriteString("#!/usr/bin/env bash\n")
	fmt.Fprintf(&b, "# %s\n# model %s, engine %s; generated by ersatz.\n", describe(p, &o), o.Model, ps[0].stack.engineName(&o))
	writeNotes(&b, headerNotes(o, ps))
	fmt.Fprintf(&b, "# Run it on every node of every instance with that node's role: launch.sh ROLE\nset -euo pipefail\ncase \"${1:-}\" in\n")
	b.WriteString(strings.TrimPrefix(cases.String(), "\n"))
	fmt.Fprintf(&b, "*)\n  echo \"usage: $0 %s\" >&2\n  exit 2\n  ;;\nesac\n", strings.Join(roles, "|"))
	return []File{{Name: "launch.sh", Data: []byte(b.String())}}, nil
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

// launchEnv is a pool's environment as shell assignments.
func (o *Options) launchEnv(pl *pool) []string {
	var out []string
	for _, e := range o.envVars(pl) {
		v := shellJoin([]string{e.value})
		if e.fromPodIP {
			v = "${POD_IP:?set it to the address of this node}"
		}
		out = append(out, e.name+"="+v)
	}
	return out
}

// multiline renders a command with one flag per line.
func multiline(c command) string {
	var lines []string
	lines = append(lines, c.pre...)
	if len(c.argv) > 0 {
		var parts []string
		cur := ""
		for _, a := range strings.Split(shellJoin(c.argv), " ") {
			if strings.HasPrefix(a, "--") && cur != "" {
				parts = append(parts, cur)
				cur = a
				continue
			}
			if cur != "" {
				cur += " "
			}
			cur += a
		}
		parts = append(parts, cur)
		lines = append(lines, strings.Join(parts, " \\\n  "))
	}
	return strings.Join(lines, "\n")
}

// envVars are the stack's variables for the engine, with its multi-node
// ones when an instance spans nodes; vLLM's own (VLLM_*) only for vLLM.
func (o *Options) envVars(pl *pool) []envVar {
	var vars []envVar
	if o.Engine == "vllm" {
		vars = append(vars, pl.stack.env...)
	}
	if pl.nodes > 1 {
		vars = append(vars, pl.stack.multiNodeEnv...)
	}
	return vars
}

func layoutString(l layout) string {
	return fmt.Sprintf("tp%d pp%d ep%d dp%d", l.TP, l.PP, l.EP, l.DP)
}

// headerNotes are every pool's notes, deduplicated, placeholders first.
func headerNotes(o Options, ps []*pool) []note {
	var all []note
	for _, pl := range ps {
		var n []note
		if o.Engine == "mindie" {
			_, n = o.mindieConfig(pl)
		} else {
			_, n = o.commands(pl)
		}
		all = append(all, o.poolNotes(pl)...)
		all = append(all, n...)
	}
	if len(ps) > 1 {
		router := "llm-d's inference scheduler, or vLLM's toy proxy tests/v1/kv_connector/nixl_integration/toy_proxy_server.py"
		if o.Engine == "sglang" {
			router = "SGLang's router: python -m sglang_router.launch_router --pd-disaggregation"
		}
		all = append(all, note{text: fmt.Sprintf("a prefill/decode-aware router must front the %s and %s Services (%s); ersatz emits none", ps[0].name, ps[1].name, router)})
	}
	seen := map[string]bool{}
	var ph, rest []note
	for _, n := range all {
		if seen[n.text] {
			continue
		}
		seen[n.text] = true
		if n.placeholder {
			ph = append(ph, n)
		} else {
			rest = append(rest, n)
		}
	}
	return append(ph, rest...)
}

func writeNotes(b *strings.Builder, notes []note) {
	for _, n := range notes {
		mark := "note"
		if n.placeholder {
			mark = "PLACEHOLDER"
		}
		fmt.Fprintf(b, "# %s: %s\n", mark, n.text)
	}
}
