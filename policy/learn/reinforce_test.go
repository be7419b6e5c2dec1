package learn

import (
	"errors"
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/policy/learn/trainrows"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// Golden values worked by hand: logp rows of 2, 1 and 3 tokens with
// advantages 1, −0.5, 0.25 (Σ_t logp = −1.5, −2, −2).
func TestReinforceLossMatchesGoldenValues(t *testing.T) {
	logp := [][]float64{{-0.5, -1.0}, {-2.0}, {-0.25, -0.75, -1.0}}
	adv := []float64{1, -0.5, 0.25}
	cases := []struct {
		agg      objective.AggMode
		maxLen   int
		loss     float64
		rowGrads []float64 // ∂loss/∂logp, the same for every token of a row
	}{
		// token-mean: s = 1/6; loss = −(−1.5 + 1 − 0.5)/6.
		{objective.AggTokenMean, 0, 1.0 / 6, []float64{-1.0 / 6, 0.5 / 6, -0.25 / 6}},
		// seq-mean-token-mean: s_i = 1/(3·len_i); loss = −(−0.75 + 1 − 1/6)/3.
		{objective.AggSeqMeanTokenMean, 0, -1.0 / 36, []float64{-1.0 / 6, 0.5 / 3, -0.25 / 9}},
		// dr_grpo with max_len 4: s = 1/(3·4); loss = −(−1)/12.
		{objective.AggDrGRPO, 4, 1.0 / 12, []float64{-1.0 / 12, 0.5 / 12, -0.25 / 12}},
	}
	for _, tc := range cases {
		t.Run(string(tc.agg), func(t *testing.T) {
			loss, grad := ReinforceLoss(logp, adv, objective.LossConfig{Agg: tc.agg, MaxLen: tc.maxLen})
			if math.Abs(loss-tc.loss) > 1e-7 {
				t.Errorf("loss %.9f, want %.9f", loss, tc.loss)
			}
			for i, row := range grad {
				for j, g := range row {
					if math.Abs(g-tc.rowGrads[i]) > 1e-7 {
						t.Errorf("grad[%d][%d] = %.9f, want %.9f", i, j, g, tc.rowGrads[i])
					}
				}
			}
		})
	}
}

// On-policy (ratio 1, one epoch), the clipped surrogate's gradient is the
// REINFORCE gradient, so one update of each from the same weights with the
// same advantages must land on the same weights: an independent check of
// the learner against the GRPO family.
func TestReinforceUpdateEqualsOnPolicyGRPO(t *testing.T) {
	updated := func(name string) []float32 {
		algo := DefaultConfig()
		algo.Name = name
		if err := algo.ApplyPreset(); err != nil {
			t.Fatal(err)
		}
		algo.Advantage.Std = objective.StdNone // the GRPO run uses reinforce's baseline
		pol := tinyCausal(t)
		env := testEnv(t, pol, algo, 1e-2)
		l, err := New(env)
		if err != nil {
			t.Fatal(err)
		}
		rows := trainrows.BVPO()
		trainrows.TieGroups(rows)
		for i := range rows {
			rows[i].Logprobs = nil // no behaviour log-probs: ratio exactly 1
		}
		groups := make([]int, len(rows))
		for i := range rows {
			groups[i] = i / 3
		}
		if _, err := l.Update(Batch{Step: 0, Rows: rows, Groups: groups}); err != nil {
			t.Fatal(err)
		}
		return weights(pol)
	}
	before := weights(tinyCausal(t))
	got, want := updated(NameReinforce), updated(objective.PresetGRPO)
	moved := false
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("weight %d: reinforce %v, on-policy grpo %v", i, got[i], want[i])
		}
		moved = moved || got[i] != before[i]
	}
	if !moved {
		t.Fatal("the update left the weights unchanged")
	}
}

func TestReinforceRefusesKeysWithoutMeaning(t *testing.T) {
	clip := 0.2
	cases := []struct {
		name string
		edit func(*Config)
	}{
		{"a clip bound", func(c *Config) { c.Loss.ClipHigh = &clip }},
		{"dual clip", func(c *Config) { c.Loss.DualClip = 3 }},
		{"a KL loss", func(c *Config) { c.Loss.Beta = 0.01 }},
		{"an entropy bonus", func(c *Config) { c.Loss.EntropyCoef = 0.01 }},
		{"several epochs", func(c *Config) { c.Epochs = 2 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			algo := DefaultConfig()
			algo.Name = NameReinforce
			if err := algo.ApplyPreset(); err != nil {
				t.Fatal(err)
			}
			tc.edit(&algo)
			if _, err := New(testEnv(t, tinyCausal(t), algo, 1e-3)); !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
}
