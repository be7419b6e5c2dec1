package learn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy/learn/trainrows"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// autoBVPOConfig is the default BVPO configuration with alpha auto.
func autoBVPOConfig() BVPOConfig {
	c := DefaultBVPOConfig()
	c.Alpha = AutoAlpha()
	return c
}

func TestBVPOAutoAlphaFallsBackWhenAModeHasTooFewGroups(t *testing.T) {
	type step struct {
		trace, empty string
		alpha        float64 // the α the step must train with
		fallback     float64 // bvpo_alpha_fallback
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"3 groups per mode before any estimate use 0.5", []step{{"PNP", "ZZZ", 0.5, 1}}},
		{"3 groups after an estimate keep the last alpha", []step{{"PNPN", "ZZZZ", 0, 0}, {"PNP", "ZZZ", 0, 1}}},
		{"modes with different group counts", []step{{"PNPN", "ZZZ", 0.5, 1}}},
		{"a mode without kept rows", []step{{"PNPN", "", 0.5, 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := testBVPOLearner(t, autoBVPOConfig())
			estimates := 0
			for i, s := range tc.steps {
				st, err := b.update(trainrows.Alpha(s.trace, s.empty), i)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if a := st.Algo["bvpo/alpha"]; math.Abs(a-s.alpha) > 1e-9 {
					t.Errorf("step %d: alpha = %v, want %v", i, a, s.alpha)
				}
				if f, ok := st.Algo["bvpo_alpha_fallback"]; !ok || f != s.fallback {
					t.Errorf("step %d: alpha_fallback = %v (present %v), want %v", i, f, ok, s.fallback)
				}
				if s.fallback == 0 {
					estimates++
				}
				if b.est.Steps() != estimates {
					t.Errorf("step %d: estimator updated %d times, want %d", i, b.est.Steps(), estimates)
				}
			}
		})
	}
}

// The first auto-α estimate follows ALGORITHMS §4.2 with the estimator's
// proxies (b_t = 0, ‖b_e‖² = ‖ḡ_e − ḡ_t‖² − (σ_t² + σ_e² − 2c) on the first
// step). Writing g for P's gradient (N's is −g) and K = 4:
//
//	PNPN: mean ≈ 0, σ² = Σ_k‖g_k‖²/((K−1)K) = ‖g‖²/3;  ZZZZ, PPPP: σ² = 0
//	PNPN vs ZZZZ: c = 0, ‖b_e‖² = max(0, 0 − ‖g‖²/3) = 0 → α* = 0/σ_t² = 0
//	ZZZZ vs PNPN: α* = σ_e²/σ_e² = 1
//	PNPN vs PPPP: ‖b_e‖² = ‖g‖² − ‖g‖²/3 → α* = (2/3)/(1/3 + 2/3) = 2/3
//
// so a noisier trace mode pulls α below 0.5, a noisier empty mode above,
// and a quiet but biased empty mode is worth less than its quiet suggests.
func TestBVPOAutoAlphaFollowsTheGradientVariances(t *testing.T) {
	cases := []struct {
		name, trace, empty string
		want               float64
	}{
		{"noisy trace, quiet unbiased empty", "PNPN", "ZZZZ", 0},
		{"quiet unbiased trace, noisy empty", "ZZZZ", "PNPN", 1},
		{"noisy trace, quiet biased empty", "PNPN", "PPPP", 2.0 / 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := testBVPOLearner(t, autoBVPOConfig())
			st, err := b.update(trainrows.Alpha(tc.trace, tc.empty), 0)
			if err != nil {
				t.Fatal(err)
			}
			if st.Algo["bvpo/var_trace"]+st.Algo["bvpo/var_empty"] == 0 {
				t.Fatalf("no gradient variance in either mode; the fixture proves nothing: %v", st.Algo)
			}
			if a := st.Algo["bvpo/alpha"]; math.Abs(a-tc.want) > 1e-3 {
				t.Errorf("alpha = %v, want %v (algo metrics %v)", a, tc.want, st.Algo)
			}
		})
	}
}

// bias_momentum reaches the estimator. Step 1 (PNPN vs PPPP) gives
// α = 2/3 whatever the momentum (TestBVPOAutoAlphaFollowsTheGradientVariances).
// Step 2 (PNPN vs ZZZZ) has ḡ_e = 0, ḡ_t ≈ 0, σ_t² ≈ ‖g‖²/3, σ_e² = c = 0:
//
//	μ_b = 0:   M_e − M_t ≈ 0, ‖b_e‖² = 0 → α* = 0
//	μ_b = 0.9: M_e − M_t ≈ 0.9g, W₂ = 0.81 + 0.01 → ‖b_e‖² ≈ (0.81 − 0.82/3)‖g‖²,
//	           α* = ‖b_e‖²/(σ_t² + ‖b_e‖²) ≈ 0.617
//
// and α = 0.9·(2/3) + 0.1·α* with the default smoothing. A negligible
// learning rate keeps θ at the reference, so that g is the same both steps.
func TestBVPOBiasMomentumDrivesTheBiasProxy(t *testing.T) {
	b2 := 0.81 - 0.82/3
	cases := []struct {
		momentum, want float64
	}{{0, 0.9 * 2 / 3}, {0.9, 0.9*2/3 + 0.1*b2/(1.0/3+b2)}}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.momentum), func(t *testing.T) {
			c := autoBVPOConfig()
			c.BiasMomentum = tc.momentum
			b := testBVPOLearner(t, c)
			b.sched, _ = optim.NewSchedule(optim.ScheduleConfig{}, 1e-12)
			var st Stats
			var err error
			for i, p := range [][2]string{{"PNPN", "PPPP"}, {"PNPN", "ZZZZ"}} {
				if st, err = b.update(trainrows.Alpha(p[0], p[1]), i); err != nil {
					t.Fatal(err)
				}
			}
			if a := st.Algo["bvpo/alpha"]; math.Abs(a-tc.want) > 1e-4 {
				t.Errorf("step 2 alpha = %v, want %v (algo metrics %v)", a, tc.want, st.Algo)
			}
		})
	}
}

func TestBVPOStateRoundTripsBitForBit(t *testing.T) {
	for _, steps := range [][]string{nil, {"PNPN", "PPPP"}} {
		t.Run(fmt.Sprintf("%d estimates", len(steps)/2), func(t *testing.T) {
			src := testBVPOLearner(t, autoBVPOConfig())
			for i := 0; i < len(steps); i += 2 {
				if _, err := src.update(trainrows.Alpha(steps[i], steps[i+1]), i/2); err != nil {
					t.Fatal(err)
				}
			}
			var buf bytes.Buffer
			if err := src.State().Save(&buf); err != nil {
				t.Fatal(err)
			}
			dst := testBVPOLearner(t, autoBVPOConfig())
			if err := dst.State().Load(bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatal(err)
			}
			a, b := src.est.State(), dst.est.State()
			same := func(x, y []float64) bool {
				return slices.EqualFunc(x, y, func(p, q float64) bool { return math.Float64bits(p) == math.Float64bits(q) })
			}
			if math.Float64bits(a.Alpha) != math.Float64bits(b.Alpha) || math.Float64bits(a.W2) != math.Float64bits(b.W2) ||
				a.Steps != b.Steps || !same(a.MeanTrace, b.MeanTrace) || !same(a.MeanEmpty, b.MeanEmpty) {
				t.Errorf("state changed through save and load: %v %v %d → %v %v %d", a.Alpha, a.W2, a.Steps, b.Alpha, b.W2, b.Steps)
			}
		})
	}
	t.Run("means of another policy are refused", func(t *testing.T) {
		var buf bytes.Buffer
		buf.WriteString(bvpoStateMagic)
		binary.Write(&buf, binary.LittleEndian, []uint64{math.Float64bits(0.5), 0, 1, 3})
		binary.Write(&buf, binary.LittleEndian, make([]float64, 6))
		if err := testBVPOLearner(t, autoBVPOConfig()).State().Load(&buf); err == nil || !strings.Contains(err.Error(), "parameters") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a fixed alpha carries no state", func(t *testing.T) {
		if s := testBVPOLearner(t, DefaultBVPOConfig()).State(); s != nil {
			t.Fatalf("State() = %v, want nil", s)
		}
	})
}
