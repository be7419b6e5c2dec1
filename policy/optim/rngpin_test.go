package optim

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestNoiseHashIsPinned pins the hash behind the tests' deterministic
// gradients to the SplitMix64 golden file of package data/rng, so the
// AdamW golden values keep their inputs.
func TestNoiseHashIsPinned(t *testing.T) {
	var got []uint64
	for _, x := range rngtest.Words(48) {
		got = append(got, mix(x))
	}
	rngtest.Check(t, "splitmix64", "policy/optim/helpers_test.go mix", got)
}
