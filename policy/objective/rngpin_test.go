package objective

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestRandomDerivationsArePinned pins Key and Stream, from which every
// mask, stratified count and mini-batch shuffle derives, to the golden
// files shared with package data/rng (which also checks the finaliser
// this package called mix64).
func TestRandomDerivationsArePinned(t *testing.T) {
	w := rngtest.Words(64)
	t.Run("keys of zero to four ids are unchanged", func(t *testing.T) {
		var got []uint64
		for i := range 40 {
			got = append(got, Key(w[i], w[i+1:i+1+i%5]...))
		}
		rngtest.Check(t, "key", "policy/objective/rng.go Key", got)
	})
	t.Run("stream words are unchanged", func(t *testing.T) {
		var got []uint64
		for k := range 6 {
			s := NewStream(w[k])
			for range 8 {
				got = append(got, s.Uint64())
			}
		}
		rngtest.Check(t, "stream_uint64", "policy/objective/rng.go Stream.Uint64", got)
	})
	t.Run("stream integers are unchanged", func(t *testing.T) {
		var got []uint64
		for k := range 4 {
			s := NewStream(w[k+12])
			for _, n := range []int{1, 2, 3, 5, 7, 10, 100, 1000, 1 << 20, 1<<31 - 1, 1 << 62} {
				got = append(got, uint64(s.Intn(n)))
			}
		}
		rngtest.Check(t, "stream_intn", "policy/objective/rng.go Stream.Intn", got)
	})
	t.Run("stream floats are unchanged", func(t *testing.T) {
		var got []uint64
		for k := range 4 {
			s := NewStream(w[k])
			for range 8 {
				got = append(got, math.Float64bits(s.Float64()))
			}
		}
		rngtest.Check(t, "stream_float64", "policy/objective/rng.go Stream.Float64", got)
	})
}
