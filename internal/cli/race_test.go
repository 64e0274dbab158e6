//go:build race

package cli

// Under the race detector each streamed token costs ten times more, so
// the measurement tests run fewer requests and streams; the comparisons
// they make are the same.
const (
	raceEnabled = true
	soakStreams = 100
)
