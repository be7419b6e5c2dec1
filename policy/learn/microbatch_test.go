package learn_test

import (
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/learn/learntest"
	"github.com/rlpipe/rlpipe/policy/learn/trainrows"
)

// passSpy is a causal policy that records the largest batch any forward
// or backward pass was given.
type passSpy struct {
	policy.Trainable
	causal  policy.Causal
	largest int
}

func (s *passSpy) see(b policy.SeqBatch) { s.largest = max(s.largest, len(b.Prompts)) }

func (s *passSpy) LogProbs(b policy.SeqBatch, temperature float64) ([][]float32, [][]float32, error) {
	s.see(b)
	return s.causal.LogProbs(b, temperature)
}

func (s *passSpy) Accumulate(b policy.SeqBatch, temperature float64, f policy.LossGradFunc) (float64, error) {
	s.see(b)
	return s.causal.Accumulate(b, temperature, f)
}

func (s *passSpy) AccumulateWithEntropy(b policy.SeqBatch, temperature float64, f policy.EntropyLossGradFunc) (float64, error) {
	s.see(b)
	return s.causal.AccumulateWithEntropy(b, temperature, f)
}

// TestMicroBatchSizeBoundsEveryPass: with algorithm.micro_batch_size every
// pass over the policy and its reference (entropy diagnostic, reference
// log-probs, forward and backward) holds at most that many sequences;
// without it, the whole mini-batch goes through at once.
func TestMicroBatchSizeBoundsEveryPass(t *testing.T) {
	rows := trainrows.BVPO()
	trainrows.TieGroups(rows)
	kept := 0
	for _, r := range rows {
		if r.Keep && len(r.CompletionTokens) > 0 {
			kept++
		}
	}
	for _, micro := range []int{0, 3} {
		for _, klInReward := range []bool{false, true} {
			algo := learn.DefaultConfig()
			algo.Name = "grpo" // a KL term: the reference is read too
			if err := algo.ApplyPreset(); err != nil {
				t.Fatal(err)
			}
			algo.MicroBatchSize, algo.Loss.EntropyCoef = micro, 0.01
			if klInReward { // the KL goes into the reward instead
				algo.Loss.Beta, algo.KLInReward = 0, 0.05
			}
			env := envFor(algo)(t)
			spy := &passSpy{Trainable: env.Policy, causal: env.Policy.(policy.Causal)}
			ref := &passSpy{Trainable: env.Ref, causal: env.Ref.(policy.Causal)}
			env.Policy, env.Ref = spy, ref
			l, err := learn.New(env)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Update(learntest.BatchOf(0, append([]data.TrainRow(nil), rows...))); err != nil {
				t.Fatal(err)
			}
			want := kept
			if micro > 0 {
				want = micro
			}
			if spy.largest != want || ref.largest != want {
				t.Errorf("micro_batch_size %d, kl in reward %v: largest pass %d sequences (reference %d), want %d",
					micro, klInReward, spy.largest, ref.largest, want)
			}
		}
	}
}
