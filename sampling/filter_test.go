package sampling

import (
	"reflect"
	"testing"
)

func groupsOf(acc ...[]bool) []GroupOutcome {
	g := make([]GroupOutcome, len(acc))
	for i, a := range acc {
		g[i] = GroupOutcome{PromptID: uint64(i), Correct: a}
	}
	return g
}

func TestFilterRound(t *testing.T) {
	mixed, same := []bool{true, false}, []bool{true, true}
	t.Run("a filter that is off keeps everything in one round", func(t *testing.T) {
		r := NewGroupFilter(FilterConfig{MaxRefillRounds: 3}).Begin(3)
		if r.Need() != 3 {
			t.Fatalf("Need = %d", r.Need())
		}
		if keep := r.Add(groupsOf(same, mixed, same)); !reflect.DeepEqual(keep, []bool{true, true, true}) {
			t.Errorf("keep %v", keep)
		}
		if r.Need() != 0 || r.Result().Short {
			t.Errorf("Need %d, result %+v", r.Need(), r.Result())
		}
	})
	t.Run("zero-variance groups are dropped and refilled until the target", func(t *testing.T) {
		r := NewGroupFilter(FilterConfig{ZeroVariance: true, MaxRefillRounds: 3}).Begin(3)
		r.Add(groupsOf(same, mixed, same))
		if r.Need() != 2 {
			t.Fatalf("Need after one kept = %d, want 2", r.Need())
		}
		if keep := r.Add(groupsOf(mixed, mixed)); !reflect.DeepEqual(keep, []bool{true, true}) {
			t.Errorf("keep %v", keep)
		}
		want := FilterResult{Target: 3, Kept: 3, Dropped: 2, Rounds: 2}
		if r.Need() != 0 || r.Result() != want {
			t.Errorf("Need %d, result %+v, want %+v", r.Need(), r.Result(), want)
		}
	})
	t.Run("refills stop after max_refill_rounds and the step is short", func(t *testing.T) {
		r := NewGroupFilter(FilterConfig{ZeroVariance: true, MaxRefillRounds: 2}).Begin(2)
		rounds := 0
		for n := r.Need(); n > 0; n = r.Need() {
			acc := make([][]bool, n)
			for i := range acc {
				acc[i] = same
			}
			r.Add(groupsOf(acc...))
			rounds++
		}
		want := FilterResult{Target: 2, Dropped: 6, Rounds: 3, Short: true}
		if rounds != 3 || r.Result() != want {
			t.Errorf("%d rounds, result %+v, want %+v", rounds, r.Result(), want)
		}
		if m := r.Result().Metrics(); m["filter/short"] != 1 || m["filter/dropped"] != 6 {
			t.Errorf("metrics %v", m)
		}
	})
	t.Run("surplus groups beyond the target are truncated", func(t *testing.T) {
		r := NewGroupFilter(FilterConfig{ZeroVariance: true}).Begin(1)
		if keep := r.Add(groupsOf(mixed, mixed)); !reflect.DeepEqual(keep, []bool{true, false}) {
			t.Errorf("keep %v", keep)
		}
		if res := r.Result(); res.Truncated != 1 || res.Kept != 1 {
			t.Errorf("result %+v", res)
		}
	})
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	bad := []struct {
		name string
		mut  func(*Config)
	}{
		{"an unknown kind is refused", func(c *Config) { c.Kind = "weighted" }},
		{"lambda above 1 is refused", func(c *Config) { c.VAS.Lambda = 1.5 }},
		{"a NaN w_min is refused", func(c *Config) { c.VAS.WMin = nan() }},
		{"alpha and beta both 0 are refused", func(c *Config) { c.VAS.Alpha, c.VAS.Beta = 0, 0 }},
		{"TRAIN.MD's self-bleu spelling is refused", func(c *Config) { c.VAS.TDS = "self-bleu" }},
		{"full refresh without a period is refused", func(c *Config) { c.VAS.Refresh, c.VAS.RefreshEvery = RefreshFull, 0 }},
		{"a negative refill bound is refused", func(c *Config) { c.Filter.MaxRefillRounds = -1 }},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			c := DefaultConfig()
			b.mut(&c)
			if err := c.Validate(); err == nil {
				t.Error("no error")
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }
