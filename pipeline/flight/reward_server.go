package flight

import (
	"encoding/json"

	"github.com/apache/arrow/go/v17/arrow"
	arrowflight "github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
)

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
	_, rows, err := readRequestRows(stream, s.mem, RoleReward, data.RolloutsSchema(), data.RolloutsFromRecord)
	if err != nil {
		return err
	}
	scored, sum, err := s.scorer.ScoreRollouts(ctx, rows)
	if err != nil {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		return status.Error(codes.Internal, err.Error())
	}
	meta, err := json.Marshal(wireSummary(sum))
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return writeReply(stream, s.mem, data.ScoredSchema(), len(scored), meta, func(lo, hi int) arrow.Record {
		return data.NewScoredRecord(s.mem, scored[lo:hi])
	})
}
