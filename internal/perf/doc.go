// Package perf is ersatz's analytic performance model: the time of one
// serving-engine step on any chip, precision and parallel layout
// ([Instance.Step]), and the steady state of serving built from it
// ([Serve]): throughput per chip, TTFT and TPOT with percentiles, the
// batch and what limits it.
//
// [New] validates a [Deployment] (the chip must run the precision; tp must
// divide the heads; ep must fit the experts; pp at most the layers) and
// precomputes every per-device, per-layer constant, so that a step is a
// few hundred flops and allocates nothing. Each step is a sum of rooflines
// (GEMMs, attention, element-wise traffic), collectives (TP all-reduce, EP
// all-to-all, PP sends) and overheads, broken down by component with the
// bound that decides each.
//
// Efficiencies are data, not code: [DefaultParams] reads the embedded
// params.yaml, at most eight parameters per chip family, each with its
// source and spread; [ParseParams] reads a user's file. [Instance.Variant]
// moves every datasheet figure and parameter to its pessimistic or
// optimistic end for the uncertainty band. docs/perf.md has the equations,
// the parameter table and the accuracy on the shipped corpus.
//
// The package does no I/O.
package perf
