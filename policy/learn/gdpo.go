package learn

import (
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
)

func init() {
	reference := func(c Config) bool { return c.GDPO.Beta > 0 }
	Register(NameGDPO, Algorithm{New: NewGDPO, Reference: reference, Preset: gdpoPreset})
	Register(NameDiffuGRPO, Algorithm{New: NewGDPO, Reference: reference, Preset: diffuGRPOPreset})
}

// gdpo applies GDPO (or the diffu-GRPO baseline) updates to a masked
// diffusion policy: sequence-level clipped ratios of ELBO estimates, or
// per-token ratios of one-step log-probs (gdpo.ratio token), with the same
// masks for the current, behaviour and reference evaluations of a rollout.
type gdpo struct {
	core
	cfg objective.GDPOConfig
	// canvas is the generation canvas: a rollout's ELBO is taken over its
	// completion refilled to the canvas (policy.FillCanvas), the sequence
	// the model actually denoised, and the length-normalised ratio divides
	// by that length.
	canvas int
	// elbo and ref score the current and the reference policy by ELBO;
	// oneStep and refOneStep by one-step log-probs (ratio token). ref and
	// refOneStep are nil without a KL term.
	elbo, ref           policy.ELBOScorer
	oneStep, refOneStep policy.OneStepScorer
}

// NewGDPO builds the GDPO learner (algorithm.name gdpo or diffu_grpo): it
// needs a policy.ELBOScorer, and a policy.OneStepScorer for gdpo.ratio
// token. KL in the reward is the GRPO family's and is refused.
func NewGDPO(env Env) (Learner, error) {
	if env.Algo.KLInReward != 0 {
		return nil, fmt.Errorf("%w: algorithm.kl_in_reward applies to the GRPO family, not %s", ErrConfig, env.Algo.Name)
	}
	g := &gdpo{core: newCore(env), cfg: env.Algo.GDPO, canvas: env.Canvas}
	var ok bool
	if g.elbo, ok = env.Policy.(policy.ELBOScorer); !ok {
		return nil, fmt.Errorf("%w: algorithm %s needs a diffusion policy, not %s", ErrConfig, env.Algo.Name, env.Policy.Kind())
	}
	g.oneStep, _ = env.Policy.(policy.OneStepScorer)
	if g.cfg.Ratio == objective.RatioToken && g.oneStep == nil {
		return nil, fmt.Errorf("%w: gdpo.ratio %s needs one-step log-probs, which %s policies lack", ErrConfig, objective.RatioToken, env.Policy.Kind())
	}
	if env.Ref != nil {
		g.ref, _ = env.Ref.(policy.ELBOScorer)
		g.refOneStep, _ = env.Ref.(policy.OneStepScorer)
		if g.ref == nil || (g.oneStep != nil && g.refOneStep == nil) {
			return nil, fmt.Errorf("%w: the reference policy of %s is not of the policy's family", ErrConfig, env.Algo.Name)
		}
	}
	return g, nil
}

// Update fills the advantages (GDPO's advantage settings, no KL in the
// reward) and runs the configured epochs and mini-batches. The behaviour
// ELBO is the current policy's before the step's first update (exact
// on-policy; with max_staleness 1 it ignores the one-version lag, as the
// rollouts carry no per-token behaviour log-probs).
func (g *gdpo) Update(b Batch) (Stats, error) {
	zeroStd, err := computeAdvantages(b.Rows, b.Groups, g.algo.Advantage)
	if err != nil {
		return Stats{}, err
	}
	st, err := g.update(b.Rows, b.Step)
	if err != nil {
		return Stats{}, err
	}
	st.ZeroStdGroups = zeroStd
	return st, nil
}

// update is Update after the advantages.
func (g *gdpo) update(rows []data.TrainRow, step int) (Stats, error) {
	st := Stats{LR: g.sched.LR(step), Algo: map[string]float64{}}
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
	batch, keys, lens, adv := g.inputs(rows, kept)
	seed := g.maskSeed(step)
	old, err := g.elbo.ELBO(batch, g.cfg.ELBO, seed, keys)
	if err != nil {
		return st, fmt.Errorf("learn: gdpo step %d: %w", step, err)
	}
	var ref []float64
	if g.cfg.Beta > 0 {
		if ref, err = g.ref.ELBO(batch, g.cfg.ELBO, seed, keys); err != nil {
			return st, err
		}
	}
	st, err = g.miniBatches(len(kept), st, func(mb []int) (float64, objective.LossMetrics, error) {
		in := &objective.GDPOInput{OldELBO: pick(old, mb), Len: pick(lens, mb), Adv: pick(adv, mb)}
		if ref != nil {
			in.RefELBO = pick(ref, mb)
		}
		var metrics objective.LossMetrics
		loss, err := g.elbo.AccumulateELBO(subBatch(batch, mb), g.cfg.ELBO, seed, pick(keys, mb), func(elbo []float64) (float64, []float64, error) {
			in.ELBO = elbo
			res, err := objective.GDPOLoss(nil, in, g.cfg)
			if err != nil {
				return 0, nil, err
			}
			metrics = res.Metrics
			return res.Loss, res.DELBO, nil
		})
		if err != nil {
			return 0, metrics, fmt.Errorf("learn: gdpo step %d: %w", step, err)
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
func (g *gdpo) miniBatches(n int, st Stats, accumulate func(mb []int) (float64, objective.LossMetrics, error)) (Stats, error) {
	params := g.pol.Params()
	mbs := objective.MiniBatches(n, (n+g.algo.MiniBatches-1)/g.algo.MiniBatches, 0, false, g.seed, 0)
	for epoch := 0; epoch < g.algo.Epochs; epoch++ {
		for _, mb := range mbs {
			g.pol.ZeroGrad()
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
func (g *gdpo) maskSeed(step int) uint64 {
	return rng.GDPOMaskSeed(g.seed, step)
}

// inputs returns the sequence batch of rows[kept] with each completion
// refilled to the canvas, the rollouts' mask keys, the canvas lengths and
// the advantages.
func (g *gdpo) inputs(rows []data.TrainRow, kept []int) (policy.SeqBatch, []uint64, []int, []float64) {
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

// subBatch is the mini-batch idx of b, keeping each sequence's row in the
// full batch.
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

// meanLen is the mean of lens (0 for none).
func meanLen(lens []int) float64 {
	s := 0
	for _, l := range lens {
		s += l
	}
	return float64(s) / float64(max(len(lens), 1))
}
