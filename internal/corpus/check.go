package corpus

import (
	"errors"
	"fmt"
)

// Check applies the format's defaults to a case built in code (as predict
// builds one from its flags) and validates it as [Parse] would, so that a
// case needs no round trip through YAML to be checked.
func (c *Case) Check(mode Mode) error {
	applyDefaults(c)
	var errs []error
	for _, e := range validate(c, mode) {
		errs = append(errs, fmt.Errorf("case %s: %w", c.ID, e))
	}
	return errors.Join(errs...)
}
