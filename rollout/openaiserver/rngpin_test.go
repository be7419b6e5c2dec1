package openaiserver

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins the server's prompt keys to the
// golden file shared with package data/rng (which also checks the request
// seeds recorded from this package).
func TestRandomDerivationsArePinned(t *testing.T) {
	rngtest.CheckPins(t, rngtest.Pin{Golden: "openaiserver_prompt_id", Site: "rollout/openaiserver/generate.go promptID", Values: func(_ testing.TB, w []uint64) (got []uint64) {
		for i := range 8 {
			tokens := make([]int32, i)
			for j := range tokens {
				tokens[j] = int32(w[i+j] % 50000)
			}
			for pos := range 4 {
				got = append(got, promptID(tokens, pos))
			}
		}
		return got
	}})
}
