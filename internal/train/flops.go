package train

import (
	"fmt"

	"ersatz/internal/model"
)

// Convention is which attention FLOPs a "model FLOPs" figure counts.
type Convention string

// FLOPs conventions. Every one counts 6 FLOPs per active matmul parameter
// per token (forward 2, backward 4; the input embedding, a lookup, not
// counted; the LM head counted) and no recompute. None adds no attention
// (6N); Full adds the s×s score and value products, 12·L·s·d_attn per
// token (Megatron-LM before 2025-03, NeMo 2.0, torchtitan); Causal adds
// half of them, the work a causal mask leaves (Megatron-Bridge, and
// Megatron-LM since 2025-03).
const (
	None   Convention = "none"
	Full   Convention = "full"
	Causal Convention = "causal"
)

// ParseConvention accepts none, full or causal ("" is causal).
func ParseConvention(s string) (Convention, error) {
	switch c := Convention(s); c {
	case "":
		return Causal, nil
	case None, Full, Causal:
		return c, nil
	}
	return "", fmt.Errorf("flops %q: want none, full or causal", s)
}

// ModelFLOPsPerToken is the model FLOPs of training on one token of a
// sequence of seq tokens under convention c. Attention: forward score and
// value FLOPs per token, 2·(q·k + p·v) multiply-adds over the keys (MLA in
// its naive form, nope+rope for keys and v for values), times 3 for the
// backward; sliding-window layers see at most their window.
func ModelFLOPsPerToken(m *model.Model, seq int, c Convention) float64 {
	f := 6 * m.ComputeParams()
	switch c {
	case Full:
		f += 3 * m.AttnScoreFLOPs(seq, false)
	case Causal:
		f += 3 * m.PrefillFLOPs(seq).Score / float64(seq)
	}
	return f
}
