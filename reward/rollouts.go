package reward

import (
	"context"

	"github.com/rlpipe/rlpipe/data"
)

// DroppedText is the reward_error of a row dropped because another row of
// its group failed (on_error drop_group).
const DroppedText = "dropped: another row of the group failed"

// ScoreRollouts scores a step's rollouts (or a contiguous part of them) the
// one way the RL loop does, in process and on Flight reward workers alike:
// rows are grouped by runs of equal (prompt_id, mode) (GroupIDs), on_error
// applies per group as in ScoreBatch, and max_error_rate is left to the
// caller, who checks the Summary of the whole step (Summary.Err). Rows of a
// dropped group get DroppedText as their reward_error unless they carry
// their own error. An error means the whole batch failed (on_error fail, or
// a scorer failure); the scored rows are then nil. It is safe for
// concurrent use.
func (s *Scorer) ScoreRollouts(ctx context.Context, rows []data.Rollout) ([]data.Scored, Summary, error) {
	out := make([]Result, len(rows))
	sum, err := s.ScoreBatch(ctx, RolloutRows(rows), GroupIDs(rows), out)
	if err != nil {
		return nil, sum, err
	}
	scored := make([]data.Scored, len(rows))
	for i := range rows {
		scored[i] = data.Scored{Rollout: rows[i], Reward: out[i].Reward, RewardParts: out[i].Parts, RewardError: out[i].Err}
		if out[i].Dropped && scored[i].RewardError == "" {
			scored[i].RewardError = DroppedText
		}
	}
	return scored, sum, nil
}

// RolloutRows returns what a reward reads of each rollout: prompt,
// completion, answer, meta and the completion's token count.
func RolloutRows(rows []data.Rollout) []Row {
	in := make([]Row, len(rows))
	for i, r := range rows {
		in[i] = Row{Prompt: r.Prompt, Completion: r.Completion, Answer: r.Answer, Meta: r.Meta, CompletionTokens: len(r.CompletionTokens)}
	}
	return in
}

// GroupIDs numbers the groups of rows by runs of equal (prompt_id, mode)
// in row order, starting at 0: the groups on_error drop_group drops whole.
func GroupIDs(rows []data.Rollout) []int {
	out := make([]int, len(rows))
	g := 0
	for i := 1; i < len(rows); i++ {
		if rows[i].PromptID != rows[i-1].PromptID || rows[i].Mode != rows[i-1].Mode {
			g++
		}
		out[i] = g
	}
	return out
}
