package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rlpipe/rlpipe/reward"
)

func init() {
	// The flaky reward fails on completions of odd length and otherwise
	// pays 1: on an untrained policy some rows of most groups fail.
	reward.Register("pipeline-test-flaky", reward.Static(reward.RowFunc(func(_ context.Context, r reward.Row) (float64, error) {
		if len(r.Completion)%2 == 1 {
			return 0, fmt.Errorf("odd completion")
		}
		return 1, nil
	})))
}

// onErrorTotals are the metrics.jsonl counts on_error decides, summed
// over a run's steps.
type onErrorTotals struct {
	Errors, DroppedGroups, TrainRows int
}

func runOnError(t *testing.T, policy reward.OnError) (onErrorTotals, error) {
	t.Helper()
	cfg := withInit(t, smallRunConfig())
	cfg.Train.Steps = 2
	cfg.Reward = reward.Config{Spec: "pipeline-test-flaky", OnError: policy, MaxErrorRate: 1}
	out := t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: out}); err != nil {
		return onErrorTotals{}, err
	}
	var tot onErrorTotals
	for _, line := range readLines(t, filepath.Join(out, metricsFile)) {
		var m StepMetrics
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		tot.Errors += m.RewardErrors
		tot.DroppedGroups += m.DroppedGroups
		tot.TrainRows += m.TrainRows
	}
	return tot, nil
}

// TestOnErrorDecidesWhatTheRunTrainsOn runs the same flaky reward under
// each reward.on_error policy: zero trains on the failed rows with reward
// 0 (no group dropped, errors still counted), drop_group drops their
// groups, and fail stops the run.
func TestOnErrorDecidesWhatTheRunTrainsOn(t *testing.T) {
	drop, err := runOnError(t, reward.OnErrorDropGroup)
	if err != nil {
		t.Fatal(err)
	}
	zero, err := runOnError(t, reward.OnErrorZero)
	if err != nil {
		t.Fatal(err)
	}
	if drop.Errors == 0 || drop.DroppedGroups == 0 {
		t.Fatalf("drop_group: %+v, want errors and dropped groups (the test reward must fail some rows)", drop)
	}
	if zero.Errors == 0 || zero.DroppedGroups != 0 {
		t.Errorf("zero: %+v, want errors counted and no dropped group", zero)
	}
	if zero.TrainRows <= drop.TrainRows {
		t.Errorf("zero trained on %d rows, drop_group on %d: zero must keep the failed rows' groups", zero.TrainRows, drop.TrainRows)
	}
	if _, err := runOnError(t, reward.OnErrorFail); !errors.Is(err, reward.ErrRowFailed) {
		t.Errorf("fail: run error %v, want one wrapping reward.ErrRowFailed", err)
	}
}
