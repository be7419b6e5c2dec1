package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
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
		{"with bvpo", func(c *RunConfig) { c.Algorithm.Name, c.Algorithm.KLInReward = learn.NameBVPO, 0.01 },
			[]string{"algorithm.kl_in_reward", "bvpo"}},
		{"with gdpo", func(c *RunConfig) {
			c.Policy.Kind, c.Algorithm.Name, c.Algorithm.KLInReward = policy.KindDiffusion, learn.NameGDPO, 0.01
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
		if _, ok := m.Algo[learn.MetricKLRewardPenalty]; !ok {
			t.Errorf("step %d: no %s in %s", i+1, learn.MetricKLRewardPenalty, line)
		}
	}
}
