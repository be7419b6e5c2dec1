package pipeline

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins SFT's epoch shuffles and GDPO's mask
// seeds to the golden files shared with package data/rng (which also
// checks the SFT empty-trace share, mask seeds and epoch keys recorded
// from this package). Move it with sft.go and gdpo.go.
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(48)
	t.Run("SFT epoch orders are unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{1, 42} {
			o := newEpochOrder(7, seed)
			for range 3 * 7 {
				got = append(got, uint64(o.next()))
			}
		}
		rngtest.Check(t, "sft_epoch_order", "pipeline/sft.go epochOrder", got)
	})
	t.Run("GDPO mask seeds are unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{0, 1, w[20]} {
			g := &gdpoLearner{learner: &learner{seed: seed}}
			for step := range 12 {
				got = append(got, g.maskSeed(step))
			}
		}
		rngtest.Check(t, "gdpo_mask_seed", "pipeline/gdpo.go gdpoLearner.maskSeed", got)
	})
}
