package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/stage"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/sampling"
)

// learnStage consumes scored batches in step order, updates the policy,
// feeds the sampler, publishes new weights and picks future steps.
func (r *runner) learnStage(ctx context.Context, in <-chan stepRecord, picks chan<- stepPrompts, versions *versionStore, refill *refillLoop) error {
	defer close(picks)
	steps := int64(r.cfg.Train.Steps)
	st := int64(r.cfg.Train.MaxStaleness)
	for {
		sr, ok, err := stage.Recv(ctx, in)
		if err != nil || !ok {
			return err
		}
		start := time.Now()
		rows, err := data.ScoredFromRecord(sr.Record)
		sr.Release()
		if err != nil {
			return err
		}
		s := sr.Step
		m, err := r.learnStep(ctx, s, rows, refill)
		if err != nil {
			return err
		}
		versions.publish(s+1, r.ts.pol.Model.Clone())
		versions.drop(s + 1 - st)
		delete(r.ts.pending, s)
		// Pick ahead even past the step budget, so that a run extended later
		// with --resume continues exactly as if the budget had been larger;
		// a pick that needs a VAS full refresh first waits until this step
		// is written (refresh.go).
		deferred := r.deferPick(s + 1 + st)
		if !deferred {
			sp, err := r.ts.pick(s+1+st, r.cfg.Train.PromptsPerStep, r.train)
			if err != nil {
				return err
			}
			if sp.Step < steps {
				if err := stage.Send(ctx, picks, sp); err != nil {
					return err
				}
			}
		}
		m.Timing.LearnerS = time.Since(start).Seconds()
		m.DroppedRollouts = sr.Dropped
		m.Timing.RewardS = sr.RewardBusy.Seconds()
		m.Timing.RolloutS = sr.RolloutBusy.Seconds()
		if sr.RolloutBusy > 0 {
			m.Timing.TokensPerSec = float64(sr.Tokens) / sr.RolloutBusy.Seconds()
		}
		if err := r.finishStep(ctx, s, m, versions); err != nil {
			return err
		}
		if deferred {
			if err := r.refreshAndPick(ctx, s+1+st, s+1, picks, versions); err != nil {
				return err
			}
		}
		if s+1 >= steps {
			return nil
		}
	}
}

// finishStep writes metrics, evaluates and checkpoints when due, and honours
// an interrupt request.
func (r *runner) finishStep(ctx context.Context, s int64, m *StepMetrics, versions *versionStore) error {
	m.Timing.Stages, m.Timing.WallS = r.clock.lap()
	if err := r.metrics.Write(m); err != nil {
		return err
	}
	r.progress.set(s+1, fmt.Sprintf("step %d reward %.3f acc %.3f", s+1, m.RewardMean, m.Accuracy))
	if r.progress.bar == nil {
		fmt.Fprintf(r.log, "step %d/%d: reward %.3f, accuracy %.3f, length %.1f, kl %.2g, clip %.3f, %.1fs\n",
			s+1, r.cfg.Train.Steps, m.RewardMean, m.Accuracy, m.LenMean, m.ApproxKL, m.ClipLow+m.ClipHigh, m.Timing.WallS)
	}
	done := s + 1
	last := done == int64(r.cfg.Train.Steps)
	if e := int64(r.cfg.Eval.Every); e > 0 && done%e == 0 && !last {
		if _, err := r.evaluate(ctx, done); err != nil {
			return err
		}
	}
	interrupted := false
	select {
	case <-r.opts.Interrupt:
		interrupted = true
	default:
	}
	if c := int64(r.cfg.Check.Every); last || interrupted || (c > 0 && done%c == 0) {
		var behaviour policy.Trainable
		if st := int64(r.cfg.Train.MaxStaleness); st > 0 {
			behaviour, _ = versions.wait(done - st)
		}
		if err := r.checkpoint(done, behaviour); err != nil {
			return err
		}
	}
	if interrupted && !last {
		return ErrInterrupted
	}
	return nil
}

// learnStep turns one step's scored rows into train rows and updates.
// refill is the DAPO refill loop (nil when sampling.filter.zero_variance
// is off).
func (r *runner) learnStep(ctx context.Context, s int64, rows []data.Scored, refill *refillLoop) (*StepMetrics, error) {
	correct, err := r.binaryOutcomes(ctx, rows)
	if err != nil {
		return nil, err
	}
	groups := groupIDs(len(rows), func(i int) (uint64, uint8) { return rows[i].PromptID, rows[i].Mode })
	if err := r.ts.sampler.Observe(s, outcomes(rows, groups, correct)); err != nil {
		return nil, err
	}
	keep := make([]bool, len(rows))
	for i := range keep {
		keep[i] = true
	}
	var filter *sampling.FilterResult
	if r.cfg.Sampling.Filter.ZeroVariance {
		res, err := r.dynamicSampling(ctx, s, &rows, &correct, &groups, &keep, refill)
		if err != nil {
			return nil, err
		}
		filter = &res
	}
	train := make([]data.TrainRow, len(rows))
	for i := range rows {
		train[i] = data.TrainRow{Scored: rows[i], Keep: keep[i]}
	}
	dropped := applyOnError(r.cfg.Reward.OnError, train, groups)
	stats, err := r.ts.learner.Update(learn.Batch{Step: int(s), Rows: train, Groups: groups})
	if err != nil {
		return nil, err
	}
	m := newStepMetrics(s, train, groups, correct, stats.ZeroStdGroups, stats)
	m.DroppedGroups = dropped
	m.Entropy = stats.Entropy
	m.Algo = stats.Algo
	m.Sampler = r.ts.pending[s].Stats.Metrics()
	r.refreshMetrics(m, s)
	if filter != nil {
		m.Filter = filter.Metrics()
	}
	if r.cfg.Log.DumpRollouts {
		if err := r.dumpTrain(filepath.Join(r.opts.OutDir, "rollouts"), fmt.Sprintf("step-%06d.arrow", s+1), train); err != nil {
			return nil, err
		}
	}
	if dir := r.cfg.Export.TrainBatches; dir != "" {
		if err := r.dumpTrain(dir, fmt.Sprintf("step-%06d.parquet", s+1), train); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// markGroups clears keep for rows whose group the filter did not keep
// (keepGroup is indexed by group number in row order).
func markGroups(keep []bool, groups []int, keepGroup []bool) {
	first := groups[0]
	for i := range keep {
		if !keepGroup[groups[i]-first] {
			keep[i] = false
		}
	}
}

// binaryOutcomes runs the correctness verifier (eval.verifier) on rows; VAS
// and accuracy metrics use it rather than the shaped reward.
func (r *runner) binaryOutcomes(ctx context.Context, rows []data.Scored) ([]bool, error) {
	ro := make([]data.Rollout, len(rows))
	for i := range rows {
		ro[i] = rows[i].Rollout
	}
	return r.evaluator.correct(ctx, ro)
}

// applyOnError applies reward.on_error to a step's train rows and returns
// the number of groups it dropped. Scoring already did its part (zero set
// the failed rows' rewards to 0, fail failed the step), but every policy
// keeps the error text on the row so that metrics count it; only
// drop_group (the default, also for "") may therefore clear Keep here, or
// zero would train exactly like drop_group.
func applyOnError(policy reward.OnError, rows []data.TrainRow, groups []int) int {
	switch policy {
	case reward.OnErrorZero, reward.OnErrorFail:
		return 0
	}
	bad := map[int]bool{}
	for i := range rows {
		if rows[i].RewardError != "" {
			bad[groups[i]] = true
		}
	}
	for i := range rows {
		if bad[groups[i]] {
			rows[i].Keep = false
		}
	}
	return len(bad)
}

func outcomes(rows []data.Scored, groups []int, correct []bool) []sampling.GroupOutcome {
	var out []sampling.GroupOutcome
	for i := range rows {
		if i == 0 || groups[i] != groups[i-1] {
			out = append(out, sampling.GroupOutcome{PromptID: rows[i].PromptID})
		}
		g := &out[len(out)-1]
		g.Correct = append(g.Correct, correct[i])
		g.Rewards = append(g.Rewards, rows[i].Reward)
		g.Completions = append(g.Completions, rows[i].CompletionTokens)
	}
	return out
}
