package sampling

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func newTestVAS(t testing.TB, seed uint64, mutate func(*VASConfig), n int) *VAS {
	t.Helper()
	cfg := DefaultConfig().VAS
	if mutate != nil {
		mutate(&cfg)
	}
	v, err := NewVAS(seed, cfg, testIDs(n))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVASPrefersHighVPSPrompts(t *testing.T) {
	// Prompts 0,1 mod 4 pass half the time with diverse answers (VPS ≈ 0.35);
	// the rest always fail or always pass with one repeated answer (VPS 0).
	w := newWorld(200, 8)
	share := func(s Sampler) float64 {
		high, total := 0, 0
		for _, picks := range w.run(t, s, 0, 60, 32) {
			for _, i := range picks {
				if w.truth[i] == 0.5 {
					high++
				}
				total++
			}
		}
		return float64(high) / float64(total)
	}
	u, err := NewUniform(7, w.ids)
	if err != nil {
		t.Fatal(err)
	}
	uni, vas := share(u), share(newTestVAS(t, 7, nil, 200))
	// Uniform: exactly half over whole epochs. VAS: the weighted half is almost
	// all high-VPS once observed (w_min = 0.01 vs ≈ 1), the uniform half 50%.
	if math.Abs(uni-0.5) > 0.03 {
		t.Errorf("uniform share of high-variance prompts = %.3f, want ≈ 0.5", uni)
	}
	if vas < 0.68 {
		t.Errorf("VAS share of high-variance prompts = %.3f, want > 0.68 (uniform %.3f)", vas, uni)
	}
	t.Logf("high-variance share: uniform %.3f, VAS %.3f", uni, vas)
}

func TestVASWeights(t *testing.T) {
	obs := func(v *VAS, step int64, pass map[int]int) {
		t.Helper()
		var groups []GroupOutcome
		for i := 0; i < len(v.pool.ids); i++ {
			k, ok := pass[i]
			if !ok {
				continue
			}
			correct := make([]bool, 4)
			for j := 0; j < k; j++ {
				correct[j] = true
			}
			groups = append(groups, GroupOutcome{PromptID: v.pool.ids[i], Correct: correct})
		}
		if err := v.Observe(step, groups); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Next(step, 1); err != nil {
			t.Fatal(err)
		}
	}
	eff := func(v *VAS) []float64 {
		out := make([]float64, len(v.cum))
		for i := range v.cum {
			out[i] = v.cum[i]
			if i > 0 {
				out[i] -= v.cum[i-1]
			}
		}
		return out
	}
	t.Run("before any observation every prompt weighs the same", func(t *testing.T) {
		v := newTestVAS(t, 1, nil, 3)
		obs(v, 0, nil)
		if got := eff(v); !reflect.DeepEqual(got, []float64{1, 1, 1}) {
			t.Errorf("weights %v", got)
		}
	})
	t.Run("all-equal scores fall back to uniform weights", func(t *testing.T) {
		v := newTestVAS(t, 1, func(c *VASConfig) { c.Beta = 0; c.Alpha = 1 }, 3)
		obs(v, 0, map[int]int{0: 0, 1: 4, 2: 4}) // P ∈ {0, 1}: every OVS is 0
		if got := eff(v); !reflect.DeepEqual(got, []float64{1, 1, 1}) {
			t.Errorf("weights %v", got)
		}
	})
	t.Run("the minimum is floored at w_min and unseen prompts get the mean", func(t *testing.T) {
		v := newTestVAS(t, 1, func(c *VASConfig) { c.Beta = 0; c.Alpha = 1 }, 3)
		obs(v, 0, map[int]int{0: 2, 1: 0}) // OVS 0.25 and 0
		got := eff(v)
		wantTop := 0.25 / (0.25 + 1e-8)
		want := []float64{wantTop, 0.01, (wantTop + 0.01) / 2}
		for i := range want {
			if !approx(got[i], want[i]) {
				t.Errorf("weight[%d] = %v, want %v", i, got[i], want[i])
			}
		}
	})
}

func TestVASObserve(t *testing.T) {
	t.Run("groups of one prompt in one call are pooled", func(t *testing.T) {
		v := newTestVAS(t, 1, func(c *VASConfig) { c.HistoryLen = 2 }, 2)
		id := v.pool.ids[1]
		err := v.Observe(5, []GroupOutcome{
			{PromptID: id, Correct: []bool{true, true}, Rewards: []float64{1, 3}},
			{PromptID: v.pool.ids[0], Correct: []bool{false}},
			{PromptID: id, Correct: []bool{false, true}, Rewards: []float64{math.NaN(), 5}},
		})
		if err != nil {
			t.Fatal(err)
		}
		st := v.stats[1]
		if st.TimesSeen != 2 || st.SamplesSeen != 4 || st.PassRate != 0.75 || st.LastStep != 5 {
			t.Errorf("counts %+v", st)
		}
		// Welford over {1, 3, 5} (NaN skipped): mean 3, M2 8, variance 4.
		if st.RewardCount != 3 || !approx(st.RewardMean, 3) || !approx(st.RewardVar(), 4) {
			t.Errorf("reward moments n=%d mean=%v var=%v", st.RewardCount, st.RewardMean, st.RewardVar())
		}
	})
	t.Run("the pass-rate history keeps the newest entries", func(t *testing.T) {
		v := newTestVAS(t, 1, func(c *VASConfig) { c.HistoryLen = 2 }, 1)
		for step, c := range [][]bool{{true}, {false}, {true, false}} {
			if err := v.Observe(int64(step), []GroupOutcome{{PromptID: v.pool.ids[0], Correct: c}}); err != nil {
				t.Fatal(err)
			}
		}
		if got := v.stats[0].PassRateHistory; !reflect.DeepEqual(got, []float32{0, 0.5}) {
			t.Errorf("history %v, want [0 0.5]", got)
		}
	})
	t.Run("a bad group rejects the whole call", func(t *testing.T) {
		v := newTestVAS(t, 1, nil, 2)
		good := GroupOutcome{PromptID: v.pool.ids[0], Correct: []bool{true}}
		cases := []struct {
			g    GroupOutcome
			want error
		}{
			{GroupOutcome{PromptID: 42, Correct: []bool{true}}, ErrUnknownPrompt},
			{GroupOutcome{PromptID: v.pool.ids[1]}, ErrOutcome},
			{GroupOutcome{PromptID: v.pool.ids[1], Correct: []bool{true}, Rewards: []float64{1, 2}}, ErrOutcome},
			{GroupOutcome{PromptID: v.pool.ids[1], Correct: []bool{true}, Completions: [][]int32{{1}, {2}}}, ErrOutcome},
		}
		for _, c := range cases {
			if err := v.Observe(1, []GroupOutcome{good, c.g}); !errors.Is(err, c.want) {
				t.Errorf("Observe(%+v) = %v, want %v", c.g, err, c.want)
			}
		}
		if v.stats[0].TimesSeen != 0 || v.stale {
			t.Error("a rejected call changed the statistics")
		}
	})
}

func TestVASLambdaZeroFollowsTheCursor(t *testing.T) {
	w := newWorld(50, 4)
	u, err := NewUniform(3, w.ids)
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVAS(t, 3, func(c *VASConfig) { c.Lambda = 0 }, 50)
	if a, b := w.run(t, u, 0, 9, 16), w.run(t, v, 0, 9, 16); !reflect.DeepEqual(a, b) {
		t.Error("VAS with lambda 0 differs from the uniform sampler")
	}
}

func TestTDSChoices(t *testing.T) {
	seqs := [][]int32{{1, 2, 3, 4}, {1, 2, 3, 5}, {7, 8, 9, 10}}
	cases := []struct {
		name string
		want float64
	}{
		{TDSInverseSelfBLEU, 1 - 0.4199736833},
		{"", 1 - 0.4199736833},
		{TDSDistinct3, 0.8333333333},
		{TDSEditDistance, 0.75}, // pairs 1/4, 4/4, 4/4
		{TDSMMR1CodeSelfBLEU, 0.4199736833},
	}
	for _, c := range cases {
		t.Run("tds "+c.name+" scores the golden triple", func(t *testing.T) {
			f, err := tdsFunc(c.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := f(seqs); !approx(got, c.want) {
				t.Errorf("got %.10f, want %.10f", got, c.want)
			}
			if got := f(seqs[:1]); got != 0 {
				t.Errorf("a single completion scores %v, want 0", got)
			}
		})
	}
	if _, err := tdsFunc("self-bleu"); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown TDS name: %v", err)
	}
}
