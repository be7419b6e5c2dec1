//go:build !race

package policy

// raceEnabled is set under the race detector, whose instrumentation
// allocates.
const raceEnabled = false
