package rollouttest

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the hash model's per-sample key and
// its completions to the golden files shared with package data/rng, so
// that conformance runs see the same fake completions as before.
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(48)
	t.Run("SplitMix64 is unchanged", func(t *testing.T) {
		var got []uint64
		for _, x := range w {
			got = append(got, mix(x))
		}
		rngtest.Check(t, "splitmix64", "rollout/rollouttest/model.go mix", got)
	})
	t.Run("per-sample keys are unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{0, w[20]} {
			for _, pid := range []uint64{0, 1, w[21]} {
				for _, idx := range []int32{0, 1, 5, -1} {
					for _, greedy := range []bool{false, true} {
						s := mix(seed ^ mix(pid+0x51ed))
						if !greedy {
							s = mix(s ^ mix(uint64(idx)+1))
						}
						got = append(got, s)
					}
				}
			}
		}
		rngtest.Check(t, "hashmodel_key", "rollout/rollouttest/model.go hashComplete", got)
	})
	t.Run("completions are unchanged", func(t *testing.T) {
		var got []uint64
		for _, prompt := range []string{"Q: 1+1?", "Q: 1+1?" + data.EmptyTrace} {
			for _, idx := range []int32{0, 3} {
				r := data.GenRequest{PromptID: w[30], SampleIdx: idx, PromptTokens: ByteCodec{}.Encode(prompt)}
				res := hashComplete(w[31], r, data.GenParams{MaxNewTokens: 12})
				for i, tok := range res.Tokens {
					got = append(got, uint64(tok)<<32|uint64(math.Float32bits(res.Logprobs[i])))
				}
			}
		}
		rngtest.Check(t, "hashmodel_completion", "rollout/rollouttest/model.go hashComplete", got)
	})
}
