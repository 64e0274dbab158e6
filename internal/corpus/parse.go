package corpus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Mode selects what [Parse] requires of a case.
type Mode int

const (
	// CorpusMode requires measured > 0, a metric and a claim on every
	// case, as `ersatz validate` needs.
	CorpusMode Mode = iota
	// ScenarioMode allows measured, metric, claim and source to be absent,
	// as `ersatz predict` needs.
	ScenarioMode
)

// maxErrors bounds how many validation errors one parse reports.
const maxErrors = 20

// ParseScenario parses a scenario file, in which measured may be absent.
// See [Parse].
func ParseScenario(data []byte) (*File, []error, error) { return Parse(data, ScenarioMode) }

// Parse parses a corpus file, applies the defaults listed in the package
// doc and validates every case. Unknown fields do not fail the parse: each
// is returned as a warning naming its path. A file that is not YAML, whose
// top level is not this format's (a bad version, no cases) fails the parse.
// In CorpusMode a case that cannot be read (a type error, an invalid or
// missing field, a repeated id) does not: it goes to File.Unreadable with
// every problem found, and the other cases load, so that one bad row is
// reported beside the rest. In ScenarioMode such a case fails the parse, a
// scenario being a request rather than a data set. A failing parse lists
// every problem found (up to 20), one per line.
func Parse(data []byte, mode Mode) (*File, []error, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing corpus: %w", err)
	}
	var raw struct {
		Version *int              `json:"version"`
		Cases   []json.RawMessage `json:"cases"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, nil, fmt.Errorf("parsing corpus: %s", jsonErr(err))
	}
	var generic any
	_ = json.Unmarshal(js, &generic) // already valid JSON
	var warnings []error
	unknownFields(reflect.TypeOf(File{}), generic, "", &warnings)

	f := &File{Version: Version}
	if raw.Version != nil {
		f.Version = *raw.Version
	}
	var errs []error
	if f.Version != Version {
		errs = append(errs, fmt.Errorf("version: want %d (got %d)", Version, f.Version))
	}
	if len(raw.Cases) == 0 {
		errs = append(errs, errors.New("cases: want at least one case (got none)"))
	}
	seen := map[string]int{}
	for i, rc := range raw.Cases {
		u := readCase(rc, i, mode, seen)
		switch {
		case u.Problems == nil:
			f.Cases = append(f.Cases, u.Case)
		case mode == ScenarioMode:
			for _, p := range u.Problems {
				errs = append(errs, fmt.Errorf("%s%w", u.prefix(), p))
			}
		default:
			f.Unreadable = append(f.Unreadable, u)
		}
	}
	if len(errs) > 0 {
		if len(errs) > maxErrors {
			n := len(errs)
			errs = append(errs[:maxErrors], fmt.Errorf("... and %d more errors", n-maxErrors))
		}
		return nil, warnings, errors.Join(errs...)
	}
	return f, warnings, nil
}

// readCase decodes, defaults and validates case i; Problems is nil when
// it reads. seen maps the ids of earlier cases to their index: a repeated
// id makes the later case unreadable, so the first keeps its results.
func readCase(rc json.RawMessage, i int, mode Mode, seen map[string]int) Unreadable {
	u := Unreadable{Index: i}
	if err := json.NewDecoder(bytes.NewReader(rc)).Decode(&u.Case); err != nil {
		// The id still names the row when the rest does not decode.
		var m map[string]any
		if json.Unmarshal(rc, &m) == nil {
			u.ID, _ = m["id"].(string)
		}
		u.Problems = []error{errors.New(jsonErr(err))}
		return u
	}
	c := &u.Case
	applyDefaults(c)
	u.ID = c.ID
	u.Problems = validate(c, mode)
	if j, dup := seen[c.ID]; dup && c.ID != "" {
		u.Problems = append(u.Problems, fmt.Errorf("id: want unique ids (%q is also cases[%d])", c.ID, j))
	} else {
		seen[c.ID] = i
	}
	return u
}

// jsonErr rewrites encoding/json's type errors in the package's style.
func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Sprintf("%s: want %s (got %s)", field, te.Type, te.Value)
	}
	return err.Error()
}

// unknownFields walks the generic JSON value v against type t and appends
// one warning per object key that t has no field for.
func unknownFields(t reflect.Type, v any, at string, warnings *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			fields[name] = sf.Type
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if at != "" {
				p = at + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				*warnings = append(*warnings, fmt.Errorf("%s: unknown field, ignored", p))
				continue
			}
			unknownFields(ft, m[k], p, warnings)
		}
	case reflect.Slice:
		s, ok := v.([]any)
		if !ok {
			return
		}
		for i, e := range s {
			p := fmt.Sprintf("%s[%d]", at, i)
			if at == "cases" {
				if m, ok := e.(map[string]any); ok {
					if id, ok := m["id"].(string); ok && id != "" {
						p += " (id " + id + ")"
					}
				}
			}
			unknownFields(t.Elem(), e, p, warnings)
		}
	}
}

func applyDefaults(c *Case) {
	lower := func(s *string) { *s = strings.ToLower(strings.TrimSpace(*s)) }
	for _, s := range []*string{&c.Claim, &c.Engine, &c.Serving, &c.Phase, &c.Metric,
		&c.Precision.Weights, &c.Precision.Activations, &c.Precision.KVCache} {
		lower(s)
	}
	if c.Serving == "" {
		c.Serving = "aggregated"
	}
	if c.Phase == "" {
		c.Phase = "all"
	}
	// Activations and KV cache left empty take the performance model's
	// defaults (perf.Precisions), the same in every command.
	for i := range c.Instances {
		in := &c.Instances[i]
		lower(&in.Role)
		for _, p := range []*int{&in.Count, &in.TP, &in.PP, &in.EP, &in.DP} {
			if *p == 0 {
				*p = 1
			}
		}
		if in.Chips == 0 && in.TP >= 1 && in.PP >= 1 {
			in.Chips = in.TP * in.PP
		}
	}
	if c.Speculative != nil {
		lower(&c.Speculative.Method)
		if c.Speculative.DraftTokens == 0 {
			c.Speculative.DraftTokens = 1
		}
	}
}

var idRE = regexp.MustCompile(`^[a-z0-9-]+$`)

func oneOf(field, got string, set []string) error {
	return fmt.Errorf("%s: want one of %s (got %q)", field, strings.Join(set, ", "), got)
}

// validate checks one case after defaults; each error starts with the
// field path inside the case.
func validate(c *Case, mode Mode) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !idRE.MatchString(c.ID) {
		add("id: want [a-z0-9-]+ (got %q)", c.ID)
	}
	if mode == CorpusMode || c.Claim != "" {
		if !slices.Contains(Claims, c.Claim) {
			errs = append(errs, oneOf("claim", c.Claim, Claims))
		}
	}
	if strings.TrimSpace(c.Model) == "" {
		add("model: want a catalog model id or a config.json path (got none)")
	}
	if strings.TrimSpace(c.Chip) == "" {
		add("chip: want a catalog chip id (got none)")
	}
	if c.Engine != "" && !slices.Contains(Engines, c.Engine) {
		errs = append(errs, oneOf("engine", c.Engine, Engines))
	}
	// Weights are required; activations and kv_cache may be left to the
	// performance model's defaults.
	for i, p := range []struct{ field, v string }{
		{"precision.weights", c.Precision.Weights},
		{"precision.activations", c.Precision.Activations},
		{"precision.kv_cache", c.Precision.KVCache},
	} {
		if !slices.Contains(Precisions, p.v) && (i == 0 || p.v != "") {
			errs = append(errs, oneOf(p.field, p.v, Precisions))
		}
	}
	errs = append(errs, validateInstances(c)...)
	errs = append(errs, validateWorkload(c)...)
	if s := c.Speculative; s != nil {
		if s.Method == "" {
			add("speculative.method: want a method name, e.g. mtp or eagle (got none)")
		}
		if s.DraftTokens < 1 {
			add("speculative.draft_tokens: want >= 1 (got %d)", s.DraftTokens)
		}
		if s.Acceptance != nil && s.TokensPerStep != nil {
			add("speculative: want at most one of acceptance, tokens_per_step (got both)")
		}
		if a := s.Acceptance; a != nil && !(*a >= 0 && *a <= 1) {
			add("speculative.acceptance: want a fraction in [0, 1] (got %g)", *a)
		}
		if t := s.TokensPerStep; t != nil && !(*t >= 1 && *t <= float64(s.DraftTokens+1)) {
			add("speculative.tokens_per_step: want in [1, draft_tokens+1 = %d] (got %g)", s.DraftTokens+1, *t)
		}
	}
	if a := c.EngineArgs; a != nil {
		if a.MaxNumSeqs != nil && *a.MaxNumSeqs < 1 {
			add("engine_args.max_num_seqs: want >= 1 (got %d)", *a.MaxNumSeqs)
		}
		if a.MaxNumBatchedTokens != nil && *a.MaxNumBatchedTokens < 1 {
			add("engine_args.max_num_batched_tokens: want >= 1 (got %d)", *a.MaxNumBatchedTokens)
		}
		if a.CUDAGraphMaxBatch != nil && *a.CUDAGraphMaxBatch < 1 {
			add("engine_args.cuda_graph_max_batch: want >= 1 (got %d; enforce_eager: true runs without graphs)", *a.CUDAGraphMaxBatch)
		}
		if u := a.GPUMemoryUtilization; u != nil && (*u <= 0 || *u > 1) {
			add("engine_args.gpu_memory_utilization: want a fraction in (0, 1] (got %g)", *u)
		}
	}
	if s := c.SLO; s != nil {
		if !(s.TTFTms >= 0) || !(s.TPOTms >= 0) || s.TTFTms+s.TPOTms == 0 {
			add("slo: want ttft_ms and/or tpot_ms > 0 (got ttft_ms %g, tpot_ms %g)", s.TTFTms, s.TPOTms)
		}
		if !(s.Percentile >= 0 && s.Percentile < 100) {
			add("slo.percentile: want in [0, 100) (got %g)", s.Percentile)
		}
	}
	phases := []string{"all", "prefill", "decode"}
	if !slices.Contains(phases, c.Phase) {
		errs = append(errs, oneOf("phase", c.Phase, phases))
	}
	if mode == CorpusMode || c.Metric != "" {
		if !slices.Contains(Metrics, c.Metric) {
			errs = append(errs, oneOf("metric", c.Metric, Metrics))
		}
	}
	if math.IsNaN(c.Measured) || math.IsInf(c.Measured, 0) || c.Measured < 0 || (mode == CorpusMode && c.Measured == 0) {
		add("measured: want a number > 0 (got %g)", c.Measured)
	}
	return errs
}

func validateInstances(c *Case) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch c.Serving {
	case "aggregated":
		if len(c.Instances) != 1 || c.Instances[0].Role != "mixed" {
			roles := make([]string, len(c.Instances))
			for i, in := range c.Instances {
				roles[i] = in.Role
			}
			add("instances: want exactly one entry with role mixed for aggregated serving (got [%s])", strings.Join(roles, ", "))
		}
	case "disaggregated":
		for i, in := range c.Instances {
			if in.Role != "prefill" && in.Role != "decode" {
				add("instances[%d].role: want prefill or decode for disaggregated serving (got %q)", i, in.Role)
			}
		}
		// A figure of one phase needs only the pool it measures.
		switch {
		case c.Phase == "prefill" || c.Phase == "decode":
			if c.Role(c.Phase) == nil {
				add("instances: want a %s entry for a disaggregated case measuring phase %s", c.Phase, c.Phase)
			}
		case c.Role("prefill") == nil || c.Role("decode") == nil:
			add("instances: want prefill and decode entries for disaggregated serving with phase all (a prefill or decode case may list only its pool)")
		}
	default:
		errs = append(errs, oneOf("serving", c.Serving, []string{"aggregated", "disaggregated"}))
	}
	roles := []string{"mixed", "prefill", "decode"}
	for i, in := range c.Instances {
		if c.Serving != "aggregated" && c.Serving != "disaggregated" && !slices.Contains(roles, in.Role) {
			errs = append(errs, oneOf(fmt.Sprintf("instances[%d].role", i), in.Role, roles))
		}
		for _, p := range []struct {
			name string
			v    int
		}{{"count", in.Count}, {"chips", in.Chips}, {"tp", in.TP}, {"pp", in.PP}, {"ep", in.EP}, {"dp", in.DP}} {
			if p.v < 1 && (p.name != "chips" || in.TP >= 1 && in.PP >= 1) {
				add("instances[%d].%s: want >= 1 (got %d)", i, p.name, p.v)
			}
		}
	}
	return errs
}

func validateWorkload(c *Case) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	w := c.Workload
	for _, p := range []struct {
		name string
		v    float64
	}{{"input_tokens", w.InputTokens}, {"output_tokens", w.OutputTokens}, {"context_tokens", w.ContextTokens}} {
		if !(p.v >= 0) || math.IsInf(p.v, 0) {
			add("workload.%s: want a number >= 0 (got %g)", p.name, p.v)
		}
	}
	if w.InputTokens <= 0 && w.ContextTokens <= 0 {
		add("workload.input_tokens: want > 0, or context_tokens > 0 for a decode-only case (got %g)", w.InputTokens)
	}
	if !(w.PrefixCacheHit >= 0 && w.PrefixCacheHit < 1) {
		add("workload.prefix_cache_hit: want a fraction in [0, 1) (got %g)", w.PrefixCacheHit)
	}
	l := w.Load
	switch n := l.count(); {
	case n > 1:
		add("workload.load: want exactly one of offline, concurrency, rate_per_s, batch_per_chip (got %d)", n)
	case n == 0 && c.SLO == nil:
		add("workload.load: want exactly one of offline, concurrency, rate_per_s, batch_per_chip, or an slo (got none)")
	}
	if l.Offline != nil && !*l.Offline {
		add("workload.load.offline: want true (got false)")
	}
	if l.Concurrency != nil && *l.Concurrency < 1 {
		add("workload.load.concurrency: want >= 1 (got %d)", *l.Concurrency)
	}
	if l.RatePerS != nil && !(*l.RatePerS > 0 && !math.IsInf(*l.RatePerS, 0)) {
		add("workload.load.rate_per_s: want > 0 (got %g)", *l.RatePerS)
	}
	if l.BatchPerChip != nil && !(*l.BatchPerChip > 0 && !math.IsInf(*l.BatchPerChip, 0)) {
		add("workload.load.batch_per_chip: want > 0 (got %g)", *l.BatchPerChip)
	}
	return errs
}
