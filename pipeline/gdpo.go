package pipeline

import (
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// gdpoLearner applies GDPO (or the diffu-GRPO baseline) updates to a masked
// diffusion policy: sequence-level clipped ratios of ELBO estimates, with
// the same masks for the current, behaviour and reference evaluations of a
// rollout.
type gdpoLearner struct {
	*learner
	cfg objective.GDPOConfig
	// canvas is the generation canvas: a rollout's ELBO is taken over its
	// completion refilled to the canvas (policy.FillCanvas), the sequence
	// the model actually denoised, and the length-normalised ratio divides
	// by that length.
	canvas int
}

// update runs the configured epochs and mini-batches. The behaviour ELBO is
// the current policy's before the step's first update (exact on-policy; with
// max_staleness 1 it ignores the one-version lag, as the rollouts carry no
// per-token behaviour log-probs).
func (g *gdpoLearner) update(rows []data.TrainRow, step int) (updateStats, error) {
	st := updateStats{LR: g.sched.LR(step), Algo: map[string]float64{}}
	var kept []int
	for i := range rows {
		if rows[i].Keep && len(rows[i].CompletionTokens) > 0 {
			kept = append(kept, i)
		}
	}
	st.TrainRows = len(kept)
	if len(kept) == 0 {
		return st, nil
	}
	if g.cfg.Ratio == objective.RatioToken {
		return g.updateTokens(rows, kept, step, st)
	}
	model := g.pol.Model.(*policy.DiffusionModel)
	batch, keys, lens, adv := g.inputs(rows, kept)
	seed := g.maskSeed(step)
	old, err := model.ELBO(batch, g.cfg.ELBO, seed, keys)
	if err != nil {
		return st, fmt.Errorf("pipeline: gdpo step %d: %w", step, err)
	}
	var ref []float64
	if g.cfg.Beta > 0 {
		if ref, err = g.ref.(*policy.DiffusionModel).ELBO(batch, g.cfg.ELBO, seed, keys); err != nil {
			return st, err
		}
	}
	st, err = g.miniBatches(model, len(kept), st, func(mb []int) (float64, objective.LossMetrics, error) {
		in := &objective.GDPOInput{OldELBO: pick(old, mb), Len: pick(lens, mb), Adv: pick(adv, mb)}
		if ref != nil {
			in.RefELBO = pick(ref, mb)
		}
		var metrics objective.LossMetrics
		loss, err := model.AccumulateELBO(subBatch(batch, mb), g.cfg.ELBO, seed, pick(keys, mb), func(elbo []float64) (float64, []float64, error) {
			in.ELBO = elbo
			res, err := objective.GDPOLoss(nil, in, g.cfg)
			if err != nil {
				return 0, nil, err
			}
			metrics = res.Metrics
			return res.Loss, res.DELBO, nil
		})
		if err != nil {
			return 0, metrics, fmt.Errorf("pipeline: gdpo step %d: %w", step, err)
		}
		return loss, metrics, nil
	})
	if err != nil {
		return st, err
	}
	var meanELBO float64
	for _, v := range old {
		meanELBO += v / float64(len(old))
	}
	st.Algo["gdpo/elbo_mean"] = meanELBO
	st.Algo["gdpo/passes_per_seq"] = float64(policy.ELBOPasses(g.cfg.ELBO, int(meanLen(lens))))
	return st, nil
}

// miniBatches runs the configured epochs over mini-batches of the n kept
// rows: per mini-batch it zeroes the gradients, lets accumulate add the
// mini-batch's loss gradient (returning its loss and metrics), clips and
// steps the optimizer. st ends with the last mini-batch's loss, metrics
// and gradient norm.
func (g *gdpoLearner) miniBatches(model *policy.DiffusionModel, n int, st updateStats, accumulate func(mb []int) (float64, objective.LossMetrics, error)) (updateStats, error) {
	params := model.Params()
	mbs := objective.MiniBatches(n, (n+g.algo.MiniBatches-1)/g.algo.MiniBatches, 0, false, g.seed, 0)
	for epoch := 0; epoch < g.algo.Epochs; epoch++ {
		for _, mb := range mbs {
			model.ZeroGrad()
			loss, metrics, err := accumulate(mb)
			if err != nil {
				return st, err
			}
			st.Loss, st.Metrics = loss, metrics
			st.GradNorm = optim.ClipGradNorm(params, g.clipNorm)
			g.opt.Step(params, st.LR)
		}
	}
	return st, nil
}

// maskSeed is the step's mask seed, shared by every evaluation (current,
// behaviour, reference; every epoch) of its rollouts, so that ratios and
// KLs compare like with like (ALGORITHMS §3.6.2).
func (g *gdpoLearner) maskSeed(step int) uint64 {
	return mix64(g.seed ^ mix64(uint64(step)+0x6d61736b))
}

func (g *gdpoLearner) inputs(rows []data.TrainRow, kept []int) (policy.SeqBatch, []uint64, []int, []float64) {
	batch := policy.SeqBatch{Prompts: make([][]int32, len(kept)), Completions: make([][]int32, len(kept)),
		Rows: make([]int, len(kept)), BatchSize: len(kept)}
	keys := make([]uint64, len(kept))
	lens := make([]int, len(kept))
	adv := make([]float64, len(kept))
	for j, i := range kept {
		r := &rows[i]
		batch.Prompts[j], batch.Completions[j] = r.PromptTokens, policy.FillCanvas(r.CompletionTokens, g.canvas)
		batch.Rows[j] = j
		keys[j] = policy.RolloutKey(r.PromptID, r.SampleIdx, r.Mode)
		lens[j] = len(batch.Completions[j])
		adv[j] = float64(r.Advantage)
	}
	return batch, keys, lens, adv
}

func subBatch(b policy.SeqBatch, idx []int) policy.SeqBatch {
	out := policy.SeqBatch{Prompts: make([][]int32, len(idx)), Completions: make([][]int32, len(idx)), BatchSize: b.BatchSize}
	if b.Rows != nil {
		out.Rows = make([]int, len(idx))
	}
	for j, i := range idx {
		out.Prompts[j], out.Completions[j] = b.Prompts[i], b.Completions[i]
		if b.Rows != nil {
			out.Rows[j] = b.Rows[i]
		}
	}
	return out
}

// pick returns xs at the indices idx.
func pick[T any](xs []T, idx []int) []T {
	out := make([]T, len(idx))
	for j, i := range idx {
		out[j] = xs[i]
	}
	return out
}

func meanLen(lens []int) float64 {
	s := 0
	for _, l := range lens {
		s += l
	}
	return float64(s) / float64(max(len(lens), 1))
}
