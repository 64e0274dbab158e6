// Package train estimates LLM pre-training on a cluster: the time of one
// optimizer step under a parallel layout (data, tensor with sequence
// parallelism, pipeline 1F1B or interleaved, expert, context; ZeRO 0-3;
// activation recompute; bf16 or fp8 GEMMs), the memory each device needs,
// and what a whole run of a token budget takes: days, chip-hours,
// interruptions, checkpoints and goodput.
//
// Work is priced with the serving model's rates (perf.DeviceRates: the
// same rooflines and per-family efficiency parameters), so training and
// serving rest on one set of measurements. The package does no I/O and
// reads no clock; results are values that internal/cli renders.
// docs/train.md gives the equations and the choices.
package train
