package pipeline

import (
	"context"
	"errors"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/stage"
	"github.com/rlpipe/rlpipe/sampling"
)

// Stage names of the DAPO refill loop in the Graph (and so in the
// timing.stages of metrics.jsonl).
const (
	refillRolloutStage = "refill-rollout"
	refillRewardStage  = "refill-reward"
)

// refillLoop is the DAPO refill (sampling.filter) as stages of the run's
// Graph: the learner sends a refill round's prompts to requests and
// receives their scored record from results, so the refill's generation
// and scoring are measured like the step's own. The loop has stages of its
// own rather than sharing rollout and reward: those may be blocked sending
// the next step to the learner, which is waiting for its refill.
type refillLoop struct {
	requests chan stepPrompts  // closed by the learner (close)
	results  <-chan stepRecord // one scored record per request, in order
}

// addRefillLoop adds the refill's rollout and reward stages to g; roll and
// score are the stages the main loop uses, so a refill round generates and
// scores exactly as a step does.
func addRefillLoop(g *stage.Graph, roll stage.Stage[stepPrompts, stepRecord], score stage.Stage[stepRecord, stepRecord]) *refillLoop {
	req := make(chan stepPrompts)
	rolled := stage.AddStage(g, refillRolloutStage, stage.Inlet(g, "refill", req), roll)
	scored := stage.AddStage(g, refillRewardStage, rolled, score)
	return &refillLoop{requests: req, results: stage.Outlet(scored)}
}

// close ends the loop's stages once the learner needs no more refills. It
// does nothing on a nil loop.
func (l *refillLoop) close() {
	if l != nil {
		close(l.requests)
	}
}

// roll rolls out and scores one refill round and returns its rows.
func (l *refillLoop) roll(ctx context.Context, sp stepPrompts) ([]data.Scored, error) {
	if err := stage.Send(ctx, l.requests, sp); err != nil {
		return nil, err
	}
	sr, ok, err := stage.Recv(ctx, l.results)
	if err != nil {
		return nil, err
	}
	if !ok {
		// The refill stages returned early: their error cancels the run.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("pipeline: the refill stages stopped")
	}
	defer sr.Release()
	return data.ScoredFromRecord(sr.Record)
}

// dynamicSampling applies DAPO's filter to the step's groups and refills
// with newly sampled prompts, rolled out with the step's behaviour weights
// through refill, for at most max_refill_rounds rounds. It extends rows,
// correct, groups and keep in place.
func (r *runner) dynamicSampling(ctx context.Context, s int64, rows *[]data.Scored, correct *[]bool, groups *[]int,
	keep *[]bool, refill *refillLoop) (sampling.FilterResult, error) {
	round := sampling.NewGroupFilter(r.cfg.Sampling.Filter).Begin(r.cfg.Train.PromptsPerStep * len(r.modes))
	markGroups(*keep, *groups, round.Add(outcomes(*rows, *groups, *correct)))
	for n, refillRound := round.Need(), 1; n > 0; n, refillRound = round.Need(), refillRound+1 {
		if refill == nil {
			panic("pipeline: dynamic sampling without a refill loop")
		}
		prompts := (n + len(r.modes) - 1) / len(r.modes)
		idx, err := r.ts.sampler.Next(s, prompts)
		if err != nil {
			return sampling.FilterResult{}, err
		}
		sp := stepPrompts{Step: s, Round: refillRound, Prompts: make([]data.Prompt, len(idx))}
		for i, k := range idx {
			sp.Prompts[i] = r.train[k]
		}
		scored, err := refill.roll(ctx, sp)
		if err != nil {
			return sampling.FilterResult{}, err
		}
		ok, err := r.binaryOutcomes(ctx, scored)
		if err != nil {
			return sampling.FilterResult{}, err
		}
		g := groupIDs(len(scored), func(i int) (uint64, uint8) { return scored[i].PromptID, scored[i].Mode })
		if err := r.ts.sampler.Observe(s, outcomes(scored, g, ok)); err != nil {
			return sampling.FilterResult{}, err
		}
		k := make([]bool, len(scored))
		for i := range k {
			k[i] = true
		}
		markGroups(k, g, round.Add(outcomes(scored, g, ok)))
		offset := (*groups)[len(*groups)-1] + 1
		for i := range g {
			g[i] += offset
		}
		*rows, *correct, *groups, *keep = append(*rows, scored...), append(*correct, ok...), append(*groups, g...), append(*keep, k...)
	}
	return round.Result(), nil
}
