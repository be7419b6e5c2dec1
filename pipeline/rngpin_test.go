package pipeline

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins SFT's epoch shuffles to the golden
// files shared with package data/rng (which also checks the SFT
// empty-trace share, mask seeds and epoch keys recorded from this
// package). Move it with sft.go; GDPO's mask seeds are pinned in
// policy/learn.
func TestRandomDerivationsArePinned(t *testing.T) {
	rngtest.CheckPins(t, rngtest.Pin{Golden: "sft_epoch_order", Site: "pipeline/sft.go epochOrder", Values: func(_ testing.TB, _ []uint64) (got []uint64) {
		for _, seed := range []uint64{1, 42} {
			o := newEpochOrder(7, seed)
			for range 3 * 7 {
				got = append(got, uint64(o.next()))
			}
		}
		return got
	}})
}
