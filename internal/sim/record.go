package sim

// Record is one request's outcome.
type Record struct {
	ID          int64   `json:"id"`
	ArrivalS    float64 `json:"arrival_s"`
	FirstTokenS float64 `json:"first_token_s"` // end of the step that finished its prefill
	FinishS     float64 `json:"finish_s"`
	Input       int     `json:"input"`
	Output      int     `json:"output"`
	Cached      int     `json:"cached"` // prompt tokens served from the prefix cache at its last admission
	Preemptions int     `json:"preemptions"`
	// Replica is the index, within its pool, of the replica that produced
	// the last token (the decode pool's when disaggregated).
	Replica int `json:"replica"`
	// PrefillReplica is the prefill pool replica's index, or -1 when serving
	// is not disaggregated.
	PrefillReplica int `json:"prefill_replica"`
	// Rejected requests could never be served (see Run); their times all
	// equal ArrivalS and they count in no latency statistic.
	Rejected bool `json:"rejected,omitempty"`
}

// TTFTS is the time to first token.
func (r *Record) TTFTS() float64 { return r.FirstTokenS - r.ArrivalS }

// E2ES is the end-to-end latency.
func (r *Record) E2ES() float64 { return r.FinishS - r.ArrivalS }

// TPOTS is the mean time per output token after the first, or 0 for a
// one-token output.
func (r *Record) TPOTS() float64 {
	if r.Output < 2 {
		return 0
	}
	return (r.FinishS - r.FirstTokenS) / float64(r.Output-1)
}

// RecordSink receives every request's record as it finishes or is
// rejected, in virtual-time order (ties in a deterministic order). The
// record is reused after the call returns.
type RecordSink interface {
	Record(r *Record)
}

// RecordFunc adapts a function to RecordSink.
type RecordFunc func(r *Record)

// Record implements RecordSink.
func (f RecordFunc) Record(r *Record) { f(r) }
