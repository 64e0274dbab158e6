// Package corpus reads validation corpora and scenario files (format
// version 1, specified in docs/corpus.md), evaluates a [Predictor]
// against them and summarises the errors.
//
// A corpus is a YAML file of cases; each case is one published figure for
// one deployment under one load. [Parse] with [CorpusMode] reads a corpus, in which
// every case must carry a positive `measured`; [ParseScenario] reads the
// same shape for `ersatz predict`, where `measured`, `source`, `claim` and
// `metric` may be absent. Both return the parsed [File], non-fatal warnings
// (unknown fields, which are ignored so that other people's corpora with
// extra fields still load) and an error for a file that is not YAML or not
// this format's top level. A corpus case that cannot be read is kept in
// [File.Unreadable] with every problem found, by path, value and
// expectation, and [EvaluateFile] reports it among the others as a
// failure; a scenario with such a case is refused, the error naming every
// problem.
//
// # Defaults
//
// A field that is absent takes these values after parsing, so a predictor
// never sees a zero it has to interpret:
//
//   - version: 1.
//   - serving: aggregated.
//   - instances[].count: 1; tp, pp, ep, dp: 1; chips: tp × pp.
//   - precision.activations: precision.weights; precision.kv_cache:
//     precision.activations. precision.weights has no default.
//   - workload.prefix_cache_hit and workload.context_tokens: 0.
//   - phase: all.
//   - slo.percentile: 0, meaning "mean" (no percentile given).
//   - speculative.draft_tokens: 1 when speculative is present.
//
// # Optional fields added by this project
//
//   - engine_args: {max_num_seqs, max_num_batched_tokens, chunked_prefill,
//     enforce_eager, cuda_graph_max_batch} records engine settings the
//     measurement ran with ([EngineArgs]); each is optional, absent means
//     the engine's default. The limits are per engine scheduler (per DP
//     rank with attention data parallelism). max_num_seqs and
//     max_num_batched_tokens and cuda_graph_max_batch must be >= 1.
//
// Names (claim, engine, serving, role, precision, phase, metric) are
// compared after lowering case; ids are not lowered and must already match
// [a-z0-9-]. The model is kept as written: catalog model ids are
// case-insensitive and resolving them, or a config.json path relative to
// the corpus file ([Case.ModelIsPath]), is the caller's job, as is
// resolving chip ids and aliases against the hardware catalog.
//
// # Evaluation
//
// [Evaluate] predicts every case and returns a [Report] whose JSON form is
// the spec's: per case id, metric, measured, predicted, error
// (predicted/measured − 1), low and high, plus a summary with n,
// median_abs_error, mape and within_band. A case that cannot be predicted
// (the predictor returns an error, a value that is not finite or not
// positive, or the case has no measured value) is kept with
// "predicted": null and a "reason", and counts as a failure: its absolute
// error is taken as 1.0 (100 %) in median_abs_error and mape, and it is
// neither within_band nor within_25pct. within_band and within_25pct are
// fractions of n, not counts. The median of an even number of errors is the
// mean of the two middle ones.
//
// The package does no I/O of its own: it parses byte slices and writes to
// an [io.Writer] the caller supplies. The shipped corpora are embedded
// ([Published], [Independent], [FS]).
package corpus
