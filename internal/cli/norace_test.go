//go:build !race

package cli

const (
	raceEnabled = false
	soakStreams = 1000 // concurrent streams of TestSoakShort
)
