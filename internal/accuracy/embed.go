package accuracy

import (
	_ "embed"
	"fmt"

	"sigs.k8s.io/yaml"
)

//go:embed residuals.yaml
var shipped []byte

//go:embed training-residuals.yaml
var shippedTraining []byte

// Default returns the residual table generated from the shipped corpus
// (residuals.yaml). It panics only when the embedded file is invalid,
// which the package tests rule out.
func Default() *Table {
	t, err := ParseTable(shipped)
	if err != nil {
		panic("accuracy: embedded residuals.yaml: " + err.Error())
	}
	return t
}

// DefaultTraining returns the residual table of the training estimator,
// generated from the shipped training corpus (training-residuals.yaml).
func DefaultTraining() *Table {
	t, err := ParseTable(shippedTraining)
	if err != nil {
		panic("accuracy: embedded training-residuals.yaml: " + err.Error())
	}
	return t
}

// ParseTable reads a residual table.
func ParseTable(data []byte) (*Table, error) {
	var t Table
	if err := yaml.UnmarshalStrict(data, &t); err != nil {
		return nil, fmt.Errorf("parsing residual table: %w", err)
	}
	if t.Pools[poolAll] == nil {
		return nil, fmt.Errorf("residual table: pool %q missing", poolAll)
	}
	return &t, nil
}

// Marshal writes the table in the format of residuals.yaml.
func (t *Table) Marshal() ([]byte, error) {
	return t.marshal("# Residual table of the performance model, generated from the shipped corpus by\n" +
		"# `go test ./internal/accuracy -run TestShipped -update` (docs/accuracy.md). Do not edit.\n")
}

// MarshalTraining writes the table in the format of
// training-residuals.yaml.
func (t *Table) MarshalTraining() ([]byte, error) {
	return t.marshal("# Residual table of the training estimator, generated from the shipped training corpus by\n" +
		"# `go test ./internal/accuracy -run TestShipped -update` (docs/train.md). Do not edit.\n")
}

func (t *Table) marshal(head string) ([]byte, error) {
	b, err := yaml.Marshal(t)
	if err != nil {
		return nil, err
	}
	return append([]byte(head), b...), nil
}
