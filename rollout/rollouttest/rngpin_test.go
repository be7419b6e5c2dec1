package rollouttest

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the hash model's completions to the
// golden file shared with package data/rng (which also checks the
// per-sample key recorded from this package), so that conformance runs see
// the same fake completions as before.
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(48)
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
