package openaiserver

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the server's prompt keys to the
// golden file shared with package data/rng (which also checks the request
// seeds recorded from this package).
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(48)
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
