package objective

import (
	"errors"
	"math"
	"testing"
)

func TestOptimalAlphaMatchesGoldenValues(t *testing.T) {
	for _, c := range goldenCases(t, "alpha") {
		t.Run(c.name, func(t *testing.T) {
			bt, be := c.floats(t, "bt"), c.floats(t, "be")
			if len(bt) == 1 {
				bt = append(bt, 0)
			}
			if len(be) == 1 {
				be = append(be, 0)
			}
			s := AlphaStats{VarTrace: c.float(t, "vt"), VarEmpty: c.float(t, "ve"), Cov: c.float(t, "c"),
				BiasTrace2: bt[0]*bt[0] + bt[1]*bt[1], BiasEmpty2: be[0]*be[0] + be[1]*be[1], BiasDot: bt[0]*be[0] + bt[1]*be[1]}
			a := OptimalAlpha(s)
			got := []float64{a, s.MSE(a), s.MSE(0.5), s.MSE(1), s.MSE(0)}
			checkAllClose(t, "alpha*, mse(alpha*), mse(.5), mse(1), mse(0)", got, c.floats(t, "want"))
		})
	}
}

func TestOptimalAlphaClipsAndHandlesDegenerateStatistics(t *testing.T) {
	if a := OptimalAlpha(AlphaStats{VarTrace: 1, VarEmpty: 4, Cov: 1.5}); a != 1 {
		t.Errorf("alpha = %v, want clipped to 1", a)
	}
	if a := OptimalAlpha(AlphaStats{}); a != 0.5 {
		t.Errorf("alpha with zero statistics = %v, want 0.5", a)
	}
}

func TestMixingEndPointsAreBitExact(t *testing.T) {
	tr, em := -0.0, math.NaN()
	if got := MixLoss(1, tr, em); math.Float64bits(got) != math.Float64bits(tr) {
		t.Errorf("MixLoss(1) = %v, want trace bits", got)
	}
	if got := MixLoss(0, em, 1.25); got != 1.25 {
		t.Errorf("MixLoss(0) = %v, want 1.25", got)
	}
	checkClose(t, "MixLoss(0.3)", MixLoss(0.3, 2, 4), 3.4)

	d := [][]float64{{-0.1, 0.3}, {1e-300}}
	orig := [][]float64{{-0.1, 0.3}, {1e-300}}
	ScaleGrad(d, 1)
	for i := range d {
		for j := range d[i] {
			if math.Float64bits(d[i][j]) != math.Float64bits(orig[i][j]) {
				t.Fatalf("ScaleGrad(1) changed %v", d)
			}
		}
	}
	ScaleGrad(d, 0)
	if d[0][0] != 0 || math.Signbit(d[0][0]) {
		t.Errorf("ScaleGrad(0) left %v, want +0", d[0][0])
	}
	gt, ge := []float64{1, -2, math.Inf(1)}, []float64{3, math.NaN(), 5}
	if g := MixGrad(nil, gt, ge, 1); g[0] != 1 || g[1] != -2 || !math.IsInf(g[2], 1) {
		t.Errorf("MixGrad(1) = %v", g)
	}
	if g := MixGrad(nil, gt, ge, 0); g[0] != 3 || !math.IsNaN(g[1]) || g[2] != 5 {
		t.Errorf("MixGrad(0) = %v", g)
	}
}

func TestAlphaEstimatorRecoversVarianceRatio(t *testing.T) {
	// Equal means, so no bias; per-micro-batch deviations give σ_t² = 1/3,
	// σ_e² = 1/12, c = 0 for the step mean, hence α* = 0.2.
	gt := [][]float64{{1 + 2}, {-1 + 2}, {1 + 2}, {-1 + 2}}
	ge := [][]float64{{0.5 + 2}, {-0.5 + 2}, {-0.5 + 2}, {0.5 + 2}}
	e := NewAlphaEstimator(BVPOConfig{Alpha: 0.5, Auto: true, Smoothing: 0.5})
	if e.Alpha() != 0.5 {
		t.Fatalf("alpha before update = %v", e.Alpha())
	}
	s, err := e.Update(gt, ge)
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "var trace", s.VarTrace, 1.0/3)
	checkClose(t, "var empty", s.VarEmpty, 1.0/12)
	checkClose(t, "cov", s.Cov, 0)
	checkClose(t, "bias", s.BiasEmpty2, 0)
	checkClose(t, "alpha", e.Alpha(), 0.2)

	// A noiseless, biased empty-trace gradient: α* = 1, smoothed halfway.
	flat := func(v float64) [][]float64 { return [][]float64{{v}, {v}, {v}, {v}} }
	st := e.State()
	e2 := NewAlphaEstimator(BVPOConfig{Auto: true, Smoothing: 0.5})
	if err := e2.SetState(st); err != nil {
		t.Fatal(err)
	}
	for _, est := range []*AlphaEstimator{e, e2} {
		if _, err := est.Update(flat(2), flat(3)); err != nil {
			t.Fatal(err)
		}
		checkClose(t, "smoothed alpha", est.Alpha(), 0.5*0.2+0.5*1)
	}
}

func TestAlphaEstimatorValidatesInput(t *testing.T) {
	e := NewAlphaEstimator(BVPOConfig{Auto: true})
	three := [][]float64{{1}, {2}, {3}}
	if _, err := e.Update(three, three); !errors.Is(err, ErrInvalid) {
		t.Errorf("K=3: err = %v", err)
	}
	four := [][]float64{{1}, {2}, {3}, {4, 5}}
	if _, err := e.Update(four, four); !errors.Is(err, ErrInvalid) {
		t.Errorf("ragged: err = %v", err)
	}
	fixed := NewAlphaEstimator(DefaultBVPOConfig())
	if _, err := fixed.Update(nil, nil); err != nil || fixed.Alpha() != 0.5 {
		t.Errorf("fixed alpha: %v %v", fixed.Alpha(), err)
	}
	if err := (BVPOConfig{Alpha: 1.5}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("alpha 1.5: err = %v", err)
	}
}
