package policy

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the causal decoder's per-sample
// random streams to the golden files shared with package data/rng.
func TestRandomDerivationsArePinned(t *testing.T) {
	rngtest.CheckPins(t, rngtest.Pin{Golden: "policy_decode_pcg", Site: "policy/generate.go seqRNG", Values: func(_ testing.TB, w []uint64) (got []uint64) {
		for _, seed := range []uint64{0, w[20]} {
			for _, pid := range []uint64{0, 1, w[21]} {
				for _, idx := range []int32{0, 1, 7, -1} {
					r := seqRNG(seed, pid, idx)
					got = append(got, r.Uint64(), r.Uint64())
				}
			}
		}
		return got
	}})
}
