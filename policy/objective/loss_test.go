package objective

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestPolicyLossPerTokenMatchesGoldenValues(t *testing.T) {
	for _, c := range goldenCases(t, "tok") {
		t.Run(c.name, func(t *testing.T) {
			in := &LossInput{
				Logp:    [][]float64{{math.Log(c.float(t, "ratio"))}},
				OldLogp: [][]float64{{0}},
				Mask:    [][]float64{{1}},
				Adv:     []float64{c.float(t, "adv")},
			}
			cfg := LossConfig{ClipLow: new(0.2), ClipHigh: new(c.float(t, "eh")), DualClip: c.float(t, "dual")}
			res, err := PolicyLoss(nil, in, cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "loss", res.Loss, c.float(t, "want"))
		})
	}
}

func TestKLEstimatorsMatchGoldenValues(t *testing.T) {
	for _, c := range goldenCases(t, "kl") {
		t.Run(c.name, func(t *testing.T) {
			want := c.floats(t, "want")
			for j, k := range []KLType{KLk3, KLk1, KLk2} {
				v, _ := k.KL(c.float(t, "logp"), c.float(t, "ref"))
				checkClose(t, string(k), v, want[j])
			}
		})
	}
}

func TestAggregationMatchesGoldenValues(t *testing.T) {
	loss := [][]float64{{1, 2, 3, 0}, {4, 0, 0, 0}}
	mask := [][]float64{{1, 1, 1, 0}, {1, 0, 0, 0}}
	for _, c := range goldenCases(t, "agg") {
		t.Run(c.name, func(t *testing.T) {
			mode := AggMode(c.name[len("agg "):])
			s := AggScales(nil, mask, mode, AggParams{})
			var got float64
			for i := range loss {
				for j := range loss[i] {
					got += mask[i][j] * s[i] * loss[i][j]
				}
			}
			checkClose(t, "agg", got, c.float(t, "want"))
		})
	}
}

func TestAggregationOverridesMakeMicroBatchesAddUp(t *testing.T) {
	in := randomLossInput(11, 6, 9, true)
	cfg := DefaultGRPOConfig().Loss
	cfg.Beta = 0.05
	for _, mode := range []AggMode{AggTokenMean, AggSeqMeanTokenSum, AggSeqMeanTokenMean, AggSeqMeanTokenSumNorm, AggDrGRPO} {
		t.Run(string(mode), func(t *testing.T) {
			cfg.Agg = mode
			cfg.MaxLen, cfg.ScaleFactor = 9, 9
			full, err := PolicyLoss(nil, in, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var tokens, seqs float64
			for _, r := range in.Mask {
				tokens += sum(r)
				if sum(r) > 0 {
					seqs++
				}
			}
			if mode == AggDrGRPO {
				seqs = float64(len(in.Mask))
			}
			var total float64
			for _, rows := range [][]int{{0, 1, 2}, {3, 4, 5}} {
				part := subInput(in, rows)
				part.Tokens, part.Seqs = tokens, seqs
				r, err := PolicyLoss(nil, part, cfg)
				if err != nil {
					t.Fatal(err)
				}
				total += r.Loss
			}
			checkClose(t, "sum of micro-batch losses", total, full.Loss)
		})
	}
}

// TestPolicyLossGradientMatchesFiniteDifferences checks dLogp against central
// differences of the loss for every aggregation, KL estimator and clip setting.
func TestPolicyLossGradientMatchesFiniteDifferences(t *testing.T) {
	for _, mode := range []AggMode{AggTokenMean, AggSeqMeanTokenSum, AggSeqMeanTokenMean, AggSeqMeanTokenSumNorm, AggDrGRPO} {
		for _, kl := range []KLType{"", KLk1, KLAbs, KLk2, KLk3} {
			for _, dual := range []float64{0, 3} {
				name := fmt.Sprintf("agg %s kl %q dual %v", mode, kl, dual)
				t.Run(name, func(t *testing.T) {
					cfg := LossConfig{ClipLow: new(0.2), ClipHigh: new(0.28), DualClip: dual, Agg: mode, KL: kl, MaxLen: 12}
					if kl != "" {
						cfg.Beta = 0.1
					}
					in := randomLossInput(uint64(len(name)), 5, 8, cfg.Beta > 0)
					checkPolicyGradient(t, in, cfg)
				})
			}
		}
	}
}

func checkPolicyGradient(t *testing.T, in *LossInput, cfg LossConfig) {
	t.Helper()
	res, err := PolicyLoss(nil, in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-6
	for i := range in.Logp {
		for j := range in.Logp[i] {
			if in.Mask[i][j] == 0 {
				if res.DLogp[i][j] != 0 {
					t.Fatalf("dLogp[%d][%d] = %v on a masked token", i, j, res.DLogp[i][j])
				}
				continue
			}
			x := in.Logp[i][j]
			in.Logp[i][j] = x + h
			up, _ := PolicyLoss(nil, in, cfg)
			in.Logp[i][j] = x - h
			down, _ := PolicyLoss(nil, in, cfg)
			in.Logp[i][j] = x
			fd := (up.Loss - down.Loss) / (2 * h)
			if !near(res.DLogp[i][j], fd, 1e-7, 1e-5) {
				t.Errorf("dLogp[%d][%d] = %.10g, finite difference %.10g", i, j, res.DLogp[i][j], fd)
			}
		}
	}
}

// randomLossInput builds a B×T batch with ragged masks, mixed-sign
// advantages and log-ratios spread over every clip region but kept 1e-3 away
// from each kink (clip bounds, dual clip, k3's clamps) so that central
// differences are valid.
func randomLossInput(seed uint64, b, t int, withRef bool) *LossInput {
	s := NewStream(Key(seed, 99))
	kinks := []float64{math.Log(0.8), math.Log(1.28), math.Log(3), 0}
	in := &LossInput{Adv: make([]float64, b)}
	for i := range b {
		in.Adv[i] = 2*s.Float64() - 1
		if i == b-1 {
			in.Adv[i] = -1.5 // guarantees dual-clip candidates
		}
		var lp, old, ref, mask, ent []float64
		n := 1 + s.Intn(t)
		for j := range t {
			o := -3 * s.Float64()
			var d float64
			for ok := false; !ok; {
				d = 3*s.Float64() - 1.5
				ok = true
				for _, k := range kinks {
					if math.Abs(d-k) < 1e-3 {
						ok = false
					}
				}
			}
			lp, old = append(lp, o+d), append(old, o)
			ref = append(ref, o+d+(2*s.Float64()-1))
			m := 0.0
			if j < n {
				m = 1
			}
			mask, ent = append(mask, m), append(ent, s.Float64())
		}
		in.Logp, in.OldLogp, in.Mask, in.Entropy = append(in.Logp, lp), append(in.OldLogp, old), append(in.Mask, mask), append(in.Entropy, ent)
		in.RefLogp = append(in.RefLogp, ref)
	}
	if !withRef {
		in.RefLogp = nil
	}
	return in
}

func subInput(in *LossInput, rows []int) *LossInput {
	out := &LossInput{}
	for _, r := range rows {
		out.Logp = append(out.Logp, in.Logp[r])
		out.OldLogp = append(out.OldLogp, in.OldLogp[r])
		out.Mask = append(out.Mask, in.Mask[r])
		out.Adv = append(out.Adv, in.Adv[r])
		if in.RefLogp != nil {
			out.RefLogp = append(out.RefLogp, in.RefLogp[r])
		}
	}
	return out
}

func TestPolicyLossMetrics(t *testing.T) {
	// Tokens: (A, ρ) = (+1, 1.5) high clip; (−1, 0.5) low clip; (−1, 4) dual;
	// (+1, 1.0) none. ε 0.2/0.28, c = 3.
	in := &LossInput{Mask: [][]float64{{1, 1}, {1, 1, 0}}, Adv: []float64{1, -1},
		Logp: [][]float64{{math.Log(1.5), math.Log(1)}, {math.Log(0.5), math.Log(4), 7}}, OldLogp: [][]float64{{0, 0}, {0, 0, 0}},
		Entropy: [][]float64{{1, 2}, {3, 4, 100}}}
	res, err := PolicyLoss(nil, in, DefaultGRPOConfig().Loss)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"clip low", m.ClipFracLow, 0.25}, {"clip high", m.ClipFracHigh, 0.25}, {"dual", m.ClipFracDual, 0.25},
		{"ratio mean", m.RatioMean, (1.5 + 1 + 0.5 + 4) / 4}, {"ratio max", m.RatioMax, 4},
		{"approx kl", m.ApproxKL, -(math.Log(1.5) + math.Log(0.5) + math.Log(4)) / 4},
		{"tokens", m.Tokens, 4}, {"entropy", m.Entropy, 2.5}, {"loss", res.Loss, (-1.28 - 1 + 0.8 + 3) / 4},
	} {
		checkClose(t, c.name, c.got, c.want)
	}
	cfg := DefaultGRPOConfig().Loss
	cfg.EntropyCoef = 0.01
	res, _ = PolicyLoss(nil, in, cfg)
	checkClose(t, "entropy loss", res.EntropyLoss, -0.025)
	checkClose(t, "total", res.Total(), res.Loss-0.025)
}

func TestPolicyLossReusesTheGradientStorage(t *testing.T) {
	in := randomLossInput(3, 64, 32, false)
	dst := shapeLike(nil, in.Mask)
	cfg := DefaultGRPOConfig().Loss
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := PolicyLoss(dst, in, cfg); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("PolicyLoss allocated %v times with a matching dst", allocs)
	}
}

func TestPolicyLossRejectsBadInput(t *testing.T) {
	good := func() *LossInput { return randomLossInput(5, 2, 3, true) }
	for _, tc := range []struct {
		name string
		edit func(*LossInput, *LossConfig)
	}{
		{"a ragged old_logp row", func(in *LossInput, _ *LossConfig) { in.OldLogp[1] = in.OldLogp[1][:1] }},
		{"too few advantages", func(in *LossInput, _ *LossConfig) { in.Adv = in.Adv[:1] }},
		{"missing reference with beta", func(in *LossInput, c *LossConfig) { in.RefLogp, c.Beta = nil, 0.1 }},
		{"dual clip of one", func(_ *LossInput, c *LossConfig) { c.DualClip = 1 }},
		{"unknown aggregation", func(_ *LossInput, c *LossConfig) { c.Agg = "mean" }},
		{"unknown kl", func(_ *LossInput, c *LossConfig) { c.KL = "k4" }},
		{"clip low of one", func(_ *LossInput, c *LossConfig) { c.ClipLow = new(1.0) }},
		{"NaN beta", func(_ *LossInput, c *LossConfig) { c.Beta = math.NaN() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, cfg := good(), LossConfig{}
			tc.edit(in, &cfg)
			if _, err := PolicyLoss(nil, in, cfg); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestPresetsSetTheDocumentedCombinations(t *testing.T) {
	for _, tc := range []struct {
		name     string
		std      StdMode
		hi, beta float64
		agg      AggMode
	}{
		{"", StdGroup, 0.28, 0, AggTokenMean},
		{PresetGRPO, StdGroup, 0.2, 0.001, AggSeqMeanTokenMean},
		{PresetDrGRPO, StdNone, 0.2, 0, AggDrGRPO},
		{PresetDAPO, StdGroup, 0.28, 0, AggTokenMean},
	} {
		t.Run("preset "+tc.name, func(t *testing.T) {
			c, err := Preset(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			l := c.Loss
			if c.Advantage.Std != tc.std || *l.ClipLow != 0.2 || *l.ClipHigh != tc.hi || l.Beta != tc.beta || l.Agg != tc.agg || l.DualClip != 3 {
				t.Errorf("got %+v", c)
			}
		})
	}
	if _, err := Preset("ppo"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown preset: err = %v", err)
	}
	if err := (GRPOConfig{}).Validate(); err != nil {
		t.Errorf("zero config invalid: %v", err)
	}
}

func TestStraightThroughKLKeepsTheValueAndUsesTheK2Gradient(t *testing.T) {
	for _, base := range []KLType{KLk1, KLAbs, KLk3} {
		v, _ := base.KL(-1, -1.7)
		vp, gp := (base + "+").KL(-1, -1.7)
		_, g2 := KLk2.KL(-1, -1.7)
		if v != vp || gp != g2 {
			t.Errorf("%s+: value %v gradient %v, want %v and %v", base, vp, gp, v, g2)
		}
	}
}

func TestPolicyLossClampsTheLogRatio(t *testing.T) {
	// ℓ − ℓ_old = 25 is clamped to 20: ρ = e^20 and no gradient flows; A < 0
	// with the dual clip off so the unclipped branch is active.
	in := &LossInput{Logp: [][]float64{{25}}, OldLogp: [][]float64{{0}}, Mask: [][]float64{{1}}, Adv: []float64{-1}}
	res, err := PolicyLoss(nil, in, LossConfig{})
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "loss", res.Loss, math.Exp(20))
	if res.DLogp[0][0] != 0 {
		t.Errorf("gradient through the clamp = %v, want 0", res.DLogp[0][0])
	}
}

// ε = 0 is a value (no room on that side of ρ = 1), nil is the default.
// Hand values: one token, loss −A·clip(ρ, 1−ε_low, 1+ε_high) when clipped.
func TestZeroClipBoundsAreValuesAndNilIsTheDefault(t *testing.T) {
	for _, tc := range []struct {
		name            string
		lo, hi          *float64
		adv, rho        float64
		want            float64
		clipLow, clipHi float64
	}{
		{"nil ε_high is 0.28", nil, nil, 1, 1.5, -1.28, 0, 1},
		{"ε_high 0 clips at 1", nil, new(0.0), 1, 1.5, -1, 0, 1},
		{"ε_high 0 leaves ρ < 1 unclipped", nil, new(0.0), 1, 0.5, -0.5, 0, 0},
		{"nil ε_low is 0.2", nil, nil, -1, 0.5, 0.8, 1, 0},
		{"ε_low 0 clips at 1", new(0.0), nil, -1, 0.5, 1, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &LossInput{Logp: [][]float64{{math.Log(tc.rho)}}, OldLogp: [][]float64{{0}}, Mask: [][]float64{{1}}, Adv: []float64{tc.adv}}
			res, err := PolicyLoss(nil, in, LossConfig{ClipLow: tc.lo, ClipHigh: tc.hi})
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "loss", res.Loss, tc.want)
			if res.Metrics.ClipFracLow != tc.clipLow || res.Metrics.ClipFracHigh != tc.clipHi {
				t.Errorf("clip fractions low %v high %v, want %v %v", res.Metrics.ClipFracLow, res.Metrics.ClipFracHigh, tc.clipLow, tc.clipHi)
			}
		})
	}
	in := &GDPOInput{ELBO: []float64{-40}, OldELBO: []float64{-42}, Len: []int{20}, Adv: []float64{1}}
	res, err := GDPOLoss(nil, in, GDPOConfig{ClipHigh: new(0.0)})
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "gdpo loss with ε_high 0", res.Loss, -1)
}
