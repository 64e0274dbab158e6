package sim

// h100Dense14B is a LinearStepTimer roughly shaped like a 14B-parameter
// dense model in BF16 on one H100: 6 ms per step, 0.03 ms per decoding
// sequence, 0.06 ms per thousand KV tokens read, 0.09 ms per prompt token.
// It is a stand-in for the performance model, for this package's tests and
// benchmarks only; the numbers are illustrative, not measured.
func h100Dense14B() *LinearStepTimer {
	return &LinearStepTimer{
		BaseS:            6e-3,
		PerDecodeSeqS:    0.03e-3,
		PerKVTokenS:      0.06e-3 / 1000,
		PerPrefillTokenS: 0.09e-3,
	}
}
