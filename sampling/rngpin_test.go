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
	w := rngtest.Words(64)
	t.Run("pool fingerprints are unchanged", func(t *testing.T) {
		var got []uint64
		for n := 1; n <= 24; n++ {
			p, err := newPool(w[:n])
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.hash)
		}
		for n := 1; n <= 8; n++ {
			p, err := newPool(w[30 : 30+n])
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.hash)
		}
		rngtest.Check(t, "sampling_pool_fingerprint", "sampling/sampler.go newPool", got)
	})
	t.Run("epoch permutations are unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{1, 7} {
			for epoch := range uint64(3) {
				for _, j := range permutation(nil, seed, epoch, 8) {
					got = append(got, uint64(j))
				}
			}
		}
		rngtest.Check(t, "sampling_permutation", "sampling/cursor.go permutation", got)
	})
}
