package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/sourcegraph/conc/iter"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/stage"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout"
)

// generator produces a request's rollouts: rollout.InProcess over a weights
// snapshot, or rollout.OpenAI against an inference server. A remote
// generator may return fewer rows than asked (lost requests are dropped).
type generator interface {
	Generate(ctx context.Context, req rollout.Request) ([]data.Rollout, error)
}

// stepPrompts are the prompts picked for one RL step. Round is 0 for the
// step's own pick and n for its n-th DAPO refill round, whose rollouts
// draw their own random streams (rollout.Request.Round).
type stepPrompts struct {
	Step    int64
	Prompts []data.Prompt
	Round   int
}

// stepRecord carries one step's batch between stages. The receiver owns
// Record's reference and must release it.
type stepRecord struct {
	Step    int64
	Version int64
	Record  arrow.Record
	// Dropped counts rows lost upstream (failed rollouts).
	Dropped int
	// RolloutBusy and RewardBusy are the stages' busy times for this step;
	// Tokens counts generated tokens.
	RolloutBusy, RewardBusy time.Duration
	Tokens                  int
}

// Release releases the batch's record (if any); the Graph calls it for
// batches left in channels when a run stops.
func (sr stepRecord) Release() {
	if sr.Record != nil {
		sr.Record.Release()
	}
}

// versionStore holds weight snapshots by policy version, so that the
// rollouts of step s use version s−staleness exactly, whatever the timing.
type versionStore struct {
	mu       sync.Mutex
	cond     *sync.Cond
	versions map[int64]policy.Trainable
	closed   bool
}

func newVersionStore() *versionStore {
	v := &versionStore{versions: map[int64]policy.Trainable{}}
	v.cond = sync.NewCond(&v.mu)
	return v
}

func (v *versionStore) publish(version int64, m policy.Trainable) {
	v.mu.Lock()
	v.versions[version] = m
	v.mu.Unlock()
	v.cond.Broadcast()
}

// drop forgets versions older than keepFrom.
func (v *versionStore) drop(keepFrom int64) {
	v.mu.Lock()
	for k := range v.versions {
		if k < keepFrom {
			delete(v.versions, k)
		}
	}
	v.mu.Unlock()
}

func (v *versionStore) close() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	v.cond.Broadcast()
}

// wait blocks until version is published or the store is closed.
func (v *versionStore) wait(version int64) (policy.Trainable, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for {
		if m, ok := v.versions[version]; ok {
			return m, true
		}
		if v.closed {
			return nil, false
		}
		v.cond.Wait()
	}
}

// rolloutStage generates each step's rollouts with the weights of version
// step−staleness, splitting the prompts over workers and keeping prompt
// order. It sends one rollouts record per step (the receiver releases it).
func rolloutStage(mem memory.Allocator, gen func(policy.Trainable, int64) generator, versions *versionStore,
	staleness int64, workers int, base rollout.Request) func(ctx context.Context, in <-chan stepPrompts, out chan<- stepRecord) error {
	return func(ctx context.Context, in <-chan stepPrompts, out chan<- stepRecord) error {
		defer close(out)
		for {
			sp, ok, err := stage.Recv(ctx, in)
			if err != nil || !ok {
				return err
			}
			version := max(sp.Step-staleness, 0)
			model, ok := versions.wait(version)
			if !ok {
				return ctx.Err()
			}
			start := time.Now()
			req := base
			req.Round = sp.Round
			rows, err := generateParallel(ctx, gen(model, version), req, sp, version, workers)
			if err != nil {
				return fmt.Errorf("step %d: %w", shownStep(sp.Step), err)
			}
			req.Prompts = sp.Prompts
			dropped := req.Rows() - len(rows)
			tokens := 0
			for i := range rows {
				tokens += len(rows[i].CompletionTokens)
			}
			rec := data.NewRolloutsRecord(mem, rows)
			if err := stage.Send(ctx, out, stepRecord{Step: sp.Step, Version: version, Record: rec, RolloutBusy: time.Since(start), Tokens: tokens, Dropped: dropped}); err != nil {
				return err
			}
		}
	}
}

// generateParallel splits the step's prompts into contiguous chunks, one per
// worker, and concatenates the results in prompt order.
func generateParallel(ctx context.Context, g generator, base rollout.Request, sp stepPrompts, version int64, workers int) ([]data.Rollout, error) {
	chunks := splitChunks(sp.Prompts, workers)
	results, err := iter.MapErr(chunks, func(chunk *[]data.Prompt) ([]data.Rollout, error) {
		req := base
		req.Prompts, req.Step, req.PolicyVersion = *chunk, sp.Step, version
		return g.Generate(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	var rows []data.Rollout
	for _, r := range results {
		rows = append(rows, r...)
	}
	return rows, nil
}

func splitChunks(ps []data.Prompt, n int) [][]data.Prompt {
	n = max(1, min(n, len(ps)))
	out := make([][]data.Prompt, 0, n)
	for i := 0; i < n; i++ {
		lo, hi := i*len(ps)/n, (i+1)*len(ps)/n
		out = append(out, ps[lo:hi])
	}
	return out
}

// rewardStage scores each step's rollouts and sends the scored record; it
// releases the rollouts record it received.
func rewardStage(mem memory.Allocator, score scoreFunc) func(ctx context.Context, in <-chan stepRecord, out chan<- stepRecord) error {
	return func(ctx context.Context, in <-chan stepRecord, out chan<- stepRecord) error {
		defer close(out)
		for {
			sr, ok, err := stage.Recv(ctx, in)
			if err != nil || !ok {
				return err
			}
			start := time.Now()
			rows, err := data.RolloutsFromRecord(sr.Record)
			sr.Release()
			if err != nil {
				return fmt.Errorf("step %d: %w", shownStep(sr.Step), err)
			}
			scored, err := score(ctx, rows)
			if err != nil {
				return fmt.Errorf("step %d: %w", shownStep(sr.Step), err)
			}
			sr.Record = data.NewScoredRecord(mem, scored)
			sr.RewardBusy = time.Since(start)
			if err := stage.Send(ctx, out, sr); err != nil {
				return err
			}
		}
	}
}

// scoreFunc scores a step's rollouts: locally with the reward Scorer or on
// remote reward workers.
type scoreFunc func(ctx context.Context, rows []data.Rollout) ([]data.Scored, error)

// scoreRollouts scores rows grouped by (prompt, mode), applies the
// reward's on_error policy and then max_error_rate over the whole batch —
// reward.Scorer.ScoreRollouts, the code the Flight reward workers run too,
// so local and remote scoring agree. Its error names the first failed row
// by its text only, as it always has (the Flight pool's adds "row N: ").
func scoreRollouts(ctx context.Context, scorer *reward.Scorer, rows []data.Rollout) ([]data.Scored, error) {
	scored, sum, err := scorer.ScoreRollouts(ctx, rows)
	if err != nil {
		return nil, err
	}
	if err := reward.CheckErrorRate(sum.Errors, sum.Rows, sum.MaxErrorRate, sum.First); err != nil {
		return nil, err
	}
	return scored, nil
}

// groupIDs numbers groups by runs of equal (prompt_id, mode) in row order.
func groupIDs(n int, key func(int) (uint64, uint8)) []int {
	out := make([]int, n)
	g := 0
	for i := 1; i < n; i++ {
		p0, m0 := key(i - 1)
		p1, m1 := key(i)
		if p0 != p1 || m0 != m1 {
			g++
		}
		out[i] = g
	}
	return out
}
