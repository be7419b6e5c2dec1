package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rlpipe/rlpipe/reward"
)

// secondBatchRows counts the rows pipeline-test-fails-after scored; the
// reward pays 1 for the first secondBatchAfter rows and fails every later
// row, i.e. from the second step on when a step scores that many rows.
var (
	secondBatchRows  atomic.Int64
	secondBatchAfter int64
)

func init() {
	reward.Register("pipeline-test-fails-after", reward.Static(reward.RowFunc(func(context.Context, reward.Row) (float64, error) {
		if secondBatchRows.Add(1) > secondBatchAfter {
			return 0, fmt.Errorf("late row")
		}
		return 1, nil
	})))
}

// TestStepErrorsNameTheStepTheLogPrints fails the reward of the second
// step: the run's error must say "step 2", as the progress line and
// metrics.jsonl number it, not the 0-based index 1.
func TestStepErrorsNameTheStepTheLogPrints(t *testing.T) {
	cfg := withInit(t, smallRunConfig())
	cfg.Train.Steps = 2
	cfg.Reward = reward.Config{Spec: "pipeline-test-fails-after", OnError: reward.OnErrorFail, MaxErrorRate: 1}
	secondBatchRows.Store(0)
	secondBatchAfter = int64(cfg.Train.PromptsPerStep * cfg.Rollout.G)
	var log bytes.Buffer
	_, err := Run(context.Background(), cfg, RunOptions{OutDir: t.TempDir(), Stderr: &log})
	if !errors.Is(err, reward.ErrRowFailed) {
		t.Fatalf("run error %v, want a reward row failure", err)
	}
	if !strings.Contains(log.String(), "step 1/2:") {
		t.Fatalf("the first step was not logged as step 1/2:\n%s", log.String())
	}
	if !strings.Contains(err.Error(), "step 2:") || strings.Contains(err.Error(), "step 1:") {
		t.Fatalf("error %q, want it to name step 2 (the second step, as logged)", err)
	}
}
