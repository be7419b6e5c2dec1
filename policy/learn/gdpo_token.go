package learn

import (
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// updateTokens is update for gdpo.ratio token: diffu-GRPO's per-token
// ratios of one-step log-probs, token-mean aggregated over each
// mini-batch's rollout tokens (d1, ALGORITHMS §3.4). The behaviour and
// reference log-probs are taken once per step with the step's mask seed,
// which the current policy's passes reuse in every epoch, so that all
// three score the same canvases. d1 instead draws a seed per inner
// iteration and precomputes the old and reference log-probs for each.
func (g *gdpo) updateTokens(rows []data.TrainRow, kept []int, step int, st Stats) (Stats, error) {
	batch, keys, _, adv := g.inputs(rows, kept)
	mask := make([][]float64, len(kept))
	for j, i := range kept {
		mask[j] = rolloutMask(len(rows[i].CompletionTokens), len(batch.Completions[j]))
	}
	seed := g.maskSeed(step)
	old, err := g.oneStep.OneStepLogProbs(batch, g.cfg.ELBO, seed, keys)
	if err != nil {
		return st, fmt.Errorf("learn: diffu-grpo step %d: %w", step, err)
	}
	var ref [][]float64
	if g.cfg.Beta > 0 {
		if ref, err = g.refOneStep.OneStepLogProbs(batch, g.cfg.ELBO, seed, keys); err != nil {
			return st, fmt.Errorf("learn: diffu-grpo step %d: reference: %w", step, err)
		}
	}
	st, err = g.miniBatches(len(kept), st, func(mb []int) (float64, objective.LossMetrics, error) {
		in := &objective.LossInput{OldLogp: pick(old, mb), Mask: pick(mask, mb), Adv: pick(adv, mb)}
		if ref != nil {
			in.RefLogp = pick(ref, mb)
		}
		var metrics objective.LossMetrics
		loss, err := g.oneStep.AccumulateOneStep(subBatch(batch, mb), g.cfg.ELBO, seed, pick(keys, mb), func(logp [][]float64) (float64, [][]float64, error) {
			in.Logp = logp
			res, err := objective.GDPOTokenLoss(nil, in, g.cfg)
			if err != nil {
				return 0, nil, err
			}
			metrics = res.Metrics
			return res.Loss, res.DLogp, nil
		})
		if err != nil {
			return 0, metrics, fmt.Errorf("learn: diffu-grpo step %d: %w", step, err)
		}
		return loss, metrics, nil
	})
	if err != nil {
		return st, err
	}
	// The one-step ELBO of the canvas (the row sums), comparable with the
	// sequence-level modes' gdpo/elbo_mean.
	var meanELBO float64
	for _, row := range old {
		for _, v := range row {
			meanELBO += v / float64(len(old))
		}
	}
	st.Algo["gdpo/elbo_mean"] = meanELBO
	st.Algo["gdpo/passes_per_seq"] = 1
	return st, nil
}

// rolloutMask is d1's completion mask on a canvas of width tokens: 1 on
// the n tokens the rollout generated (through its first <eos>), 0 on the
// <eos> fill that policy.FillCanvas added. The fill is still masked in the
// input, as in generation, but it is not the rollout's action.
func rolloutMask(n, width int) []float64 {
	m := make([]float64, width)
	for k := range min(n, width) {
		m[k] = 1
	}
	return m
}
