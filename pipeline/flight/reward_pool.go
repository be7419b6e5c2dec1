package flight

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
)

// RewardPool sends scoring requests to Flight reward workers, failing over
// between them. It is safe for concurrent use; Close it when done.
type RewardPool struct {
	*pool
}

// NewRewardPool makes a pool over the reward workers at addrs (host:port).
// It does not connect yet.
func NewRewardPool(addrs []string, opts ...Option) (*RewardPool, error) {
	p, err := newPool(addrs, opts)
	if err != nil {
		return nil, err
	}
	return &RewardPool{p}, nil
}

// Score scores rows on the live workers, cutting them into chunks of whole
// groups (runs of equal prompt_id and mode), and returns the scored rows in
// order: the same rows the in-process reward stage produces with the
// workers' reward configuration. The workers apply on_error per group; Score
// applies max_error_rate to the whole batch (an error wrapping
// reward.ErrTooManyErrors). on_error fail surfaces as an error wrapping
// ErrRemote. Worker failures are retried like RolloutPool's.
func (rp *RewardPool) Score(ctx context.Context, rows []data.Rollout) ([]data.Scored, error) {
	if len(rows) == 0 {
		return []data.Scored{}, nil
	}
	p := rp.pool
	bounds := groupBounds(rows, len(p.live()))
	n := len(bounds) - 1
	results := make([][]data.Scored, n)
	sums := make([]ScoreSummary, n)
	err := p.runChunks(ctx, n, func(ctx context.Context, w *worker, i int) error {
		var err error
		results[i], sums[i], err = rp.scoreOn(ctx, w, rows[bounds[i]:bounds[i+1]])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("flight: scoring %d rows: %w", len(rows), err)
	}
	out := make([]data.Scored, 0, len(rows))
	var total reward.Summary // chunks are contiguous, in row order
	for i, r := range results {
		out = append(out, r...)
		total.Add(sums[i].summary())
	}
	if err := total.Err(); err != nil {
		return out, fmt.Errorf("flight: %w", err)
	}
	return out, nil
}

// groupBounds cuts rows into at most n chunks of whole groups of about
// equal group counts; chunk i is rows[b[i]:b[i+1]].
func groupBounds(rows []data.Rollout, n int) []int {
	ids := reward.GroupIDs(rows)
	groups := ids[len(ids)-1] + 1
	n = max(1, min(n, groups))
	b := []int{0}
	for k := 1; k < n; k++ {
		g := k * groups / n
		i := b[len(b)-1]
		for ids[i] < g {
			i++
		}
		b = append(b, i)
	}
	return append(b, len(rows))
}

func (rp *RewardPool) scoreOn(ctx context.Context, w *worker, rows []data.Rollout) ([]data.Scored, ScoreSummary, error) {
	p := rp.pool
	rec := data.NewRolloutsRecord(p.cfg.mem, rows)
	defer rec.Release()
	out := make([]data.Scored, 0, len(rows))
	meta, err := exchange(ctx, w.client, p.cfg.mem, RequestHeader{Role: RoleReward}, rec.Schema(), []arrow.Record{rec}, data.ScoredSchema(), func(r arrow.Record) error {
		s, err := data.ScoredFromRecord(r)
		out = append(out, s...)
		return err
	})
	var sum ScoreSummary
	if err != nil {
		return nil, sum, err
	}
	if len(out) != len(rows) {
		return nil, sum, fmt.Errorf("%w: worker %s returned %d scored rows for %d", ErrProtocol, w.addr, len(out), len(rows))
	}
	if err := json.Unmarshal(meta, &sum); err != nil {
		return nil, sum, fmt.Errorf("%w: worker %s: score summary: %v", ErrProtocol, w.addr, err)
	}
	return out, sum, nil
}
