package policy

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the causal decoder's per-sample
// random streams to the golden files shared with package data/rng.
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(48)
	t.Run("each sample's decoding stream is unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{0, w[20]} {
			for _, pid := range []uint64{0, 1, w[21]} {
				for _, idx := range []int32{0, 1, 7, -1} {
					r := seqRNG(seed, pid, idx)
					got = append(got, r.Uint64(), r.Uint64())
				}
			}
		}
		rngtest.Check(t, "policy_decode_pcg", "policy/generate.go seqRNG", got)
	})
}
