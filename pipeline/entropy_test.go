package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
)

// algorithm.loss.entropy_coef is refused, naming the key, wherever no
// learner would apply it.
func TestEntropyCoefIsRefusedWhereItWouldBeIgnored(t *testing.T) {
	cases := []struct {
		name    string
		set     func(c *RunConfig)
		refused bool
	}{
		{"grpo", func(c *RunConfig) {}, false},
		{"bvpo base grpo", func(c *RunConfig) { c.Algorithm.Name, c.Algorithm.BVPO.Base = learn.NameBVPO, learn.BVPOBaseGRPO }, false},
		{"bvpo base dpo", func(c *RunConfig) { c.Algorithm.Name = learn.NameBVPO }, true},
		{"gdpo", func(c *RunConfig) { c.Policy.Kind, c.Algorithm.Name = policy.KindDiffusion, learn.NameGDPO }, true},
		{"diffu_grpo", func(c *RunConfig) { c.Policy.Kind, c.Algorithm.Name = policy.KindDiffusion, learn.NameDiffuGRPO }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, coef := range []float64{0, 0.01} {
				cfg := smallRunConfig()
				tc.set(&cfg)
				cfg.Algorithm.Loss.EntropyCoef = coef
				err := cfg.Validate()
				switch {
				case coef == 0 || !tc.refused:
					if err != nil {
						t.Fatalf("entropy_coef %v: %v", coef, err)
					}
				case !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "algorithm.loss.entropy_coef"):
					t.Fatalf("entropy_coef %v: error %v, want a config error naming algorithm.loss.entropy_coef", coef, err)
				}
			}
		})
	}
}
