package sim

// Summary is a run's aggregate outcome. Rates are over DurationS, from the
// first arrival to the last event.
type Summary struct {
	Requests     int64 `json:"requests"` // arrived
	Finished     int64 `json:"finished"`
	Rejected     int64 `json:"rejected"`
	Preemptions  int64 `json:"preemptions"`
	InputTokens  int64 `json:"input_tokens"`  // of finished requests
	OutputTokens int64 `json:"output_tokens"` // of finished requests
	CachedTokens int64 `json:"cached_tokens"` // prompt tokens served by the prefix cache

	StartS    float64 `json:"start_s"`
	EndS      float64 `json:"end_s"`
	DurationS float64 `json:"duration_s"`

	TTFT Dist `json:"ttft"`
	TPOT Dist `json:"tpot"` // requests with at least 2 output tokens
	// ITL holds one sample per streamed chunk after the first: the gap
	// since the request's previous tokens. With speculative decoding a
	// chunk carries several tokens.
	ITL Dist `json:"itl"`
	E2E Dist `json:"e2e"`
	// Transfer is the time from a prompt's first token to its KV cache
	// landing on the decode replica (queueing on the link included).
	Transfer Dist `json:"transfer"`

	OutputTokPerS float64 `json:"output_tok_per_s"`
	TotalTokPerS  float64 `json:"total_tok_per_s"` // input plus output
	// Good counts finished requests meeting the SLO; GoodputReqPerS is
	// their rate.
	Good           int64   `json:"good"`
	GoodputReqPerS float64 `json:"goodput_req_per_s"`

	KVUseMean float64 `json:"kv_use_mean"` // time-weighted fraction of blocks in use, over all replicas
	KVUseMax  float64 `json:"kv_use_max"`  // highest of any replica
	// QueueMean and QueueMax are the requests waiting for admission, all
	// replicas together (time-weighted mean).
	QueueMean float64 `json:"queue_mean"`
	QueueMax  int     `json:"queue_max"`
	// InSystemMean is the time-weighted mean of requests arrived and not
	// finished: by Little's law, finished rate × mean E2E.
	InSystemMean float64 `json:"in_system_mean"`

	Replicas []ReplicaSummary `json:"replicas"`

	// Interrupted: the run was stopped early (RunStop); Requests counts
	// the requests admitted before, Unfinished those still in flight when
	// it halted (they have no record).
	Interrupted bool  `json:"interrupted"`
	Unfinished  int64 `json:"unfinished"`
}

// ReplicaSummary is one replica's share.
type ReplicaSummary struct {
	Pool         string  `json:"pool"` // "serving", "prefill" or "decode"
	Index        int     `json:"index"`
	Served       int64   `json:"served"` // requests finished (or, prefill pool, handed off) here
	Steps        int64   `json:"steps"`
	Preemptions  int64   `json:"preemptions"`
	BusyFraction float64 `json:"busy_fraction"`
	KVUseMean    float64 `json:"kv_use_mean"`
	KVUseMax     float64 `json:"kv_use_max"`
}

func (s *simulation) summary() *Summary {
	end := s.now
	dur := end - s.startS
	per := func(x float64) float64 {
		if dur <= 0 {
			return 0
		}
		return x / dur
	}
	sum := &Summary{
		Requests: s.arrived, Finished: s.finished, Rejected: s.rejected, Preemptions: s.preemptions,
		InputTokens: s.inTok, OutputTokens: s.outTok, CachedTokens: s.cached,
		StartS: s.startS, EndS: end, DurationS: dur,
		TTFT: s.ttft.Dist(), TPOT: s.tpot.Dist(), ITL: s.itl.Dist(), E2E: s.e2e.Dist(), Transfer: s.xfer.Dist(),
		OutputTokPerS: per(float64(s.outTok)), TotalTokPerS: per(float64(s.inTok + s.outTok)),
		Good: s.good, GoodputReqPerS: per(float64(s.good)),
		QueueMean: per(s.waitInt), QueueMax: s.waitingMax, InSystemMean: per(s.sysInt),
	}
	for _, e := range s.engines {
		if s.started {
			e.kvMark(end)
		}
		r := ReplicaSummary{Pool: e.pool.name, Index: e.index, Served: e.served, Steps: e.steps,
			Preemptions: e.preemptions, BusyFraction: per(e.busyS), KVUseMean: per(e.kvIntegral), KVUseMax: e.kvMax}
		sum.Replicas = append(sum.Replicas, r)
		sum.KVUseMean += r.KVUseMean / float64(len(s.engines))
		sum.KVUseMax = max(sum.KVUseMax, r.KVUseMax)
	}
	return sum
}
