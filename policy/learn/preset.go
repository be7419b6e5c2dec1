package learn

import "github.com/rlpipe/rlpipe/policy/objective"

// ApplyPreset resets c's advantage and loss sections to the preset c.Name
// selects and lets the named learner set its own defaults: a GRPO-family
// name is objective.Preset's combination; any other registered learner
// starts from rlpipe's ("rlpipe") and applies its Algorithm.Preset (gdpo
// and diffu_grpo their papers' advantage and gdpo sections). An unknown
// name is an ErrConfig. The run configuration calls it before the user's
// overrides, so that explicit fields win.
func (c *Config) ApplyPreset() error {
	a, err := lookup(c.Name)
	if err != nil {
		return err
	}
	p, err := objective.Preset(c.Name)
	if err != nil {
		p = objective.DefaultGRPOConfig() // not a GRPO-family name: rlpipe's
	}
	c.Advantage, c.Loss = p.Advantage, p.Loss
	if a.Preset != nil {
		a.Preset(c)
	}
	return nil
}

// gdpoPreset: GDPO uses advantages without std normalisation (ALGORITHMS
// §3.3) and its default gdpo section.
func gdpoPreset(c *Config) {
	c.Advantage.Std = objective.StdNone
	c.GDPO = objective.DefaultGDPOConfig()
}

// diffuGRPOPreset is d1's setting (ALGORITHMS §3.4, its train.yaml):
// one-step estimator with prompt masking 0.15, per-token ratios,
// token-mean, ε = 0.5, k3 KL to the reference with β = 0.04, no std.
// ratio: elbo_diff keeps the sequence-level (mean-field sum) form.
func diffuGRPOPreset(c *Config) {
	c.Advantage.Std = objective.StdNone
	c.GDPO = objective.GDPOConfig{Ratio: objective.RatioToken, ClipLow: new(0.5), ClipHigh: new(0.5),
		Beta: 0.04, KL: objective.KLk3, ELBO: objective.ELBOConfig{Estimator: objective.EstOneStep, PromptMaskProb: 0.15}}
}
