package pipeline

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the SFT and GDPO seeds (empty-trace
// share, mask seeds, epoch shuffles) to the golden files shared with
// package data/rng.
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(48)
	t.Run("SplitMix64 is unchanged", func(t *testing.T) {
		var got []uint64
		for _, x := range w {
			got = append(got, mix64(x))
		}
		rngtest.Check(t, "splitmix64", "pipeline/sft.go mix64", got)
	})
	t.Run("the SFT empty-trace draw of an id is unchanged", func(t *testing.T) {
		var got []uint64
		for _, id := range w {
			got = append(got, math.Float64bits(float64(mix64(id^0x5f7)>>11)/(1<<53)))
		}
		rngtest.Check(t, "sft_empty_unit", "pipeline/sft.go sftSequences", got)
	})
	t.Run("SFT mask seeds are unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{0, 1, w[20]} {
			for step := range 12 {
				got = append(got, mix64(seed^mix64(uint64(step)+0xd1f)))
			}
		}
		rngtest.Check(t, "sft_mask_seed", "pipeline/sft.go SFT", got)
	})
	t.Run("SFT epoch keys are unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{0, 1, w[20]} {
			for epoch := range uint64(12) {
				got = append(got, mix64(seed^mix64(epoch+0x51f7)))
			}
		}
		rngtest.Check(t, "sft_epoch_key", "pipeline/sft.go epochOrder.shuffle", got)
	})
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
