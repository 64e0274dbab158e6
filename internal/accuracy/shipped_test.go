package accuracy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"ersatz/internal/corpus"
	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
	"ersatz/internal/predict"
)

var update = flag.Bool("update", false, "rewrite the generated stack block of params.yaml and residuals.yaml")

const paramsPath = "../perf/params.yaml"

// stackMarker starts the generated block at the end of params.yaml.
const stackMarker = "# Stack efficiencies per engine/family"

func shippedSetup(t testing.TB) (*Setup, []corpus.Case) {
	t.Helper()
	f, _, err := corpus.Parse(corpus.Published(), corpus.CorpusMode)
	if err != nil {
		t.Fatal(err)
	}
	cat := hardware.Default()
	base := &predict.Predictor{Hardware: hardware.Default(), Models: model.Default(), Params: perf.DefaultParams(), ResolveModel: predict.FSResolver(corpus.FS(), ".")}
	base.Hardware = cat
	s := &Setup{
		Params: perf.DefaultParams(),
		Predictor: func(p *perf.Params) corpus.Predictor {
			pr := *base
			pr.Params = p
			return &pr
		},
		Family: func(chip string) string {
			if c, err := cat.Chip(chip); err == nil {
				return c.Family
			}
			return ""
		},
	}
	return s, f.Cases
}

// stackBlock renders the generated tail of params.yaml.
func stackBlock(stack map[string]*perf.Stack) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(stackMarker + ", generated from the shipped corpus by\n")
	b.WriteString("# `go test ./internal/accuracy -run TestShipped -update` (docs/accuracy.md): the\n")
	b.WriteString("# median over independent groups of log(measured/predicted), shrunk by k/(k+2),\n")
	b.WriteString("# for pairs and phases with at least two groups. Do not edit by hand.\n")
	if len(stack) == 0 {
		b.WriteString("stack: {}\n")
		return b.Bytes(), nil
	}
	b.WriteString("stack:\n")
	keys := make([]string, 0, len(stack))
	for k := range stack {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s:\n", k)
		for _, e := range []struct {
			name string
			v    *perf.StackEff
		}{{"decode", stack[k].Decode}, {"prefill", stack[k].Prefill}} {
			if e.v != nil {
				fmt.Fprintf(&b, "    %s: {value: %g, groups: %d, cases: [%s]}\n", e.name, e.v.Value, e.v.Groups, strings.Join(e.v.Cases, ", "))
			}
		}
	}
	return b.Bytes(), nil
}

// TestShipped: the stack efficiencies in params.yaml and the residual
// table in residuals.yaml are what the procedure gives on the shipped
// corpus today; -update regenerates both.
func TestShipped(t *testing.T) {
	s, cases := shippedSetup(t)
	fit := s.Fit(cases)
	block, err := stackBlock(fit.Stack)
	if err != nil {
		t.Fatal(err)
	}
	table, err := fit.Table.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	params, err := os.ReadFile(paramsPath)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(params), stackMarker)
	if *update {
		if err := os.WriteFile(paramsPath, append([]byte(head), block...), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("residuals.yaml", table, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !reflect.DeepEqual(perf.DefaultParams().Stack, fit.Stack) && !(len(fit.Stack) == 0 && len(perf.DefaultParams().Stack) == 0) {
		t.Errorf("params.yaml's stack block is out of date (go test ./internal/accuracy -run TestShipped -update):\n%s", block)
	}
	if !bytes.Equal(shipped, table) {
		t.Errorf("residuals.yaml is out of date (go test ./internal/accuracy -run TestShipped -update)")
	}
}
