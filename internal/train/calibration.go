package train

import (
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"ersatz/internal/perf"
)

// Calibration is what the training corpus measures of the open training
// frameworks (Megatron, MindSpeed, MindFormers, torchtitan, FSDP): the
// share of the modelled speed their published runs reach, over all of
// them (All) and refined per chip family where at least two independent
// sources measured it (docs/train.md, "Calibration"). It is
// generated from the shipped corpus by
// `go test ./internal/accuracy -run TestShippedTraining -update`.
type Calibration struct {
	All    *perf.StackEff            `json:"all"`
	Family map[string]*perf.StackEff `json:"family,omitempty"`
}

//go:embed calibration.yaml
var shippedCalibration []byte

// DefaultCalibration is the calibration of the shipped corpus. It
// panics only when the embedded file is invalid, which the package
// tests rule out.
func DefaultCalibration() *Calibration {
	c, err := ParseCalibration(shippedCalibration)
	if err != nil {
		panic("train: embedded calibration.yaml: " + err.Error())
	}
	return c
}

// ParseCalibration reads a calibration file and checks its values.
func ParseCalibration(data []byte) (*Calibration, error) {
	var c Calibration
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("parsing training calibration: %w", err)
	}
	check := func(name string, e *perf.StackEff) error {
		if e == nil || !(e.Value > 0 && e.Value <= 10) {
			v := math.NaN()
			if e != nil {
				v = e.Value
			}
			return fmt.Errorf("training calibration: %s: value %g: want a share of the modelled speed above 0 and at most 10", name, v)
		}
		return nil
	}
	if err := check("all", c.All); err != nil {
		return nil, err
	}
	for f, e := range c.Family {
		if err := check("family "+f, e); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// Marshal writes the calibration in the format of calibration.yaml.
func (c *Calibration) Marshal() ([]byte, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	head := "# Training stack efficiency, generated from the shipped training corpus by\n" +
		"# `go test ./internal/accuracy -run TestShippedTraining -update` (docs/train.md). Do not edit.\n"
	return append([]byte(head), b...), nil
}

// Frameworks are the training stacks a case or a run may name: the open
// frameworks the corpus measures, and InHouse.
var Frameworks = []string{"megatron", "mindspeed", "mindformers", "torchtitan", "fsdp", InHouse}

// CheckFramework refuses a framework name not in Frameworks.
func CheckFramework(name string) error {
	if slices.Contains(Frameworks, name) {
		return nil
	}
	return fmt.Errorf("framework %q: want one of %s", name, strings.Join(Frameworks, ", "))
}

// InHouse is the framework name of a stack built in-house (Meta's for
// Llama 3, DeepSeek's HAI-LLM): not one software stack, so, as serving's
// engine "other", it gets no stack efficiency.
const InHouse = "other"

// Efficiency returns the share of the modelled speed a job under
// framework on a chip of family reaches, and where it comes from: All
// times the family's refinement where there is one; 1 for an in-house
// stack. A nil calibration is the model alone.
func (c *Calibration) Efficiency(framework, family string) (float64, string) {
	if c == nil || c.All == nil {
		return 1, "uncalibrated"
	}
	if framework == "" || framework == InHouse {
		return 1, "none for an in-house stack (--framework other): the model alone, as the best-engineered runs measure it"
	}
	e, from := c.All.Value, fmt.Sprintf("open frameworks over all families (%d groups)", c.All.Groups)
	if f := c.Family[family]; f != nil {
		e *= f.Value
		from += fmt.Sprintf(", %s (%d groups)", family, f.Groups)
	}
	return e, from
}
