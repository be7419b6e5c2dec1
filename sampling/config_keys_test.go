package sampling

import (
	"reflect"
	"testing"
)

// TestConfigKeysChangeThePicks proves that each sampling key of `rlpipe
// config default` reaches the sampler New builds (the constructor the
// pipeline calls): with the key moved off its default, the same
// environment yields different picks. A key that were parsed and then
// ignored would leave the picks unchanged.
func TestConfigKeysChangeThePicks(t *testing.T) {
	cases := []struct {
		key    string
		mutate func(*Config)
	}{
		{"sampling.kind", func(c *Config) { c.Kind = KindUniform }},
		{"sampling.seed", func(c *Config) { c.Seed = 5 }},
		{"sampling.vas.lambda", func(c *Config) { c.VAS.Lambda = 1 }},
		// α·OVS alone against the default α·OVS + β·TDS: the high-variance
		// prompts have diverse answers, so dropping or reweighting either
		// term moves the weights.
		{"sampling.vas.alpha", func(c *Config) { c.VAS.Alpha = 0.1 }},
		{"sampling.vas.beta", func(c *Config) { c.VAS.Beta = 0 }},
		// A floor of 0.5 lifts the zero-variance prompts' weight 50-fold.
		{"sampling.vas.w_min", func(c *Config) { c.VAS.WMin = 0.5 }},
		{"sampling.vas.ema", func(c *Config) { c.VAS.EMA = 0.9 }},
		{"sampling.vas.tds", func(c *Config) { c.VAS.TDS = TDSMMR1CodeSelfBLEU }},
	}
	picks := func(t *testing.T, cfg Config) [][]int {
		s, err := New(cfg, newWorld(64, 8).ids)
		if err != nil {
			t.Fatal(err)
		}
		return newWorld(64, 8).run(t, s, 0, 12, 16)
	}
	base := picks(t, DefaultConfig())
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			cfg := DefaultConfig()
			c.mutate(&cfg)
			if reflect.DeepEqual(picks(t, cfg), base) {
				t.Errorf("%s moved off its default, yet the sampler picked exactly the default's prompts", c.key)
			}
		})
	}
}
