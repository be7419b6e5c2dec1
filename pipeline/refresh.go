package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/stage"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/sampling"
)

// VAS full refresh (sampling.vas.refresh: full, MMR1 Alg. 1).
//
// Before the pick of step s (s = 0, T, 2T, …) the whole training pool is
// re-rolled, refresh_samples rollouts per prompt and rollout mode, with the
// weights that generate step s's own rollouts (version s − max_staleness),
// through the run's generator, and verified with the run's binary verifier
// (eval.verifier); the shaped reward is not computed, since VPS uses the
// verifier outcome only. The pool goes in chunks of train.prompts_per_step
// prompts, in pool order, each split over rollout.workers like a step.
//
// Timing: a refresh due before step s runs after step s−1−max_staleness
// has been learned and its metrics, evaluation and checkpoint written (the
// pick of step s follows it), or at the start of the loop. With
// checkpoint.every = k > 0 the run also checkpoints (as step
// s−max_staleness, the number of completed steps) after every k-th chunk
// short of the last; the sampler state in it holds the refresh's progress,
// so --resume after a kill continues at the next unfinished chunk. Since
// each rollout depends only on (seed, step, round, mode, prompt, sample)
// and the refresh's weights, the result is bit-identical to an
// uninterrupted run. SIGINT or SIGTERM stops after the current chunk with a
// checkpoint. A refresh due past the step budget is not run (neither are
// the picks after it): a run extended with --resume runs it with the same
// weights.

// refreshRound is rollout.Request.Round for refresh rollouts: negative, so
// their seeds (rollout.StepSeed) never coincide with a step's generation
// (round 0) or a DAPO refill round (1, 2, …) of the same step.
const refreshRound = -1

// refreshRun is a runner's bookkeeping of VAS full refreshes.
type refreshRun struct {
	hold bool              // picks stopped at a refresh past the step budget
	secs map[int64]float64 // wall seconds of the refreshes this process ran, by step
}

// refresher returns the sampler's full-refresh side, or nil when the
// sampler has none.
func (r *runner) refresher() sampling.Refresher {
	rf, _ := r.ts.sampler.(sampling.Refresher)
	return rf
}

// deferPick reports whether the pick of step s must wait until the current
// step is written: a full refresh is due before it, or picks are held.
func (r *runner) deferPick(s int64) bool {
	if r.vasRefresh.hold {
		return true
	}
	if _, ok := r.ts.pending[s]; ok {
		return false
	}
	rf := r.refresher()
	return rf != nil && rf.NeedsRefresh(s)
}

// refreshIfDue runs the full refresh due before the pick of step s, if
// any; done is the number of completed steps (for checkpoints).
func (r *runner) refreshIfDue(ctx context.Context, s, done int64, versions *versionStore) error {
	if !r.deferPick(s) {
		return nil
	}
	return r.refreshVAS(ctx, s, done, versions)
}

// refreshAndPick runs the refresh due before step s after step done−1 was
// written, then picks step s and sends it. Past the step budget it holds
// this and every later pick instead.
func (r *runner) refreshAndPick(ctx context.Context, s, done int64, picks chan<- stepPrompts, versions *versionStore) error {
	if r.vasRefresh.hold || s >= int64(r.cfg.Train.Steps) {
		r.vasRefresh.hold = true
		return nil
	}
	if err := r.refreshVAS(ctx, s, done, versions); err != nil {
		return err
	}
	sp, err := r.ts.pick(s, r.cfg.Train.PromptsPerStep, r.train)
	if err != nil {
		return err
	}
	return stage.Send(ctx, picks, sp)
}

// refreshVAS re-rolls the rest of the pool for step s's refresh, chunk by
// chunk, reporting progress and checkpointing as documented above.
func (r *runner) refreshVAS(ctx context.Context, s, done int64, versions *versionStore) error {
	rf := r.refresher()
	version := max(s-int64(r.cfg.Train.MaxStaleness), 0)
	model, ok := versions.wait(version)
	if !ok {
		return ctx.Err()
	}
	start := time.Now()
	gen := r.generator(model, version)
	req := rollout.Request{G: rf.RefreshSamples(), Modes: r.modes, Seed: r.cfg.Seed, Round: refreshRound, Params: r.genParams()}
	n, total := r.cfg.Train.PromptsPerStep, len(r.train)
	for chunk := rf.RefreshChunk(s, n); chunk != nil; chunk = rf.RefreshChunk(s, n) {
		groups, err := r.refreshGroups(ctx, gen, req, s, version, chunk)
		if err != nil {
			return fmt.Errorf("pipeline: vas refresh step %d: %w", s, err)
		}
		complete, err := rf.ObserveRefresh(s, chunk, groups)
		if err != nil {
			return fmt.Errorf("pipeline: vas refresh step %d: %w", s, err)
		}
		covered := chunk[len(chunk)-1] + 1
		r.refreshProgress(s, done, covered-len(chunk), covered, total)
		if complete {
			break
		}
		if err := r.refreshCheckpoint(s, done, covered/n, versions); err != nil {
			return err
		}
	}
	secs := time.Since(start).Seconds()
	if r.vasRefresh.secs == nil {
		r.vasRefresh.secs = map[int64]float64{}
	}
	r.vasRefresh.secs[s] += secs
	if st := r.ts.sampler.Stats().Refresh; st != nil {
		fmt.Fprintf(r.log, "vas refresh step %d: done, %d prompts (%d without rollouts), %d rollouts, mean pass %.3f, learnable %.3f, %.1fs\n",
			s, st.Prompts, st.Missing, st.Samples, st.MeanPass, st.Learnable, secs)
	}
	return nil
}

// refreshGroups rolls out and verifies one chunk of the pool. Rows come
// back ordered by prompt, so each prompt's rows (all modes) form one group.
func (r *runner) refreshGroups(ctx context.Context, gen generator, req rollout.Request, s, version int64, chunk []int) ([]sampling.GroupOutcome, error) {
	sp := stepPrompts{Step: s, Prompts: make([]data.Prompt, len(chunk))}
	for i, k := range chunk {
		sp.Prompts[i] = r.train[k]
	}
	rows, err := generateParallel(ctx, gen, req, sp, version, r.cfg.Rollout.Workers)
	if err != nil {
		return nil, err
	}
	correct, err := r.evaluator.correct(ctx, rows)
	if err != nil {
		return nil, err
	}
	var groups []sampling.GroupOutcome
	for i := range rows {
		if i == 0 || rows[i].PromptID != rows[i-1].PromptID {
			groups = append(groups, sampling.GroupOutcome{PromptID: rows[i].PromptID})
		}
		g := &groups[len(groups)-1]
		g.Correct = append(g.Correct, correct[i])
		g.Completions = append(g.Completions, rows[i].CompletionTokens)
	}
	return groups, nil
}

// refreshProgress shows the refresh on the progress bar, or else logs a
// line each time another tenth of the pool is done.
func (r *runner) refreshProgress(s, done int64, from, to, total int) {
	msg := fmt.Sprintf("vas refresh step %d: %d/%d prompts", s, to, total)
	if r.progress != nil && r.progress.bar != nil {
		r.progress.set(done, msg)
		return
	}
	if to == total || 10*to/total > 10*from/total {
		fmt.Fprintln(r.log, msg)
	}
}

// refreshCheckpoint checkpoints after the chunks-th chunk of step s's
// refresh when checkpoint.every divides chunks, and stops the run with a
// checkpoint when an interrupt was requested.
func (r *runner) refreshCheckpoint(s, done int64, chunks int, versions *versionStore) error {
	interrupted := false
	select {
	case <-r.opts.Interrupt:
		interrupted = true
	default:
	}
	every := r.cfg.Check.Every
	if !interrupted && (every <= 0 || chunks%every != 0) {
		return nil
	}
	var behaviour policy.Trainable
	if st := int64(r.cfg.Train.MaxStaleness); st > 0 && done-st >= 0 {
		behaviour, _ = versions.wait(done - st)
	}
	if err := r.checkpoint(done, behaviour); err != nil {
		return fmt.Errorf("pipeline: vas refresh step %d: %w", s, err)
	}
	if interrupted {
		return ErrInterrupted
	}
	return nil
}

// refreshMetrics adds the refresh run before step s's pick to its metrics.
func (r *runner) refreshMetrics(m *StepMetrics, s int64) {
	rs := r.ts.pending[s].Stats.Refresh
	if rs == nil || rs.Step != s {
		return
	}
	m.Refresh = rs.Metrics()
	if secs, ok := r.vasRefresh.secs[s]; ok {
		m.Timing.RefreshS = secs
		delete(r.vasRefresh.secs, s)
	}
}
