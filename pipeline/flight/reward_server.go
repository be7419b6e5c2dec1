package flight

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	arrowflight "github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
)

// DroppedText is the reward_error of a row dropped because another row of
// its group failed (on_error drop_group), as the in-process reward stage
// writes it.
const DroppedText = "dropped: another row of the group failed"

// RewardServer is the Flight service of a reward worker: it scores rollouts
// batches with a reward.Scorer. It is safe for concurrent use (the Scorer
// is); it does not close the Scorer.
type RewardServer struct {
	arrowflight.BaseFlightServer
	scorer *reward.Scorer
	mem    memory.Allocator
}

// NewRewardServer serves scorer; mem allocates reply batches (nil means
// memory.DefaultAllocator).
func NewRewardServer(scorer *reward.Scorer, mem memory.Allocator) *RewardServer {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &RewardServer{scorer: scorer, mem: mem}
}

// DoAction serves ActionStatus.
func (s *RewardServer) DoAction(a *arrowflight.Action, stream arrowflight.FlightService_DoActionServer) error {
	if a.Type != ActionStatus {
		return status.Errorf(codes.Unimplemented, "flight: reward worker has no action %q (want %q)", a.Type, ActionStatus)
	}
	cfg := s.scorer.Config()
	return sendJSON(stream, WorkerStatus{Role: RoleReward, OnError: string(cfg.OnError), MaxErrorRate: cfg.MaxErrorRate})
}

// DoExchange scores one request's rollouts batches and streams the scored
// batches back; the last carries a ScoreSummary.
func (s *RewardServer) DoExchange(stream arrowflight.FlightService_DoExchangeServer) error {
	ctx := stream.Context()
	_, recs, err := readRequest(stream, s.mem, RoleReward, data.RolloutsSchema())
	if err != nil {
		return err
	}
	rows, err := decodeAll(recs, data.RolloutsFromRecord)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	scored, sum, err := ScoreRows(ctx, s.scorer, rows)
	if err != nil {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		return status.Error(codes.Internal, err.Error())
	}
	meta, err := json.Marshal(sum)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return writeReply(stream, s.mem, data.ScoredSchema(), len(scored), meta, func(lo, hi int) arrow.Record {
		return data.NewScoredRecord(s.mem, scored[lo:hi])
	})
}

// ScoreRows scores rows grouped by runs of equal (prompt_id, mode) and
// applies the scorer's on_error policy per group, as the in-process reward
// stage does, except max_error_rate: the summary reports the error count and
// the rate limit, and the caller applies it to the whole batch (see
// CheckErrorRate). Rows of a dropped group get DroppedText unless they carry
// their own error. An error means the whole batch failed (on_error fail, or
// a scorer failure).
func ScoreRows(ctx context.Context, scorer *reward.Scorer, rows []data.Rollout) ([]data.Scored, ScoreSummary, error) {
	in := make([]reward.Row, len(rows))
	for i, r := range rows {
		in[i] = reward.Row{Prompt: r.Prompt, Completion: r.Completion, Answer: r.Answer, Meta: r.Meta, CompletionTokens: len(r.CompletionTokens)}
	}
	groups := GroupIDs(rows)
	out := make([]reward.Result, len(rows))
	cfg := scorer.Config()
	sum := ScoreSummary{Rows: len(rows), MaxErrorRate: cfg.MaxErrorRate}
	if sum.MaxErrorRate == 0 {
		sum.MaxErrorRate = reward.DefaultMaxErrorRate
	}
	if err := scorer.Score(ctx, in, out); err != nil {
		return nil, sum, err
	}
	noRate := cfg
	noRate.MaxErrorRate = 1 // the caller applies the rate to the whole batch
	counts, err := reward.ApplyPolicy(noRate, groups, out)
	if err != nil {
		return nil, sum, err
	}
	sum.Errors = counts.Errors
	scored := make([]data.Scored, len(rows))
	for i := range rows {
		if out[i].Err != "" && sum.First == "" {
			sum.First, sum.FirstRow = out[i].Err, i
		}
		scored[i] = data.Scored{Rollout: rows[i], Reward: out[i].Reward, RewardParts: out[i].Parts, RewardError: out[i].Err}
		if out[i].Dropped && scored[i].RewardError == "" {
			scored[i].RewardError = DroppedText
		}
	}
	return scored, sum, nil
}

// CheckErrorRate returns an error wrapping reward.ErrTooManyErrors when
// errors/rows exceeds maxRate, like reward.ApplyPolicy.
func CheckErrorRate(errors, rows int, maxRate float64, first string) error {
	if errors == 0 || rows == 0 {
		return nil
	}
	if rate := float64(errors) / float64(rows); rate > maxRate {
		return fmt.Errorf("%w: %d of %d rows (%.3g > %.3g); first: %s", reward.ErrTooManyErrors, errors, rows, rate, maxRate, first)
	}
	return nil
}

// GroupIDs numbers groups by runs of equal (prompt_id, mode) in row order.
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
