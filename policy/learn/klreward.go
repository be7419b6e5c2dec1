package learn

import (
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// Metric keys of algorithm.kl_in_reward in Stats.Algo (metrics.jsonl's
// algo map).
const (
	// MetricKLRewardPenalty is the mean over trained rows of β·Σ_t(ℓ^old −
	// ℓ^ref), the amount subtracted from the reward.
	MetricKLRewardPenalty = "kl_in_reward/penalty_mean"
	// MetricKLRewardKL is the same mean without β: the k1 sequence KL of
	// the behaviour policy to the reference.
	MetricKLRewardKL = "kl_in_reward/kl_mean"
)

// advantages fills the rows' advantage columns. With algorithm.kl_in_reward
// set it first folds the KL penalty into the rewards of the rows that train
// (objective.KLInReward) and returns its metrics; the rows' reward column
// keeps the scorer's reward, while advantage, group_mean and group_std come
// from the folded one. Without it, it is computeAdvantages.
func (l *grpo) advantages(rows []data.TrainRow, groups []int) (zeroStd int, metrics map[string]float64, err error) {
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
		return 0, nil, fmt.Errorf("learn: kl_in_reward: %w", err)
	}
	if zeroStd, err = advantagesOf(rows, rewards, groups, l.algo.Advantage); err != nil {
		return 0, nil, err
	}
	var mean float64
	for _, p := range penalty {
		mean += p / float64(max(kept, 1))
	}
	return zeroStd, map[string]float64{MetricKLRewardPenalty: mean, MetricKLRewardKL: mean / l.algo.KLInReward}, nil
}

// klRewardPenalty subtracts β·Σ_t(ℓ^old − ℓ^ref) from rewards[i] of every
// row that trains (kept, non-empty completion; other rows do not train, so
// their advantages do not matter) and returns those rows' penalties. ℓ^old
// is the rollout's behaviour log-probs; a rollout without them (a server
// that returns none) uses the current policy's, which is the behaviour
// policy at max_staleness 0. The reference forward runs in mini-batch
// sized chunks, the shapes the learner's graphs already have.
func (l *grpo) klRewardPenalty(rows []data.TrainRow, rewards []float64) ([]float64, int, error) {
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
func (l *grpo) klRewardInputs(rows []data.TrainRow, idx []int) (old, ref, mask [][]float64, err error) {
	old, mask = make([][]float64, len(idx)), make([][]float64, len(idx))
	missing := false
	for j, i := range idx {
		r := &rows[i]
		old[j], mask[j] = widen(r.Logprobs), ones(len(r.CompletionTokens))
		missing = missing || len(r.Logprobs) != len(r.CompletionTokens)
	}
	ref, err = l.chunkedLogProbs(l.ref, idx, rows)
	if err != nil {
		return nil, nil, nil, err
	}
	if missing {
		cur, err := l.chunkedLogProbs(l.model, idx, rows)
		if err != nil {
			return nil, nil, nil, err
		}
		for j := range old {
			if len(old[j]) != len(mask[j]) {
				old[j] = cur[j]
			}
		}
	}
	return old, ref, mask, nil
}

// chunkedLogProbs is m's log-probs of rows[idx], widened, computed in
// micro-batches of algorithm.micro_batch_size sequences.
func (l *grpo) chunkedLogProbs(m policy.Causal, idx []int, rows []data.TrainRow) ([][]float64, error) {
	out := make([][]float64, 0, len(idx))
	for _, chunk := range microBatches(idx, l.algo.MicroBatchSize) {
		lp, _, err := m.LogProbs(seqBatch(rows, chunk), l.temperature)
		if err != nil {
			return nil, err
		}
		for _, row := range lp {
			out = append(out, widen(row))
		}
	}
	return out, nil
}
