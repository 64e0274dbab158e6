//go:build race

package cli

// raceOn skips the slow numeric golden commands under -race.
const raceOn = true
