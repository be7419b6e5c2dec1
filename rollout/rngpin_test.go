package rollout

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins StepSeed to the golden file shared
// with package data/rng, which also checks the OpenAI group and fallback
// seeds recorded from this package.
func TestRandomDerivationsArePinned(t *testing.T) {
	rngtest.CheckPins(t, rngtest.Pin{Golden: "rollout_step_seed", Site: "rollout/generator.go StepSeed", Values: func(_ testing.TB, w []uint64) (got []uint64) {
		for _, seed := range []uint64{0, 1, w[20]} {
			for _, step := range []int64{0, 1, 99} {
				for _, round := range []int{0, 3} {
					for _, mode := range []uint8{0, 1} {
						got = append(got, StepSeed(seed, step, round, mode))
					}
				}
			}
		}
		return got
	}})
}
