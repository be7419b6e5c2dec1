package learn

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// klRewardFixture is a learner with kl_in_reward β and a frozen reference,
// built through the registry, and two groups of three rollouts whose
// behaviour log-probs are 0, so that each row's k1 sum is −Σ_t ℓ^ref_t > 0
// and grows with its length. The second group's rewards are all equal.
func klRewardFixture(t *testing.T, beta float64) (*grpo, []data.TrainRow, []int) {
	t.Helper()
	algo := DefaultConfig()
	algo.KLInReward = beta
	if !NeedsReference(algo) {
		t.Fatal("kl_in_reward needs no reference policy")
	}
	l, err := New(testEnv(t, tinyCausal(t), algo, 1e-5))
	if err != nil {
		t.Fatal(err)
	}
	var rows []data.TrainRow
	var groups []int
	for g := range 2 {
		for s := range 3 {
			completion := make([]int32, 2+s+g)
			for k := range completion {
				completion[k] = int32(20 + 3*k + s)
			}
			rows = append(rows, data.TrainRow{Keep: true, Scored: data.Scored{
				Rollout: data.Rollout{PromptID: uint64(g), SampleIdx: int32(s), PromptTokens: []int32{8, int32(40 + g)},
					CompletionTokens: completion, Logprobs: make([]float32, len(completion))},
				Reward: float64((s + 1) % 2 * (1 - g))}})
			groups = append(groups, g)
		}
	}
	return l.(*grpo), rows, groups
}

// The advantages are GroupAdvantages of R − β·Σ_t(ℓ^old − ℓ^ref), with ℓ^ref
// from the frozen reference, and differ from the plain ones.
func TestKLInRewardFoldsThePenaltyIntoTheAdvantages(t *testing.T) {
	const beta = 0.05
	l, rows, groups := klRewardFixture(t, beta)
	plain := append([]data.TrainRow(nil), rows...)
	if _, err := computeAdvantages(plain, groups, l.algo.Advantage); err != nil {
		t.Fatal(err)
	}
	_, metrics, err := l.advantages(rows, groups)
	if err != nil {
		t.Fatal(err)
	}
	folded := make([]float64, len(rows))
	var penalty float64
	for i := range rows {
		b := policy.SeqBatch{Prompts: [][]int32{rows[i].PromptTokens}, Completions: [][]int32{rows[i].CompletionTokens}}
		ref, _, err := l.ref.LogProbs(b, l.temperature)
		if err != nil {
			t.Fatal(err)
		}
		var kl float64
		for _, v := range ref[0] {
			kl += 0 - float64(v)
		}
		folded[i] = rows[i].Reward - beta*kl
		penalty += beta * kl / float64(len(rows))
	}
	var want objective.Advantages
	if err := objective.GroupAdvantages(&want, folded, groups, l.algo.Advantage); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if got := float64(rows[i].Advantage); math.Abs(got-want.Adv[i]) > 1e-5 {
			t.Errorf("row %d: advantage %v, want %v", i, got, want.Adv[i])
		}
		if rows[i].Advantage == plain[i].Advantage {
			t.Errorf("row %d: advantage %v unchanged by the penalty", i, rows[i].Advantage)
		}
		if rows[i].Reward != plain[i].Reward {
			t.Errorf("row %d: the reward column changed to %v", i, rows[i].Reward)
		}
	}
	if got := metrics[MetricKLRewardPenalty]; !(penalty > 0) || math.Abs(got-penalty) > 1e-9 {
		t.Errorf("penalty_mean = %v, want %v > 0", got, penalty)
	}
	if got := metrics[MetricKLRewardKL]; math.Abs(got-penalty/beta) > 1e-9 {
		t.Errorf("kl_mean = %v, want %v", got, penalty/beta)
	}
}
