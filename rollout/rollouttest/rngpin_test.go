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
	rngtest.CheckPins(t, rngtest.Pin{Golden: "hashmodel_completion", Site: "rollout/rollouttest/model.go hashComplete", Values: func(_ testing.TB, w []uint64) (got []uint64) {
		for _, prompt := range []string{"Q: 1+1?", "Q: 1+1?" + data.EmptyTrace} {
			for _, idx := range []int32{0, 3} {
				r := data.GenRequest{PromptID: w[30], SampleIdx: idx, PromptTokens: ByteCodec{}.Encode(prompt)}
				res := hashComplete(w[31], r, data.GenParams{MaxNewTokens: 12})
				for i, tok := range res.Tokens {
					got = append(got, uint64(tok)<<32|uint64(math.Float32bits(res.Logprobs[i])))
				}
			}
		}
		return got
	}})
}
