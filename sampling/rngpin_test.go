package sampling

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the sampler's random streams (key,
// SplitMix64 stream, pool fingerprint, epoch permutation) to the golden
// files shared with package data/rng and policy/objective.
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(64)
	t.Run("the SplitMix64 finaliser is unchanged", func(t *testing.T) {
		var got []uint64
		for _, x := range w[:48] {
			got = append(got, mix64(x))
		}
		rngtest.Check(t, "finalize", "sampling/rng.go mix64", got)
	})
	t.Run("stream keys of zero to four ids are unchanged", func(t *testing.T) {
		var got []uint64
		for i := range 40 {
			got = append(got, streamKey(w[i], w[i+1:i+1+i%5]...))
		}
		rngtest.Check(t, "key", "sampling/rng.go streamKey", got)
	})
	t.Run("stream words are unchanged", func(t *testing.T) {
		var got []uint64
		for k := range 6 {
			s := stream{state: w[k]}
			for range 8 {
				got = append(got, s.uint64())
			}
		}
		rngtest.Check(t, "stream_uint64", "sampling/rng.go stream.uint64", got)
	})
	t.Run("stream integers are unchanged", func(t *testing.T) {
		var got []uint64
		for k := range 4 {
			s := stream{state: w[k+12]}
			for _, n := range []int{1, 2, 3, 5, 7, 10, 100, 1000, 1 << 20, 1<<31 - 1, 1 << 62} {
				got = append(got, uint64(s.intn(n)))
			}
		}
		rngtest.Check(t, "stream_intn", "sampling/rng.go stream.intn", got)
	})
	t.Run("stream floats are unchanged", func(t *testing.T) {
		var got []uint64
		for k := range 4 {
			s := stream{state: w[k]}
			for range 8 {
				got = append(got, math.Float64bits(s.float64()))
			}
		}
		rngtest.Check(t, "stream_float64", "sampling/rng.go stream.float64", got)
	})
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
