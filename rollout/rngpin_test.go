package rollout

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins StepSeed to the golden file shared
// with package data/rng, which also checks the OpenAI group and fallback
// seeds recorded from this package.
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(48)
	t.Run("step seeds are unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{0, 1, w[20]} {
			for _, step := range []int64{0, 1, 99} {
				for _, round := range []int{0, 3} {
					for _, mode := range []uint8{0, 1} {
						got = append(got, StepSeed(seed, step, round, mode))
					}
				}
			}
		}
		rngtest.Check(t, "rollout_step_seed", "rollout/generator.go StepSeed", got)
	})
}
