// Package accuracy says how wrong the performance model is, from the
// corpus of published measurements, and makes every prediction's band an
// interval at a stated level.
//
// Three things are estimated from a corpus by one procedure each
// (docs/accuracy.md):
//
//   - stack efficiencies per (engine, chip family) and phase: the median
//     over independent groups of log(measured/predicted), shrunk toward 1
//     by k/(k+K0) for k groups, and only where k >= 2 ([K0], [MinStackGroups]);
//   - the residual table: the log-ratios measured/predicted left after
//     them, pooled by regime (engine × family × phase, else engine, else
//     family, else all cases, each needing MinGroups groups), whose
//     empirical quantiles widen the band ([Table.Band]);
//   - leave-one-source-out cross-validation, which re-derives both inside
//     every fold and predicts each group's cases without it
//     ([Setup.CrossValidate]).
//
// Residuals are oriented as speed: log(measured/predicted) for
// throughputs, log(predicted/measured) for latencies, so that a model too
// optimistic about a stack gives negative residuals whatever the metric.
//
// The package does no I/O: the caller passes the cases, a predictor
// factory and the chip families.
package accuracy
