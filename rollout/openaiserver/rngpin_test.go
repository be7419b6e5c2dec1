package openaiserver

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the server's request seeds and
// prompt keys to the golden files shared with package data/rng.
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(48)
	t.Run("SplitMix64 is unchanged", func(t *testing.T) {
		var got []uint64
		for _, x := range w {
			got = append(got, mix(x))
		}
		rngtest.Check(t, "splitmix64", "rollout/openaiserver/generate.go mix", got)
	})
	t.Run("seeds of unseeded requests are unchanged", func(t *testing.T) {
		var got []uint64
		for _, seed := range []uint64{0, 1, w[20]} {
			for n := uint64(1); n <= 10; n++ {
				got = append(got, mix(seed^mix(n)))
			}
		}
		rngtest.Check(t, "openaiserver_request_seed", "rollout/openaiserver/generate.go Server.run", got)
	})
	t.Run("prompt keys are unchanged", func(t *testing.T) {
		var got []uint64
		for i := range 8 {
			tokens := make([]int32, i)
			for j := range tokens {
				tokens[j] = int32(w[i+j] % 50000)
			}
			for pos := range 4 {
				got = append(got, promptID(tokens, pos))
			}
		}
		rngtest.Check(t, "openaiserver_prompt_id", "rollout/openaiserver/generate.go promptID", got)
	})
}
