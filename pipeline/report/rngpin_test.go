package report

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestSyntheticRunStreamIsPinned pins the stream behind the synthetic runs
// to the stream golden file of package data/rng.
func TestSyntheticRunStreamIsPinned(t *testing.T) {
	w := rngtest.Words(4)
	var got []uint64
	for k := range 4 {
		s := newSplitmix(w[k])
		for range 8 {
			got = append(got, math.Float64bits(s.float()))
		}
	}
	rngtest.Check(t, "stream_float64", "pipeline/report/gen_test.go splitmix", got)
}
