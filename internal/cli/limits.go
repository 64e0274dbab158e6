package cli

import (
	"math"

	"ersatz/internal/model"
)

// defaultContext is the sequence length of fit's sequences-that-fit
// figure when --context is not given, cut to the model's own context.
const defaultContext = 8192

// checkLengths refuses mean request lengths the model cannot take: a
// prompt plus output beyond its context (max_position_embeddings).
func checkLengths(m *model.Model, input, output float64) error {
	if err := m.CheckContext(int(math.Ceil(input)), int(math.Ceil(output))); err != nil {
		return usagef("--input-tokens %g --output-tokens %g: %v", input, output, err)
	}
	return nil
}

// contextFor is the --context of a deployment: the flag, checked against
// the model, or the default cut to the model's context.
func contextFor(m *model.Model, flag int) (int, error) {
	if flag == 0 {
		if m.MaxContext > 0 {
			return min(defaultContext, m.MaxContext), nil
		}
		return defaultContext, nil
	}
	if err := m.CheckContext(flag, -1); err != nil {
		return 0, usagef("--context %d: %v", flag, err)
	}
	return flag, nil
}
