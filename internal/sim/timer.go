package sim

// Batch describes one engine step for the step-time model.
type Batch struct {
	DecodeSeqs    int     // sequences producing tokens this step
	DecodeTokens  int     // tokens computed for them (DecodeSeqs×(1+draft tokens) with speculative decoding)
	DecodeKV      int     // sum of their context lengths (KV tokens read), this step's tokens included
	PrefillSeqs   int     // sequences computing prompt tokens this step
	PrefillTokens int     // prompt tokens computed this step (cached prefix excluded)
	PrefillKV     float64 // sum over prefill chunks of query×key pairs (causal: chunk×prior + chunk²/2)
}

// StepTimer says how long an engine step takes, in seconds. The simulator
// calls it once per step with a non-empty batch and needs a positive finite
// answer. Implementations must be deterministic for runs to be.
type StepTimer interface {
	StepTime(b *Batch) float64
}

// LinearStepTimer is a step time linear in the batch's shape. It stands in
// for the analytic performance model in tests and benchmarks: a fixed launch
// and weight-read cost per step, plus per-sequence, per-token and
// per-KV-token costs. Fitted numbers make it a fair roofline caricature.
type LinearStepTimer struct {
	BaseS            float64 // per step (weights read, kernel launches)
	PerDecodeSeqS    float64 // per decoding sequence
	PerDecodeTokenS  float64 // per decode token computed (draft tokens included)
	PerKVTokenS      float64 // per KV token the decodes read
	PerPrefillTokenS float64 // per prompt token computed
	PerPrefillKVS    float64 // per query×key pair of prefill attention
}

// StepTime implements StepTimer.
func (l *LinearStepTimer) StepTime(b *Batch) float64 {
	return l.BaseS +
		l.PerDecodeSeqS*float64(b.DecodeSeqs) +
		l.PerDecodeTokenS*float64(b.DecodeTokens) +
		l.PerKVTokenS*float64(b.DecodeKV) +
		l.PerPrefillTokenS*float64(b.PrefillTokens) +
		l.PerPrefillKVS*b.PrefillKV
}
