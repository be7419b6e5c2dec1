package data

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins data's random derivations (the
// hash-based held-out split and the per-example task streams) to the
// golden files shared with package data/rng, which checks the underlying
// Finalize and HeldOutUnit against the same files.
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(48)
	t.Run("the held-out split of 512 ids is unchanged", func(t *testing.T) {
		var got []uint64
		for _, frac := range []float64{0.1, 0.25, 0.5} {
			for word := range 8 {
				var bitsOut uint64
				for b := range 64 {
					if IsHeldOut(uint64(64*word+b), frac) {
						bitsOut |= 1 << b
					}
				}
				got = append(got, bitsOut)
			}
		}
		rngtest.Check(t, "data_heldout_split", "data/split.go IsHeldOut", got)
	})
	t.Run("the task example streams are unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{0, 1, w[20]} {
			for _, task := range []string{"arithmetic", "countdown"} {
				for _, index := range []uint64{0, 1, 1000} {
					r := newRNG(seed, task, index)
					got = append(got, r.next(), r.next())
				}
			}
		}
		rngtest.Check(t, "data_task_stream", "data/split.go newRNG", got)
	})
	t.Run("the task streams' modulo draws are unchanged", func(t *testing.T) {
		var got []uint64
		for _, index := range []uint64{0, 5, 77} {
			r := newRNG(3, "countdown", index)
			for _, n := range []int{1, 2, 3, 6, 10, 100, 1e6, 1 << 40} {
				got = append(got, uint64(r.intn(n)))
			}
			got = append(got, uint64(r.between(-5, 5)+5))
		}
		rngtest.Check(t, "data_task_intn", "data/split.go rng.intn", got)
	})
}
