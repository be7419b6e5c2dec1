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
	rngtest.CheckPins(t,
		// The held-out split of 512 ids, one bit an id.
		rngtest.Pin{Golden: "data_heldout_split", Site: "data/split.go IsHeldOut", Values: func(_ testing.TB, _ []uint64) (got []uint64) {
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
			return got
		}},
		rngtest.Pin{Golden: "data_task_stream", Site: "data/split.go newRNG", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, seed := range []uint64{0, 1, w[20]} {
				for _, task := range []string{"arithmetic", "countdown"} {
					for _, index := range []uint64{0, 1, 1000} {
						r := newRNG(seed, task, index)
						got = append(got, r.next(), r.next())
					}
				}
			}
			return got
		}},
		// The task streams' modulo draws.
		rngtest.Pin{Golden: "data_task_intn", Site: "data/split.go rng.intn", Values: func(_ testing.TB, _ []uint64) (got []uint64) {
			for _, index := range []uint64{0, 5, 77} {
				r := newRNG(3, "countdown", index)
				for _, n := range []int{1, 2, 3, 6, 10, 100, 1e6, 1 << 40} {
					got = append(got, uint64(r.intn(n)))
				}
				got = append(got, uint64(r.between(-5, 5)+5))
			}
			return got
		}},
	)
}
