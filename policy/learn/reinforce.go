package learn

import (
	"errors"
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// NameReinforce is REINFORCE with the group's mean reward as baseline.
const NameReinforce = "reinforce"

func init() {
	Register(NameReinforce, Algorithm{New: NewReinforce, Reference: reinforceReference, Preset: reinforcePreset, Check: reinforceCheck})
}

// reinforceReference: only KL in the reward reads the reference policy.
func reinforceReference(c Config) bool { return c.KLInReward > 0 }

// reinforcePreset: the advantage is r − mean of the group (no std
// division), the baseline of REINFORCE++-baseline and, up to the factor
// G/(G−1), RLOO's leave-one-out baseline. The loss has no ratio, so its
// clip bounds are unset; setting one is refused.
func reinforcePreset(c *Config) {
	c.Advantage.Std = objective.StdNone
	c.Loss.ClipLow, c.Loss.ClipHigh, c.Loss.DualClip = nil, nil, 0
}

// reinforce is the on-policy policy gradient −Σ m·s_i·A_i·log π(y_t): no
// importance ratio and no clipping, so every rollout must come from the
// policy being trained (one epoch, no staleness). It reads
// algorithm.advantage, algorithm.loss.agg / scale_factor / max_len,
// kl_in_reward and mini_batches, and refuses the keys that have no meaning
// without a ratio.
type reinforce struct{ *grpo }

// reinforceCheck refuses the keys that have no meaning without a ratio.
func reinforceCheck(c Config) error {
	l := c.Loss
	switch {
	case l.ClipLow != nil || l.ClipHigh != nil || l.DualClip != 0:
		return errors.New("no importance ratio to clip: unset algorithm.loss.clip_low, clip_high and dual_clip")
	case l.Beta != 0 || l.EntropyCoef != 0:
		return errors.New("takes neither algorithm.loss.beta nor entropy_coef (use kl_in_reward for a KL penalty)")
	case c.Epochs != 1:
		return fmt.Errorf("on-policy: algorithm.epochs must be 1, not %d", c.Epochs)
	}
	return nil
}

// NewReinforce builds the REINFORCE learner (algorithm.name reinforce) for a
// policy.Causal policy.
func NewReinforce(env Env) (Learner, error) {
	g, err := newGRPOLearner(env)
	if err != nil {
		return nil, err
	}
	return &reinforce{g}, nil
}

// Update fills the advantages (with KL in the reward when configured) and
// steps the optimizer once per mini-batch on the REINFORCE loss.
func (l *reinforce) Update(b Batch) (Stats, error) { return l.withAdvantages(b, l.update) }

func (l *reinforce) update(rows []data.TrainRow, step int) (Stats, error) {
	st := Stats{LR: l.sched.LR(step)}
	kept := trainRows(rows)
	st.TrainRows = len(kept)
	if len(kept) == 0 {
		return st, nil
	}
	params := l.pol.Params()
	mbs := objective.MiniBatches(len(kept), (len(kept)+l.algo.MiniBatches-1)/l.algo.MiniBatches, 0, false, l.seed, 0)
	for _, mb := range mbs {
		idx := make([]int, len(mb))
		for j, k := range mb {
			idx[j] = kept[k]
		}
		if st.Entropy == 0 {
			var err error
			if st.Entropy, err = l.entropy(rows, idx); err != nil {
				return st, fmt.Errorf("learn: reinforce step %d: %w", step, err)
			}
		}
		adv := make([]float64, len(idx))
		for j, i := range idx {
			adv[j] = float64(rows[i].Advantage)
		}
		l.pol.ZeroGrad()
		loss, err := l.model.Accumulate(seqBatch(rows, idx), l.temperature, func(logp [][]float64) (float64, [][]float64, error) {
			loss, grad := ReinforceLoss(logp, adv, l.algo.Loss)
			return loss, grad, nil
		})
		if err != nil {
			return st, fmt.Errorf("learn: reinforce step %d: %w", step, err)
		}
		// No ratio: it is 1 by construction, and nothing is clipped.
		st.Loss, st.Metrics = loss, objective.LossMetrics{PGLoss: loss, RatioMean: 1, RatioMax: 1, Tokens: tokens(rows, idx)}
		st.GradNorm = optim.ClipGradNorm(params, l.clipNorm)
		l.opt.Step(params, st.LR)
	}
	return st, nil
}

// ReinforceLoss is −Σ_{i,t} s_i·A_i·logp[i][t] and its gradient with
// respect to logp, s_i the per-row scale of cfg's aggregation
// (objective.AggScales over every token of the rows).
func ReinforceLoss(logp [][]float64, adv []float64, cfg objective.LossConfig) (float64, [][]float64) {
	mask := make([][]float64, len(logp))
	for i := range logp {
		mask[i] = ones(len(logp[i]))
	}
	scale := objective.AggScales(nil, mask, cfg.Agg, objective.AggParams{ScaleFactor: cfg.ScaleFactor, MaxLen: cfg.MaxLen})
	var loss float64
	grad := make([][]float64, len(logp))
	for i, row := range logp {
		grad[i] = make([]float64, len(row))
		for t, lp := range row {
			grad[i][t] = -scale[i] * adv[i]
			loss += grad[i][t] * lp
		}
	}
	return loss, grad
}

// tokens counts the completion tokens of rows[idx].
func tokens(rows []data.TrainRow, idx []int) float64 {
	n := 0
	for _, i := range idx {
		n += len(rows[i].CompletionTokens)
	}
	return float64(n)
}
