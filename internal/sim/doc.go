// Package sim is a deterministic discrete-event simulator of LLM serving:
// replicas running a vLLM-V1-style continuous-batching scheduler over a
// paged KV cache, behind a router, optionally split into prefill and decode
// pools joined by a KV-transfer link.
//
// Time is virtual, in float64 seconds. Events sit in a heap ordered by
// (time, sequence number), so simultaneous events run in the order they were
// scheduled and equal inputs with equal seeds give byte-identical records.
// How long an engine step takes is not this package's business: it asks a
// StepTimer, which the caller backs with a performance model.
//
// Memory is bounded by requests in flight: the workload source is pulled one
// request ahead, finished requests go to a RecordSink and back to a pool,
// and latency percentiles come from fixed-size streaming sketches.
package sim
