//go:build race

package train

// raceEnabled lets the numeric corpus tests skip under -race: the package
// has no concurrency, and the race detector makes its searches ten times
// slower than the suite allows.
const raceEnabled = true
