package reward_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
)

func TestScoreBatchAppliesOnErrorButNotTheRate(t *testing.T) {
	rows, groups := failingGroup()
	for _, tc := range []struct {
		name    string
		cfg     reward.Config
		wantErr error
		dropped []bool
	}{
		{"drop_group drops the failed group even far past the rate", reward.Config{Spec: "test-echo", MaxErrorRate: 0.01},
			nil, []bool{true, true, false, false}},
		{"zero keeps every row", reward.Config{Spec: "test-echo", OnError: reward.OnErrorZero},
			nil, []bool{false, false, false, false}},
		{"fail still fails the batch", reward.Config{Spec: "test-echo", OnError: reward.OnErrorFail},
			reward.ErrRowFailed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScorer(t, tc.cfg)
			out := make([]reward.Result, len(rows))
			sum, err := s.ScoreBatch(context.Background(), rows, groups, out)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if sum.Rows != 4 || sum.Errors != 1 || sum.First != out[1].Err || sum.FirstRow != 1 || sum.MaxErrorRate != s.Config().MaxErrorRate {
				t.Errorf("summary = %+v", sum)
			}
			for i := range tc.dropped {
				if out[i].Dropped != tc.dropped[i] {
					t.Errorf("row %d: dropped=%v, want %v", i, out[i].Dropped, tc.dropped[i])
				}
			}
		})
	}
}

func TestSummaryAppliesTheRateToTheWholeInput(t *testing.T) {
	part := func(rows, errs, first int) reward.Summary {
		s := reward.Summary{Counts: reward.Counts{Rows: rows, Errors: errs}, MaxErrorRate: 0.25}
		if errs > 0 {
			s.First, s.FirstRow = "broken", first
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		parts   []reward.Summary
		wantErr string // "" for none
	}{
		{"no rows is no error", nil, ""},
		{"errors within the rate pass", []reward.Summary{part(4, 0, 0), part(4, 2, 3)}, ""},
		{"the first error is located across parts", []reward.Summary{part(4, 0, 0), part(4, 2, 1), part(2, 1, 0)},
			"3 of 10 rows (0.3 > 0.25); first: row 5: broken"},
		{"an early failure stays the first", []reward.Summary{part(2, 2, 1), part(2, 2, 0)},
			"4 of 4 rows (1 > 0.25); first: row 1: broken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var total reward.Summary
			for _, p := range tc.parts {
				total.Add(p)
			}
			err := total.Err()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, reward.ErrTooManyErrors) || !strings.HasSuffix(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want ErrTooManyErrors ending in %q", err, tc.wantErr)
			}
		})
	}
}

func TestScoreRolloutsMatchesScoreGroups(t *testing.T) {
	// Two prompts × two modes; the second group's second row fails.
	var rows []data.Rollout
	for i, c := range []string{"1", "2", "3", "fail", "5", "6", "7", "8"} {
		rows = append(rows, data.Rollout{PromptID: uint64(10 + i/4), Mode: uint8(i / 2 % 2), SampleIdx: int32(i % 2),
			Completion: c, CompletionTokens: make([]int32, i+1)})
	}
	if got, want := reward.GroupIDs(rows), []int{0, 0, 1, 1, 2, 2, 3, 3}; !reflect.DeepEqual(got, want) {
		t.Fatalf("GroupIDs = %v, want %v", got, want)
	}
	s := newScorer(t, reward.Config{Spec: "test-echo+length(max_len=100,buffer=10)", MaxErrorRate: 1})
	scored, sum, err := s.ScoreRollouts(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]reward.Row, len(rows))
	for i, r := range rows {
		in[i] = reward.Row{Completion: r.Completion, CompletionTokens: len(r.CompletionTokens)}
	}
	want := make([]reward.Result, len(rows))
	if _, err := s.ScoreGroups(context.Background(), in, reward.GroupIDs(rows), want); err != nil {
		t.Fatal(err)
	}
	for i, sc := range scored {
		wantErr := want[i].Err
		if want[i].Dropped && wantErr == "" {
			wantErr = reward.DroppedText
		}
		if sc.Rollout.Completion != rows[i].Completion || sc.Reward != want[i].Reward ||
			!reflect.DeepEqual(sc.RewardParts, want[i].Parts) || sc.RewardError != wantErr {
			t.Errorf("row %d: got %+v, want %+v (error %q)", i, sc, want[i], wantErr)
		}
	}
	if sum.Rows != 8 || sum.Errors != 1 || sum.FirstRow != 3 || sum.Err() != nil {
		t.Errorf("summary = %+v (err %v)", sum, sum.Err())
	}
}
