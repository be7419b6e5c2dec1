package learn

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestGDPOMaskSeedsArePinned checks GDPO's mask seeds against the golden
// file recorded from the pipeline's GDPO learner before it moved here.
func TestGDPOMaskSeedsArePinned(t *testing.T) {
	w := rngtest.Words(48)
	t.Run("GDPO mask seeds are unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{0, 1, w[20]} {
			g := &gdpo{core: core{seed: seed}}
			for step := range 12 {
				got = append(got, g.maskSeed(step))
			}
		}
		rngtest.Check(t, "gdpo_mask_seed", "pipeline/gdpo.go gdpoLearner.maskSeed (now policy/learn gdpo.maskSeed)", got)
	})
}
