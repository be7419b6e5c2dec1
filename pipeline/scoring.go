package pipeline

import (
	"context"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/flight"
	"github.com/rlpipe/rlpipe/reward"
)

// scoring owns the run's rewards: the shaped reward (reward.*), scored
// locally or on the Flight reward workers (distributed.reward_workers), and
// the correctness verifier (eval.verifier) that evaluation, VAS and the
// DAPO filter read. close releases them (subprocess plugins included).
type scoring struct {
	scorer   *reward.Scorer
	verifier *reward.Scorer
	flight   *flight.RewardPool
}

// newScoring builds the reward scorer and the verifier; connect adds the
// Flight reward workers.
func newScoring(cfg RunConfig) (*scoring, error) {
	scorer, err := reward.NewScorer(cfg.Reward)
	if err != nil {
		return nil, fmt.Errorf("pipeline: reward: %w", err)
	}
	verifier, err := reward.NewScorer(reward.Config{Spec: cfg.Eval.Verifier, OnError: reward.OnErrorZero, MaxErrorRate: 1})
	if err != nil {
		scorer.Close()
		return nil, fmt.Errorf("pipeline: eval.verifier: %w", err)
	}
	return &scoring{scorer: scorer, verifier: verifier}, nil
}

// connect opens the Flight reward pool of distributed.reward_workers, if
// any.
func (s *scoring) connect(cfg RunConfig, mem memory.Allocator) error {
	w := cfg.Distributed.RewardWorkers
	if len(w) == 0 {
		return nil
	}
	pool, err := flight.NewRewardPool(w, flightOptions(cfg, mem)...)
	if err != nil {
		return err
	}
	s.flight = pool
	return nil
}

func (s *scoring) close() {
	if s.flight != nil {
		s.flight.Close()
	}
	s.scorer.Close()
	s.verifier.Close()
}

// score scores rollouts on the Flight reward workers when configured, else
// with the local Scorer.
func (s *scoring) score(ctx context.Context, rows []data.Rollout) ([]data.Scored, error) {
	if s.flight != nil {
		return s.flight.Score(ctx, rows)
	}
	return scoreRollouts(ctx, s.scorer, rows)
}
