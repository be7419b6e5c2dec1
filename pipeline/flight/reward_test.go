package flight

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
)

func init() {
	// flight_test_flaky fails on rows whose answer is "bad" and scores 1
	// when the completion contains the answer.
	reward.Register("flight_test_flaky", reward.Static(reward.RowFunc(func(_ context.Context, r reward.Row) (float64, error) {
		if r.Answer == "bad" {
			return 0, errors.New("verifier crashed")
		}
		if strings.Contains(r.Completion, r.Answer) {
			return 1, nil
		}
		return 0, nil
	})))
}

// testRollouts returns prompts×modes×g rows in group order; prompt 2's
// answer is "bad" when withErrors.
func testRollouts(prompts, g int, withErrors bool) []data.Rollout {
	var rows []data.Rollout
	for p := range prompts {
		ans := fmt.Sprint(p + 3)
		if withErrors && p == 2 {
			ans = "bad"
		}
		for mode := range 2 {
			for s := range g {
				comp := fmt.Sprintf("<think>t</think><answer>%d</answer>", p+3+s%2)
				rows = append(rows, data.Rollout{PromptID: uint64(100 + p), Dataset: "d", Prompt: "q", Answer: ans, Meta: "{}",
					SampleIdx: int32(s), Mode: uint8(mode), PolicyVersion: 4, PromptTokens: []int32{5, 6},
					CompletionTokens: []int32{7, 8, 9}, Completion: comp, Logprobs: []float32{-1, -2, -0.5}, FinishReason: data.FinishStop})
			}
		}
	}
	return rows
}

// directScores scores rows in one batch with the Scorer as the in-process
// reward stage does.
func directScores(t *testing.T, s *reward.Scorer, rows []data.Rollout) ([]data.Scored, error) {
	t.Helper()
	in := make([]reward.Row, len(rows))
	for i, r := range rows {
		in[i] = reward.Row{Prompt: r.Prompt, Completion: r.Completion, Answer: r.Answer, Meta: r.Meta, CompletionTokens: len(r.CompletionTokens)}
	}
	out := make([]reward.Result, len(rows))
	_, err := s.ScoreGroups(context.Background(), in, reward.GroupIDs(rows), out)
	scored := make([]data.Scored, len(rows))
	for i := range rows {
		scored[i] = data.Scored{Rollout: rows[i], Reward: out[i].Reward, RewardParts: out[i].Parts, RewardError: out[i].Err}
		if out[i].Dropped && scored[i].RewardError == "" {
			scored[i].RewardError = reward.DroppedText
		}
	}
	return scored, err
}

func rewardWorker(t *testing.T, s *reward.Scorer) *testServer {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return serve(t, NewRewardServer(s, mem))
}

func TestRewardPoolMatchesDirectScoring(t *testing.T) {
	cases := []struct {
		name       string
		cfg        reward.Config
		withErrors bool
		wantErr    error
	}{
		{"clean rows score as in process", reward.Config{Spec: "0.7*flight_test_flaky+0.3*format"}, false, nil},
		{"drop_group marks the failed group on every worker", reward.Config{Spec: "flight_test_flaky", MaxErrorRate: 1}, true, nil},
		{"zero keeps errors with reward 0", reward.Config{Spec: "flight_test_flaky", OnError: reward.OnErrorZero, MaxErrorRate: 1}, true, nil},
		{"the error rate applies to the whole batch", reward.Config{Spec: "flight_test_flaky", MaxErrorRate: 0.1}, true, reward.ErrTooManyErrors},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := reward.NewScorer(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			a, b := rewardWorker(t, s), rewardWorker(t, s)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rp, err := NewRewardPool([]string{a.Addr(), b.Addr()}, WithAllocator(mem))
			if err != nil {
				t.Fatal(err)
			}
			defer rp.Close()
			rows := testRollouts(5, 3, tc.withErrors)
			want, wantErr := directScores(t, s, rows)
			got, err := rp.Score(context.Background(), rows)
			if !errors.Is(err, tc.wantErr) || !errors.Is(wantErr, tc.wantErr) {
				t.Fatalf("pool error %v, direct error %v, want %v", err, wantErr, tc.wantErr)
			}
			checkSameScored(t, got, want)
			if st := rp.Stats(); st.Requests != 2 {
				t.Fatalf("stats %+v, want 2 requests", st)
			}
		})
	}
}

func TestRewardPoolFailsOverAndFailsOnFailPolicy(t *testing.T) {
	s, err := reward.NewScorer(reward.Config{Spec: "flight_test_flaky", OnError: reward.OnErrorFail})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	live := rewardWorker(t, s)
	rp, err := NewRewardPool([]string{deadAddr(t), live.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	rows := testRollouts(4, 2, false)
	want, _ := directScores(t, s, rows)
	got, err := rp.Score(context.Background(), rows)
	if err != nil {
		t.Fatalf("after failover: %v", err)
	}
	checkSameScored(t, got, want)
	if st := rp.Stats(); st.Retries != 1 || len(st.Dead) != 1 {
		t.Fatalf("stats %+v, want one retry and one dead worker", st)
	}
	_, err = rp.Score(context.Background(), testRollouts(4, 2, true))
	if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "verifier crashed") {
		t.Fatalf("on_error fail: got %v, want ErrRemote naming the row's error", err)
	}
}

func TestGroupBoundsKeepGroupsWhole(t *testing.T) {
	rows := testRollouts(5, 3, false) // 10 groups of 3
	cases := []struct {
		name string
		n    int
		want []int
	}{
		{"one worker takes everything", 1, []int{0, 30}},
		{"three workers split ten groups 3/3/4", 3, []int{0, 9, 18, 30}},
		{"more workers than groups gives one group each", 40, func() []int {
			b := []int{}
			for i := 0; i <= 30; i += 3 {
				b = append(b, i)
			}
			return b
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := groupBounds(rows, tc.n); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// checkSameScored compares scored rows; an empty reward_parts map equals a
// nil one (Arrow stores both as an empty map).
func checkSameScored(t *testing.T, got, want []data.Scored) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if len(g.RewardParts) == 0 && len(w.RewardParts) == 0 {
			g.RewardParts, w.RewardParts = nil, nil
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}
