package pipeline

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// tinyARPolicy is a causal policy small enough to build in milliseconds.
func tinyARPolicy(t *testing.T) *policyfile.Policy {
	t.Helper()
	pol, err := policyfile.New(policy.KindAR, policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Vocab: 264, InitSeed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// captureAlgorithm is a learner registered for the pipeline's tests: it
// records the Env buildLearner hands it and trains nothing.
const captureAlgorithm = "pipeline-test-capture"

var captured learn.Env

func init() {
	learn.Register(captureAlgorithm, learn.Algorithm{New: func(env learn.Env) (learn.Learner, error) {
		captured = env
		return nil, nil
	}})
}

// onesBatch is B = 2 on-policy rows (ρ = 1, A = +1) whose longest
// completion has width tokens.
func onesBatch(width int) *objective.LossInput {
	in := &objective.LossInput{Adv: []float64{1, 1}}
	for _, n := range []int{3, width} {
		in.Logp = append(in.Logp, make([]float64, n))
		in.OldLogp = append(in.OldLogp, make([]float64, n))
		mask := make([]float64, n)
		for k := range mask {
			mask[k] = 1
		}
		in.Mask = append(in.Mask, mask)
	}
	return in
}

// Dr. GRPO divides by the constant G·L_max with L_max =
// rollout.max_new_tokens (ALGORITHMS §1.6), and seq-mean-token-sum-norm by
// a constant S, not by the mini-batch's longest completion: the gradient of
// an on-policy token with A = 1 is −1/(B·L_max) resp. −1/S whatever the
// batch's width, with the loss configuration buildLearner hands the
// learner. Explicit values still win.
func TestLearnerLossNormaliserIsTheCompletionBudget(t *testing.T) {
	const budget = 24
	for _, tc := range []struct {
		name    string
		preset  string
		edit    func(*objective.LossConfig)
		divisor float64
	}{
		{"dr_grpo preset: B·max_new_tokens", objective.PresetDrGRPO, nil, 2 * budget},
		{"dr_grpo with an explicit max_len", objective.PresetDrGRPO, func(l *objective.LossConfig) { l.MaxLen = 50 }, 2 * 50},
		{"seq-mean-token-sum-norm: S = max_new_tokens", objective.PresetDefault,
			func(l *objective.LossConfig) { l.Agg = objective.AggSeqMeanTokenSumNorm }, budget},
		{"seq-mean-token-sum-norm with an explicit scale_factor", objective.PresetDefault,
			func(l *objective.LossConfig) { l.Agg, l.ScaleFactor = objective.AggSeqMeanTokenSumNorm, 7 }, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultRunConfig()
			cfg.Algorithm.Name = tc.preset
			if err := cfg.ApplyPreset(); err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(&cfg.Algorithm.Loss)
			}
			cfg.Rollout.MaxNewTokens = budget
			// The preset set the loss; the capturing learner shows what the
			// run's learner would be given.
			cfg.Algorithm.Name = captureAlgorithm
			captured = learn.Env{}
			r := &runner{cfg: cfg, ts: &trainState{pol: tinyARPolicy(t)}}
			if err := r.ts.buildLearner(r.cfg, nil); err != nil {
				t.Fatal(err)
			}
			if captured.Policy != r.ts.pol.Model {
				t.Fatal("buildLearner did not build the configured learner")
			}
			for _, width := range []int{5, 20} {
				res, err := objective.PolicyLoss(nil, onesBatch(width), captured.Algo.Loss)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := res.DLogp[0][0], -1/tc.divisor; math.Abs(got-want) > 1e-15 {
					t.Errorf("longest completion %d: dLoss/dℓ = %v, want −1/%v = %v", width, got, tc.divisor, want)
				}
			}
		})
	}
}
