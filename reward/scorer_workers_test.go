package reward_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/reward"
)

// inflight and peak count the rows "test-inflight" is scoring at once.
var inflight, peak atomic.Int64

func init() {
	// "test-inflight" holds each row for 20ms and records how many rows it
	// was scoring at the same time.
	reward.Register("test-inflight", reward.Static(reward.RowFunc(func(context.Context, reward.Row) (float64, error) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		return 1, nil
	})))
}

// reward.workers bounds how many rows an in-process reward scores at once:
// one worker scores strictly one row at a time, four overlap.
func TestScorerWorkersBoundsParallelRows(t *testing.T) {
	for _, tc := range []struct {
		workers          int
		minPeak, maxPeak int64
	}{
		{workers: 1, minPeak: 1, maxPeak: 1},
		{workers: 4, minPeak: 2, maxPeak: 4},
	} {
		peak.Store(0)
		s := newScorer(t, reward.Config{Spec: "test-inflight", Workers: tc.workers})
		scoreRows(t, s, make([]reward.Row, 8)...)
		if p := peak.Load(); p < tc.minPeak || p > tc.maxPeak {
			t.Errorf("workers %d: %d rows scored at once, want %d..%d", tc.workers, p, tc.minPeak, tc.maxPeak)
		}
	}
}
