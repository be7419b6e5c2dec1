package curate

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestFakeGeneratorHashIsPinned pins the hash behind the tests' fake
// completions to the SplitMix64 golden file of package data/rng.
func TestFakeGeneratorHashIsPinned(t *testing.T) {
	var got []uint64
	for _, x := range rngtest.Words(48) {
		got = append(got, mix(x))
	}
	rngtest.Check(t, "splitmix64", "pipeline/curate/helpers_test.go mix", got)
}
