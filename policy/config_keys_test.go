package policy

import (
	"slices"
	"testing"
)

// TestModelConfigKeysChangeTheModel proves that every policy.model key of
// `rlpipe config default` shapes the model NewModel builds (the constructor
// policyfile.New calls): moved off the base value, each key changes the
// parameter count or the log-probabilities of the same sequences. A key
// that were validated and then ignored would change neither.
func TestModelConfigKeysChangeTheModel(t *testing.T) {
	base := Config{Layers: 1, DModel: 8, Heads: 2, DFF: 8, Context: 16, Vocab: 11, Activation: "gelu", Positions: "learned", Causal: true, InitSeed: 3}
	cases := []struct {
		key    string
		mutate func(*Config)
	}{
		{"policy.model.layers", func(c *Config) { c.Layers = 2 }},
		{"policy.model.d_model", func(c *Config) { c.DModel = 16 }},
		// Same parameters, split into one head instead of two.
		{"policy.model.heads", func(c *Config) { c.Heads = 1 }},
		{"policy.model.d_ff", func(c *Config) { c.DFF = 16 }},
		{"policy.model.context", func(c *Config) { c.Context = 8 }},
		{"policy.model.vocab", func(c *Config) { c.Vocab = 12 }},
		{"policy.model.activation", func(c *Config) { c.Activation = "relu" }},
		{"policy.model.positions", func(c *Config) { c.Positions = "rotary" }},
		// Bidirectional attention lets earlier positions see later tokens.
		{"policy.model.causal", func(c *Config) { c.Causal = false }},
		{"policy.model.init_seed", func(c *Config) { c.InitSeed = 4 }},
	}
	type shape struct {
		params int
		logp   []float32
	}
	describe := func(t *testing.T, cfg Config) shape {
		m, err := NewModel(cfg)
		if err != nil {
			t.Fatal(err)
		}
		lp, _, err := m.LogProbs(tinyBatch, 1)
		if err != nil {
			t.Fatal(err)
		}
		return shape{m.NumParams(), slices.Concat(lp...)}
	}
	want := describe(t, base)
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			cfg := base
			c.mutate(&cfg)
			got := describe(t, cfg)
			if got.params == want.params && slices.Equal(got.logp, want.logp) {
				t.Errorf("%s changed, but the model has the same %d parameters and log-probs %v", c.key, got.params, got.logp)
			}
		})
	}
}
