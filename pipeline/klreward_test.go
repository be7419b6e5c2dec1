package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
)

func TestKLInRewardConfigIsValidatedNamingTheKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*RunConfig)
		want []string // substrings of the error; nil: valid
	}{
		{"off by default", func(*RunConfig) {}, nil},
		{"on with the default loss", func(c *RunConfig) { c.Algorithm.KLInReward = 0.01 }, nil},
		{"negative", func(c *RunConfig) { c.Algorithm.KLInReward = -0.01 }, []string{"algorithm.kl_in_reward"}},
		{"NaN", func(c *RunConfig) { c.Algorithm.KLInReward = math.NaN() }, []string{"algorithm.kl_in_reward"}},
		{"together with the loss's KL", func(c *RunConfig) { c.Algorithm.KLInReward, c.Algorithm.Loss.Beta = 0.01, 0.001 },
			[]string{"algorithm.kl_in_reward", "algorithm.loss.beta", "mutually exclusive"}},
		{"with bvpo", func(c *RunConfig) { c.Algorithm.Name, c.Algorithm.KLInReward = AlgoBVPO, 0.01 },
			[]string{"algorithm.kl_in_reward", "bvpo"}},
		{"with gdpo", func(c *RunConfig) {
			c.Policy.Kind, c.Algorithm.Name, c.Algorithm.KLInReward = policy.KindDiffusion, AlgoGDPO, 0.01
		}, []string{"algorithm.kl_in_reward", "gdpo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultRunConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// klRewardFixture is a learner with kl_in_reward β and a frozen reference,
// built as a run builds it, and two groups of three rollouts whose
// behaviour log-probs are 0, so that each row's k1 sum is −Σ_t ℓ^ref_t > 0
// and grows with its length. The second group's rewards are all equal.
func klRewardFixture(t *testing.T, beta float64) (*runner, []data.TrainRow, []int) {
	t.Helper()
	cfg := DefaultRunConfig()
	cfg.Algorithm.KLInReward = beta
	r := &runner{cfg: cfg, pol: tinyARPolicy(t)}
	if err := r.buildLearner(); err != nil {
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
	return r, rows, groups
}

// The advantages are GroupAdvantages of R − β·Σ_t(ℓ^old − ℓ^ref), with ℓ^ref
// from the frozen reference, and differ from the plain ones.
func TestKLInRewardFoldsThePenaltyIntoTheAdvantages(t *testing.T) {
	const beta = 0.05
	r, rows, groups := klRewardFixture(t, beta)
	if r.ref == nil || r.learn.ref == nil {
		t.Fatal("kl_in_reward built no reference policy")
	}
	plain := append([]data.TrainRow(nil), rows...)
	if _, err := computeAdvantages(plain, groups, r.cfg.Algorithm.Advantage); err != nil {
		t.Fatal(err)
	}
	_, metrics, err := r.learn.advantages(rows, groups)
	if err != nil {
		t.Fatal(err)
	}
	folded := make([]float64, len(rows))
	var penalty float64
	for i := range rows {
		b := policy.SeqBatch{Prompts: [][]int32{rows[i].PromptTokens}, Completions: [][]int32{rows[i].CompletionTokens}}
		ref, _, err := r.ref.(*policy.Model).LogProbs(b, r.cfg.Rollout.Temperature)
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
	if err := objective.GroupAdvantages(&want, folded, groups, r.cfg.Algorithm.Advantage); err != nil {
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
	if got := metrics[metricKLRewardPenalty]; !(penalty > 0) || math.Abs(got-penalty) > 1e-9 {
		t.Errorf("penalty_mean = %v, want %v > 0", got, penalty)
	}
	if got := metrics[metricKLRewardKL]; math.Abs(got-penalty/beta) > 1e-9 {
		t.Errorf("kl_mean = %v, want %v", got, penalty/beta)
	}
}

// A run with kl_in_reward reports the mean penalty in metrics.jsonl.
func TestKLInRewardRunReportsThePenalty(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Algorithm.KLInReward = 0.05
	cfg.Train.Steps = 2
	out := t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: out}); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(out, metricsFile))
	for i, line := range lines {
		var m struct {
			Algo map[string]float64 `json:"algo"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Algo[metricKLRewardPenalty]; !ok {
			t.Errorf("step %d: no %s in %s", i+1, metricKLRewardPenalty, line)
		}
	}
}
