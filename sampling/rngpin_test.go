package sampling

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the sampler's pool fingerprint and
// epoch permutations to the golden files shared with package data/rng,
// which checks Key and Stream (the former streamKey and stream) against
// the files recorded from this package.
func TestRandomDerivationsArePinned(t *testing.T) {
	rngtest.CheckPins(t,
		rngtest.Pin{Golden: "sampling_pool_fingerprint", Site: "sampling/sampler.go newPool", Values: func(t testing.TB, w []uint64) (got []uint64) {
			// Growing prefixes, then windows away from the edge-case words.
			for _, ids := range [][]uint64{w[:24], w[30:38]} {
				for n := 1; n <= len(ids); n++ {
					p, err := newPool(ids[:n])
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, p.hash)
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "sampling_permutation", Site: "sampling/cursor.go permutation", Values: func(_ testing.TB, _ []uint64) (got []uint64) {
			for _, seed := range []uint64{1, 7} {
				for epoch := range uint64(3) {
					for _, j := range permutation(nil, seed, epoch, 8) {
						got = append(got, uint64(j))
					}
				}
			}
			return got
		}},
	)
}
