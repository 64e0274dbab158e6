package deploy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"ersatz/internal/hardware"
	"ersatz/internal/perf"
	"ersatz/internal/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The embedded catalog and parameters, parsed once for every test.
var (
	catalog = sync.OnceValue(hardware.Default)
	params  = sync.OnceValue(perf.DefaultParams)
)

// cases are one plan per vendor, built by hand (no search runs), with a
// multi-node instance (LeaderWorkerSet) and disaggregated pools among them.
var cases = []struct {
	name   string
	model  string
	plan   plan.Plan
	engine perf.Engine
}{
	// 8 H200 in one HGX node: one Deployment of 2 replicas, fp8 weights.
	{"nvidia", "deepseek-ai/DeepSeek-R1", plan.Plan{Chip: "h200-sxm", Vendor: "nvidia", Node: "hgx-h200-8", Serving: "aggregated",
		Weights: "fp8", KVCache: "bf16", Layout: "tp8 pp1 ep8 dp1", Devices: 8, Replicas: 2, ChipsTotal: 16, Nodes: 2}, ""},
	// Four MI300X per instance, three instances.
	{"amd", "meta-llama/Llama-3.1-70B-Instruct", plan.Plan{Chip: "mi300x", Vendor: "amd", Node: "oam-mi300x-8", Serving: "aggregated",
		Weights: "bf16", KVCache: "fp8", Layout: "tp4 pp1 ep1 dp1", Devices: 4, Replicas: 3, ChipsTotal: 12, Nodes: 2}, ""},
	// 910C: 8 packages = 16 NPUs per Atlas 800 A3; tp32 dp32 is 2 nodes,
	// data parallel across them: a LeaderWorkerSet of size 2.
	{"ascend", "deepseek-ai/DeepSeek-R1", plan.Plan{Chip: "ascend-910c", Vendor: "huawei", Node: "atlas-800-a3", Serving: "aggregated",
		Weights: "int8", KVCache: "bf16", Layout: "tp32 pp1 ep32 dp32", Devices: 32, Replicas: 1, ChipsTotal: 16, Nodes: 2}, ""},
	{"cambricon", "Qwen/Qwen3-32B", plan.Plan{Chip: "mlu590", Vendor: "cambricon", Node: "mlu590-server-8", Serving: "aggregated",
		Weights: "int8", KVCache: "bf16", Layout: "tp4 pp1 ep1 dp1", Devices: 4, Replicas: 2, ChipsTotal: 8, Nodes: 1}, ""},
	{"kunlunxin", "Qwen/Qwen3-32B", plan.Plan{Chip: "p800", Vendor: "kunlunxin", Node: "p800-server-8", Serving: "aggregated",
		Weights: "bf16", KVCache: "bf16", Layout: "tp8 pp1 ep1 dp1", Devices: 8, Replicas: 1, ChipsTotal: 8, Nodes: 1}, ""},
	// tp8 pp2 on 8-card servers: the pipeline crosses nodes, so Ray.
	{"hygon", "meta-llama/Llama-3.1-405B-Instruct", plan.Plan{Chip: "k100-ai", Vendor: "hygon", Node: "hygon-server-8", Serving: "aggregated",
		Weights: "bf16", KVCache: "bf16", Layout: "tp8 pp2 ep1 dp1", Devices: 16, Replicas: 1, ChipsTotal: 16, Nodes: 2}, ""},
	// H20 prefill pool of 3 × tp8 and a decode pool of 2 × tp16 dp16 ep16
	// (two nodes each): Deployment + LeaderWorkerSet, NixlConnector.
	{"nvidia-disagg", "deepseek-ai/DeepSeek-R1", plan.Plan{Chip: "h20", Vendor: "nvidia", Node: "hgx-h20-8", Serving: "disaggregated",
		Weights: "fp8", KVCache: "fp8", Layout: "tp16 pp1 ep16 dp16", Devices: 16, Replicas: 2,
		PrefillLayout: "tp8 pp1 ep8 dp1", PrefillReplicas: 3, ChipsTotal: 56, Nodes: 7}, ""},
	// Ascend P/D with MooncakeConnectorV1 producer and consumer roles.
	{"ascend-disagg", "deepseek-ai/DeepSeek-R1", plan.Plan{Chip: "ascend-910b3", Vendor: "huawei", Node: "atlas-800-a2", Serving: "disaggregated",
		Weights: "int8", KVCache: "bf16", Layout: "tp16 pp1 ep16 dp16", Devices: 16, Replicas: 1,
		PrefillLayout: "tp16 pp1 ep16 dp2", PrefillReplicas: 2, ChipsTotal: 48, Nodes: 6}, ""},
	// Prefill on 910B3, decode on 910B4 (a cross-chip plan): each pool on
	// its own chip's nodes and image.
	{"ascend-cross", "deepseek-ai/DeepSeek-R1", plan.Plan{Chip: "ascend-910b4", Vendor: "huawei", Node: "atlas-800-a2", Serving: "disaggregated",
		Weights: "int8", KVCache: "bf16", Layout: "tp64 pp1 ep64 dp64", Devices: 64, Replicas: 1, PrefillChip: "ascend-910b3", PrefillWeights: "int8",
		PrefillLayout: "tp16 pp1 ep16 dp16", PrefillReplicas: 1, ChipsTotal: 80, Nodes: 10}, ""},
	// SGLang: 16 H100 across two nodes with DP attention (--nnodes), and a
	// disaggregated 910C plan (--disaggregation-mode, the ascend backend).
	{"nvidia-sglang", "deepseek-ai/DeepSeek-R1", plan.Plan{Chip: "h100-sxm", Vendor: "nvidia", Node: "hgx-h100-8", Serving: "aggregated",
		Weights: "fp8", KVCache: "fp8", Layout: "tp16 pp1 ep16 dp16", Devices: 16, Replicas: 1, ChipsTotal: 16, Nodes: 2}, "sglang"},
	{"ascend-sglang-disagg", "deepseek-ai/DeepSeek-R1", plan.Plan{Chip: "ascend-910c", Vendor: "huawei", Node: "atlas-800-a3", Serving: "disaggregated",
		Weights: "int8", KVCache: "bf16", Layout: "tp32 pp1 ep32 dp32", Devices: 32, Replicas: 1,
		PrefillLayout: "tp16 pp1 ep16 dp1", PrefillReplicas: 2, ChipsTotal: 32, Nodes: 4}, "sglang"},
	// MindIE on one Atlas 800 A2 node: config.json in a ConfigMap.
	{"ascend-mindie", "Qwen/Qwen3-32B", plan.Plan{Chip: "ascend-910b2", Vendor: "huawei", Node: "atlas-800-a2", Serving: "aggregated",
		Weights: "int8", KVCache: "bf16", Layout: "tp4 pp1 ep1 dp1", Devices: 4, Replicas: 2, ChipsTotal: 8, Nodes: 1}, "mindie"},
}

// emitted holds every case's files, rendered once for all the tests.
var emitted = sync.OnceValues(func() ([][]File, error) {
	out := make([][]File, len(cases))
	for i, c := range cases {
		o := Options{Model: c.model, Engine: c.engine, Row: 1, MaxModelLen: MaxModelLen(1155, 211), ModelCacheGiB: 1500, Params: params()}
		k, err := Kubernetes(&c.plan, catalog(), o)
		if err != nil {
			return nil, fmt.Errorf("%s: Kubernetes: %w", c.name, err)
		}
		l, err := Launch(&c.plan, catalog(), o)
		if err != nil {
			return nil, fmt.Errorf("%s: Launch: %w", c.name, err)
		}
		out[i] = append(k, l...)
	}
	return out, nil
})

// asJSON caches each manifest's JSON form: sigs.k8s.io/yaml decodes by
// converting YAML to JSON, the slow half, which the tests would repeat.
var asJSON sync.Map // file contents → []byte

// decode is yaml.Unmarshal (or UnmarshalStrict: an unknown field is an
// error) of a manifest into v.
func decode(f File, v any, strict bool) error {
	j, ok := asJSON.Load(string(f.Data))
	if !ok {
		b, err := yaml.YAMLToJSON(f.Data)
		if err != nil {
			return err
		}
		j, _ = asJSON.LoadOrStore(string(f.Data), b)
	}
	d := json.NewDecoder(bytes.NewReader(j.([]byte)))
	if strict {
		d.DisallowUnknownFields()
	}
	return d.Decode(v)
}

func emitCase(t *testing.T, i int) []File {
	t.Helper()
	all, err := emitted()
	if err != nil {
		t.Fatal(err)
	}
	return all[i]
}

func TestGolden(t *testing.T) {
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := emitCase(t, i)
			dir := filepath.Join("testdata", c.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			var names []string
			for _, f := range files {
				names = append(names, f.Name)
				path := filepath.Join(dir, f.Name)
				if *update {
					if err := os.WriteFile(path, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if !bytes.Equal(f.Data, want) {
					t.Errorf("%s differs from the golden file (go test ./internal/deploy -update to accept):\n%s", path, f.Data)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(files) {
				t.Errorf("%s holds %d files, emitted %d (%v)", dir, len(entries), len(files), names)
			}
		})
	}
}

// TestDecode decodes every emitted manifest strictly (an unknown field is
// an error) into the Kubernetes API types, and LeaderWorkerSet into its
// mirrored v1 types, then checks that it says what the plan says.
func TestDecode(t *testing.T) {
	known := map[string]bool{"nvidia.com/gpu": true, "amd.com/gpu": true, "huawei.com/Ascend910": true, "huawei.com/Ascend310P": true,
		"cambricon.com/mlu": true, "kunlunxin.com/xpu": true, "hygon.com/dcu": true}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var pods []map[string]string // pod labels of every template
			var services []*corev1.Service
			devices := map[string]int{} // pool name → devices per instance, summed over its pods
			kinds := map[string]int{}
			for _, f := range emitCase(t, i) {
				if !strings.HasSuffix(f.Name, ".yaml") {
					continue
				}
				var tm struct{ Kind string }
				if err := decode(f, &tm, false); err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				kinds[tm.Kind]++
				strict := func(v any) {
					if err := decode(f, v, true); err != nil {
						t.Fatalf("%s: decoding into %T: %v", f.Name, v, err)
					}
					back, err := yaml.Marshal(v)
					if err != nil {
						t.Fatal(err)
					}
					if body := f.Data[bytes.Index(f.Data, []byte("\napiVersion"))+1:]; !bytes.Equal(back, body) {
						t.Errorf("%s: does not survive a round trip through %T:\n%s", f.Name, v, back)
					}
				}
				countDevices := func(name string, spec corev1.PodSpec, pods int) {
					for r, q := range spec.Containers[0].Resources.Limits {
						if !known[string(r)] {
							t.Errorf("%s: resource %s is not a known device-plugin resource", f.Name, r)
						}
						devices[name] += int(q.Value()) * pods
					}
				}
				switch tm.Kind {
				case "Deployment":
					var d appsv1.Deployment
					strict(&d)
					if !matches(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
						t.Errorf("%s: selector %v does not select its pods %v", f.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
					}
					pods = append(pods, d.Spec.Template.Labels)
					countDevices(d.Name, d.Spec.Template.Spec, 1)
				case "LeaderWorkerSet":
					var l LeaderWorkerSet
					strict(&l)
					lt := l.Spec.LeaderWorkerTemplate
					if lt.LeaderTemplate == nil || lt.Size == nil || *lt.Size < 2 {
						t.Fatalf("%s: want a leader template and size ≥ 2", f.Name)
					}
					// LWS labels every pod with the set's name.
					lead := map[string]string{lwsSetName: l.Name}
					for k, v := range lt.LeaderTemplate.Labels {
						lead[k] = v
					}
					pods = append(pods, lead)
					countDevices(l.Name, lt.LeaderTemplate.Spec, 1)
					countDevices(l.Name, lt.WorkerTemplate.Spec, int(*lt.Size)-1)
				case "Service":
					var s corev1.Service
					strict(&s)
					services = append(services, &s)
				case "PersistentVolumeClaim":
					var p corev1.PersistentVolumeClaim
					strict(&p)
				case "ConfigMap":
					var cm corev1.ConfigMap
					strict(&cm)
					var cfg map[string]any
					if err := json.Unmarshal([]byte(cm.Data["config.json"]), &cfg); err != nil || cfg["BackendConfig"] == nil {
						t.Errorf("%s: config.json is not MindIE's config (%v)", f.Name, err)
					}
				default:
					t.Errorf("%s: unexpected kind %q", f.Name, tm.Kind)
				}
			}
			for _, s := range services {
				n := 0
				for _, p := range pods {
					if matches(s.Spec.Selector, p) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("service %s selects %d pod templates, want 1 (the serving pods)", s.Name, n)
				}
			}
			// Each pool's pods together hold one instance's devices.
			p := c.plan
			want := map[string]int{}
			l, _ := parseLayout(p.Layout)
			if p.Serving == "disaggregated" {
				pl, _ := parseLayout(p.PrefillLayout)
				want[baseName(c.model)+"-prefill"], want[baseName(c.model)+"-decode"] = pl.devices(), l.devices()
			} else {
				want[baseName(c.model)] = l.devices()
			}
			if !equalCounts(devices, want) {
				t.Errorf("devices per instance = %v, want %v", devices, want)
			}
			if kinds["Service"] != len(want) || kinds["PersistentVolumeClaim"] != 1 {
				t.Errorf("kinds = %v, want a Service per pool and one claim", kinds)
			}
		})
	}
}

func matches(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// vllmFlags are the flags of `vllm serve` that ersatz emits, as
// vllm/engine/arg_utils.py (EngineArgs.add_cli_args, vLLM main at
// 99d7eb5) and vllm/entrypoints/openai/cli_args.py (--port) and
// entrypoints/cli/serve.py (--headless) define them; rayFlags those of
// `ray start`.
var (
	vllmFlags = []string{"--port", "--model", "--tensor-parallel-size", "--pipeline-parallel-size", "--data-parallel-size",
		"--data-parallel-size-local", "--data-parallel-address", "--data-parallel-rpc-port", "--data-parallel-start-rank",
		"--data-parallel-backend", "--headless", "--enable-expert-parallel", "--quantization", "--dtype", "--kv-cache-dtype",
		"--max-model-len", "--gpu-memory-utilization", "--max-num-seqs", "--max-num-batched-tokens",
		"--distributed-executor-backend", "--kv-transfer-config"}
	rayFlags = []string{"--head", "--port", "--address", "--block"}
	// sglangFlags are fields of SGLang's ServerArgs
	// (python/sglang/srt/server_args.py), a field's flag being its name
	// with dashes.
	sglangFlags = []string{"--model-path", "--host", "--port", "--tp-size", "--pp-size", "--dp-size", "--enable-dp-attention", "--ep-size",
		"--device", "--attention-backend", "--dtype", "--quantization", "--kv-cache-dtype", "--context-length", "--mem-fraction-static",
		"--max-running-requests", "--chunked-prefill-size", "--nnodes", "--node-rank", "--dist-init-addr",
		"--disaggregation-mode", "--disaggregation-transfer-backend"}
)

var flagRE = regexp.MustCompile(`(?:^|\s)(--[a-z0-9-]+)`)

// TestLaunchFlags checks that every flag in every launch line is one the
// engine (or ray start) defines.
func TestLaunchFlags(t *testing.T) {
	set := func(lists ...[]string) map[string]bool {
		m := map[string]bool{}
		for _, l := range lists {
			for _, f := range l {
				m[f] = true
			}
		}
		return m
	}
	allowed := map[perf.Engine]map[string]bool{"": set(vllmFlags, rayFlags), "sglang": set(sglangFlags), "mindie": {}}
	used := map[perf.Engine]map[string]bool{"": {}, "sglang": {}, "mindie": {}}
	for i, c := range cases {
		for _, f := range emitCase(t, i) {
			if f.Name != "launch.sh" {
				continue
			}
			for _, line := range strings.Split(string(f.Data), "\n") {
				if strings.HasPrefix(line, "#") {
					continue
				}
				for _, m := range flagRE.FindAllStringSubmatch(line, -1) {
					used[c.engine][m[1]] = true
					if !allowed[c.engine][m[1]] {
						t.Errorf("%s: launch flag %s is not one of the engine's (%q) flags", c.name, m[1], c.engine)
					}
				}
			}
		}
	}
	// The cases exercise the flags the issue names.
	for _, f := range []string{"--tensor-parallel-size", "--pipeline-parallel-size", "--data-parallel-size", "--enable-expert-parallel",
		"--quantization", "--kv-cache-dtype", "--max-model-len", "--gpu-memory-utilization", "--max-num-seqs", "--max-num-batched-tokens",
		"--kv-transfer-config", "--headless"} {
		if !used[""][f] {
			t.Errorf("no vLLM case emits %s", f)
		}
	}
	for _, f := range []string{"--tp-size", "--dp-size", "--ep-size", "--nnodes", "--disaggregation-mode"} {
		if !used["sglang"][f] {
			t.Errorf("no SGLang case emits %s", f)
		}
	}
}

func TestParseLayout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want layout
		err  bool
	}{
		{"tp8 pp1 ep8 dp1", layout{8, 1, 8, 1}, false},
		{"tp32 pp1 ep32 dp32", layout{32, 1, 32, 32}, false},
		{"tp8 pp2 ep0 dp1", layout{8, 2, 1, 1}, false}, // ep0 (dense) reads as 1
		{"tp8 pp1 ep8 dp3", layout{}, true},            // 3 does not divide 8
		{"tp8", layout{}, true},
	} {
		got, err := parseLayout(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseLayout(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestErrors(t *testing.T) {
	p := cases[0].plan
	for _, tc := range []struct {
		name string
		edit func(*plan.Plan, *Options)
		want string
	}{
		{"no model", func(p *plan.Plan, o *Options) { o.Model = "" }, "model: empty"},
		{"trtllm", func(p *plan.Plan, o *Options) { o.Engine = "trtllm" }, `engine "trtllm"`},
		{"bad name", func(p *plan.Plan, o *Options) { o.Name = "My_Model" }, `name "My_Model"`},
		{"bad namespace", func(p *plan.Plan, o *Options) { o.Namespace = "LLM serving" }, `namespace "LLM serving"`},
		{"unknown chip", func(p *plan.Plan, o *Options) { p.Chip = "x999" }, "x999"},
		// 12 devices do not fill whole 8-GPU nodes.
		{"partial node", func(p *plan.Plan, o *Options) { p.Layout = "tp4 pp3 ep1 dp1" }, "do not fill whole"},
		{"mindie on nvidia", func(p *plan.Plan, o *Options) { o.Engine = "mindie" }, "MindIE serves Ascend only"},
		{"sglang on kunlunxin", func(p *plan.Plan, o *Options) {
			o.Engine, p.Chip, p.Node = "sglang", "p800", "p800-server-8"
		}, "SGLang ships no build"},
		{"mindie across nodes", func(p *plan.Plan, o *Options) {
			o.Engine, p.Chip, p.Node, p.Layout = "mindie", "ascend-910b2", "atlas-800-a2", "tp16 pp1 ep1 dp1"
		}, "needs a rank table"},
	} {
		pc, o := p, Options{Model: "m/x", Params: params()}
		tc.edit(&pc, &o)
		_, err := Kubernetes(&pc, catalog(), o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{
		"deepseek-ai/DeepSeek-R1":           "deepseek-r1",
		"meta-llama/Llama-3.1-70B-Instruct": "llama-3-1-70b-instruct",
		"./configs/7b/config.json":          "config-json",
		"Qwen/2.5":                          "m-2-5",
	} {
		if got := baseName(in); got != want {
			t.Errorf("baseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"vllm", "serve", `{"a":"b"}`, "it's", "${LWS_LEADER_ADDRESS}"})
	want := `vllm serve '{"a":"b"}' 'it'\''s' "${LWS_LEADER_ADDRESS}"`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}

// TestLaunchParses runs bash -n on every launch script: quoting mistakes
// (a quote inside ${VAR:?message}) fail here.
func TestLaunchParses(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on PATH to parse the launch scripts")
	}
	for i, c := range cases {
		for _, f := range emitCase(t, i) {
			if f.Name != "launch.sh" {
				continue
			}
			cmd := exec.Command(bash, "-n")
			cmd.Stdin = bytes.NewReader(f.Data)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: bash -n: %v\n%s", c.name, err, out)
			}
		}
	}
}

// TestNamesValid checks names, labels and resource names against the API
// server's own validation rules.
func TestNamesValid(t *testing.T) {
	for i := range cases {
		for _, f := range emitCase(t, i) {
			if !strings.HasSuffix(f.Name, ".yaml") {
				continue
			}
			var obj struct {
				Metadata struct {
					Name   string            `json:"name"`
					Labels map[string]string `json:"labels"`
				} `json:"metadata"`
			}
			if err := decode(f, &obj, false); err != nil {
				t.Fatal(err)
			}
			for _, msg := range validation.IsDNS1035Label(obj.Metadata.Name) {
				t.Errorf("%s: name %q: %s", f.Name, obj.Metadata.Name, msg)
			}
			checkLabels := func(what string, m map[string]string) {
				for k, v := range m {
					for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
						t.Errorf("%s: %s %s=%s: %s", f.Name, what, k, v, msg)
					}
				}
			}
			checkLabels("label", obj.Metadata.Labels)
			var spec struct {
				Spec struct {
					Template             *corev1.PodTemplateSpec `json:"template"`
					LeaderWorkerTemplate *LeaderWorkerTemplate   `json:"leaderWorkerTemplate"`
				} `json:"spec"`
			}
			if err := decode(f, &spec, false); err != nil {
				t.Fatal(err)
			}
			var pods []corev1.PodTemplateSpec
			if spec.Spec.Template != nil {
				pods = append(pods, *spec.Spec.Template)
			}
			if lt := spec.Spec.LeaderWorkerTemplate; lt != nil {
				pods = append(pods, *lt.LeaderTemplate, lt.WorkerTemplate)
			}
			for _, p := range pods {
				checkLabels("pod label", p.Labels)
				checkLabels("node selector", p.Spec.NodeSelector)
				for r := range p.Spec.Containers[0].Resources.Limits {
					for _, msg := range validation.IsQualifiedName(string(r)) {
						t.Errorf("%s: resource %s: %s", f.Name, r, msg)
					}
				}
			}
		}
	}
}

// TestLWSMirror checks the mirrored LeaderWorkerSet types against the
// field names and enums of the published v1 CRD (testdata/lws-crd-v1.txt,
// extracted from kubernetes-sigs/lws): every mirrored field exists there
// under the same JSON name, the mirror leaves out only the volume-claim
// fields, and every emitted policy value is one the CRD allows.
func TestLWSMirror(t *testing.T) {
	data, err := os.ReadFile("testdata/lws-crd-v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	fields, enums := map[string][]string{}, map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		kind, rest, ok := strings.Cut(line, " ")
		path, names, ok2 := strings.Cut(rest, ": ")
		if !ok || !ok2 || strings.HasPrefix(line, "#") {
			continue
		}
		switch kind {
		case "fields":
			fields[path] = strings.Fields(names)
		case "enum":
			enums[path] = strings.Fields(names)
		}
	}
	types := map[string]reflect.Type{
		"spec":                      reflect.TypeOf(LeaderWorkerSetSpec{}),
		"spec.leaderWorkerTemplate": reflect.TypeOf(LeaderWorkerTemplate{}),
		"spec.leaderWorkerTemplate.subGroupPolicy":        reflect.TypeOf(SubGroupPolicy{}),
		"spec.rolloutStrategy":                            reflect.TypeOf(RolloutStrategy{}),
		"spec.rolloutStrategy.rollingUpdateConfiguration": reflect.TypeOf(RollingUpdateConfiguration{}),
		"spec.networkConfig":                              reflect.TypeOf(NetworkConfig{}),
	}
	leftOut := map[string]bool{"persistentVolumeClaimRetentionPolicy": true, "volumeClaimTemplates": true}
	for path, typ := range types {
		crd := map[string]bool{}
		for _, f := range fields[path] {
			crd[f] = true
		}
		if len(crd) == 0 {
			t.Fatalf("no CRD fields for %s", path)
		}
		mirrored := map[string]bool{}
		for i := 0; i < typ.NumField(); i++ {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			mirrored[name] = true
			if !crd[name] {
				t.Errorf("%s.%s (%s): not a field of the published CRD", path, name, typ.Field(i).Name)
			}
		}
		for f := range crd {
			if !mirrored[f] && !leftOut[f] {
				t.Errorf("%s.%s: in the CRD but not mirrored", path, f)
			}
		}
	}
	allowed := func(path, v string) bool {
		for _, e := range enums[path] {
			if e == v {
				return true
			}
		}
		return false
	}
	for i := range cases {
		for _, f := range emitCase(t, i) {
			if !strings.HasSuffix(f.Name, "-leaderworkerset.yaml") {
				continue
			}
			var l LeaderWorkerSet
			if err := decode(f, &l, true); err != nil {
				t.Fatal(err)
			}
			if p := l.Spec.LeaderWorkerTemplate.RestartPolicy; !allowed("spec.leaderWorkerTemplate.restartPolicy", p) {
				t.Errorf("%s: restartPolicy %q not in the CRD's enum", f.Name, p)
			}
			if p := l.Spec.StartupPolicy; !allowed("spec.startupPolicy", p) {
				t.Errorf("%s: startupPolicy %q not in the CRD's enum", f.Name, p)
			}
		}
	}
}

// FuzzParseLayout: any string either fails with an error or reads as a
// layout whose devices divide evenly and whose text reads back the same.
func FuzzParseLayout(f *testing.F) {
	for _, s := range []string{"tp8 pp1 ep8 dp1", "tp32 pp1 ep32 dp32", "tp8 pp2 ep0 dp1", "tp8", "tp0 pp0 ep0 dp0", "tp99999999999999999999 pp1 ep1 dp1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseLayout(s)
		if err != nil {
			return
		}
		if l.TP < 1 || l.PP < 1 || l.EP < 1 || l.DP < 1 || l.TP%l.DP != 0 {
			t.Fatalf("parseLayout(%q) = %+v", s, l)
		}
		if back, err := parseLayout(layoutString(l)); err != nil || back != l {
			t.Fatalf("parseLayout(%q) = %+v does not read back: %+v, %v", s, l, back, err)
		}
	})
}

// A plan that prefills on AMD and decodes on NVIDIA (--cross-vendor) is
// emitted pool by pool, each on its own vendor's stack, and its header
// says that no stack moves the KV cache between them.
func TestCrossVendor(t *testing.T) {
	p := plan.Plan{Chip: "h200-sxm", Vendor: "nvidia", Node: "hgx-h200-8", Serving: "disaggregated", Weights: "fp8", KVCache: "fp8",
		Layout: "tp8 pp1 ep8 dp1", Replicas: 1, PrefillChip: "mi300x", PrefillWeights: "fp8", PrefillLayout: "tp8 pp1 ep8 dp1", PrefillReplicas: 1}
	files, err := Kubernetes(&p, catalog(), Options{Model: "deepseek-ai/DeepSeek-R1", Params: params()})
	if err != nil {
		t.Fatal(err)
	}
	var all string
	for _, f := range files {
		all += string(f.Data)
	}
	for _, want := range []string{"amd.com/gpu", "nvidia.com/gpu", "prefill on vLLM (ROCm) and decode on vLLM need a KV transfer between two vendors' engines"} {
		if !strings.Contains(all, want) {
			t.Errorf("manifests lack %q", want)
		}
	}
}

// The strict decoding TestDecode relies on rejects a field the type lacks.
func TestDecodeIsStrict(t *testing.T) {
	f := File{Data: []byte("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {a: b}}\n")}
	var s corev1.Service
	if err := decode(f, &s, true); err == nil {
		t.Error("strict decoding accepted an unknown field")
	}
	if err := decode(f, &s, false); err != nil {
		t.Errorf("lenient decoding: %v", err)
	}
}

// An instance across the trays of one NVL72 rack keeps its collectives on
// NVLink only if its pods share the rack; the header says so.
func TestScaleUpDomainNote(t *testing.T) {
	p := plan.Plan{Chip: "gb200", Vendor: "nvidia", Node: "gb200-nvl72", Serving: "aggregated", Weights: "fp4", KVCache: "fp8",
		Layout: "tp16 pp1 ep16 dp16", Replicas: 1}
	files, err := Launch(&p, catalog(), Options{Model: "deepseek-ai/DeepSeek-R1", Params: params()})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(files[0].Data); !strings.Contains(s, "inside one gb200-nvl72 scale-up domain (72 chips)") {
		t.Errorf("no scale-up domain note:\n%s", s)
	}
}
