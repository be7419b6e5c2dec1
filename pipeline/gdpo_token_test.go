package pipeline

import (
	"testing"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// The diffu_grpo preset is d1's objective (ALGORITHMS §3.4): per-token
// ratios of one-step log-probs, token-mean, ε = 0.5, β = 0.04 with k3,
// prompt masking 0.15, no std; the sequence-level form stays available.
func TestPresetDiffuGRPOSelectsThePerTokenRatio(t *testing.T) {
	cfg := DefaultRunConfig()
	cfg.Policy.Kind, cfg.Algorithm.Name = policy.KindDiffusion, learn.NameDiffuGRPO
	if err := cfg.ApplyPreset(); err != nil {
		t.Fatal(err)
	}
	g := cfg.Algorithm.GDPO
	if g.Ratio != objective.RatioToken || g.Beta != 0.04 || g.KL != objective.KLk3 || g.DualClip != 0 ||
		g.ClipLow == nil || *g.ClipLow != 0.5 || g.ClipHigh == nil || *g.ClipHigh != 0.5 ||
		g.ELBO.Estimator != objective.EstOneStep || g.ELBO.PromptMaskProb != 0.15 || cfg.Algorithm.Advantage.Std != objective.StdNone {
		t.Errorf("diffu_grpo preset: %+v, advantage %+v", g, cfg.Algorithm.Advantage)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Algorithm.GDPO.Ratio = objective.RatioELBODiff
	if err := cfg.Validate(); err != nil {
		t.Errorf("the sequence-level form was refused: %v", err)
	}
	cfg.Algorithm.GDPO.Ratio, cfg.Algorithm.GDPO.ELBO = objective.RatioToken, objective.DefaultELBOConfig()
	if err := cfg.Validate(); err == nil {
		t.Error("ratio token with the sdmc estimator was accepted")
	}
}
