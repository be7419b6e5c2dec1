package rollout

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the rollout seeds (per step, round
// and mode; per OpenAI group and fallback sample) to the golden files
// shared with package data/rng.
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(48)
	t.Run("SplitMix64 is unchanged", func(t *testing.T) {
		var got []uint64
		for _, x := range w {
			got = append(got, mix(x))
		}
		rngtest.Check(t, "splitmix64", "rollout/generator.go mix", got)
	})
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
	t.Run("OpenAI group seeds are unchanged", func(t *testing.T) {
		var got []uint64
		for i := range 32 {
			stepSeed, promptID := w[i], w[i+1]
			got = append(got, mix(stepSeed^mix(promptID)))
		}
		rngtest.Check(t, "openai_group_seed", "rollout/openai_call.go group", got)
	})
	t.Run("OpenAI fallback seeds are unchanged", func(t *testing.T) {
		var got []uint64
		for i := range 8 {
			for s := range 4 {
				got = append(got, mix(w[i+10]^mix(uint64(s)+1)))
			}
		}
		rngtest.Check(t, "openai_fallback_seed", "rollout/openai_call.go group", got)
	})
}
