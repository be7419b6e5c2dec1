package pipeline

import (
	"fmt"
	"math"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// Metric keys of algorithm.kl_in_reward in metrics.jsonl's algo map.
const (
	// metricKLRewardPenalty is the mean over trained rows of β·Σ_t(ℓ^old −
	// ℓ^ref), the amount subtracted from the reward.
	metricKLRewardPenalty = "kl_in_reward/penalty_mean"
	// metricKLRewardKL is the same mean without β: the k1 sequence KL of
	// the behaviour policy to the reference.
	metricKLRewardKL = "kl_in_reward/kl_mean"
)

// validateKLInReward checks algorithm.kl_in_reward: a coefficient >= 0,
// used only by the GRPO family (whose rollouts carry per-token behaviour
// log-probs) and never together with the loss's KL term — verl offers both
// but one KL is what ALGORITHMS §1.4 describes, and two would silently
// double it.
func (a AlgorithmConfig) validateKLInReward() error {
	k := a.KLInReward
	switch {
	case math.IsNaN(k) || math.IsInf(k, 0) || k < 0:
		return fmt.Errorf("%w: algorithm.kl_in_reward %v: want >= 0 (0 = off)", ErrConfig, k)
	case k == 0:
		return nil
	case a.Loss.Beta > 0:
		return fmt.Errorf("%w: algorithm.kl_in_reward (%v) and algorithm.loss.beta (%v) are mutually exclusive: put the KL in the reward or in the loss, and set the other to 0", ErrConfig, k, a.Loss.Beta)
	case a.Name == AlgoBVPO || a.Name == AlgoGDPO || a.Name == AlgoDiffuGRPO:
		return fmt.Errorf("%w: algorithm.kl_in_reward applies to the GRPO family (rlpipe, grpo, dr_grpo, dapo), not algorithm.name %s", ErrConfig, a.Name)
	}
	return nil
}

// advantages fills the rows' advantage columns. With algorithm.kl_in_reward
// set it first folds the KL penalty into the rewards of the rows that train
// (objective.KLInReward) and returns its metrics; the rows' reward column
// keeps the scorer's reward, while advantage, group_mean and group_std come
// from the folded one. Without it, it is computeAdvantages.
func (l *learner) advantages(rows []data.TrainRow, groups []int) (zeroStd int, metrics map[string]float64, err error) {
	if l.algo.KLInReward == 0 {
		zeroStd, err = computeAdvantages(rows, groups, l.algo.Advantage)
		return zeroStd, nil, err
	}
	rewards := make([]float64, len(rows))
	for i := range rows {
		rewards[i] = rows[i].Reward
	}
	penalty, kept, err := l.klRewardPenalty(rows, rewards)
	if err != nil {
		return 0, nil, fmt.Errorf("pipeline: kl_in_reward: %w", err)
	}
	if zeroStd, err = advantagesOf(rows, rewards, groups, l.algo.Advantage); err != nil {
		return 0, nil, err
	}
	var mean float64
	for _, p := range penalty {
		mean += p / float64(max(kept, 1))
	}
	return zeroStd, map[string]float64{metricKLRewardPenalty: mean, metricKLRewardKL: mean / l.algo.KLInReward}, nil
}

// klRewardPenalty subtracts β·Σ_t(ℓ^old − ℓ^ref) from rewards[i] of every
// row that trains (kept, non-empty completion; other rows do not train, so
// their advantages do not matter) and returns those rows' penalties. ℓ^old
// is the rollout's behaviour log-probs; a rollout without them (a server
// that returns none) uses the current policy's, which is the behaviour
// policy at max_staleness 0. The reference forward runs in mini-batch
// sized chunks, the shapes the learner's graphs already have.
func (l *learner) klRewardPenalty(rows []data.TrainRow, rewards []float64) ([]float64, int, error) {
	var idx []int
	for i := range rows {
		if rows[i].Keep && len(rows[i].CompletionTokens) > 0 {
			idx = append(idx, i)
		}
	}
	var penalty []float64
	chunk := max((len(idx)+l.algo.MiniBatches-1)/l.algo.MiniBatches, 1)
	for lo := 0; lo < len(idx); lo += chunk {
		part := idx[lo:min(lo+chunk, len(idx))]
		old, ref, mask, err := l.klRewardInputs(rows, part)
		if err != nil {
			return nil, 0, err
		}
		r := make([]float64, len(part))
		for j, i := range part {
			r[j] = rewards[i]
		}
		p, err := objective.KLInReward(nil, r, old, ref, mask, l.algo.KLInReward)
		if err != nil {
			return nil, 0, err
		}
		for j, i := range part {
			rewards[i] = r[j]
		}
		penalty = append(penalty, p...)
	}
	return penalty, len(idx), nil
}

// klRewardInputs returns the behaviour and reference log-probs and the
// completion mask of rows[idx].
func (l *learner) klRewardInputs(rows []data.TrainRow, idx []int) (old, ref, mask [][]float64, err error) {
	batch := policy.SeqBatch{Prompts: make([][]int32, len(idx)), Completions: make([][]int32, len(idx))}
	old, mask = make([][]float64, len(idx)), make([][]float64, len(idx))
	missing := false
	for j, i := range idx {
		r := &rows[i]
		batch.Prompts[j], batch.Completions[j] = r.PromptTokens, r.CompletionTokens
		old[j], mask[j] = widen(r.Logprobs), ones(len(r.CompletionTokens))
		missing = missing || len(r.Logprobs) != len(r.CompletionTokens)
	}
	refLogp, _, err := l.ref.(*policy.Model).LogProbs(batch, l.temperature)
	if err != nil {
		return nil, nil, nil, err
	}
	ref = make([][]float64, len(idx))
	for j := range refLogp {
		ref[j] = widen(refLogp[j])
	}
	if missing {
		cur, _, err := l.pol.Model.(*policy.Model).LogProbs(batch, l.temperature)
		if err != nil {
			return nil, nil, nil, err
		}
		for j := range old {
			if len(old[j]) != len(mask[j]) {
				old[j] = widen(cur[j])
			}
		}
	}
	return old, ref, mask, nil
}
