package objective

import (
	"errors"
	"math"
	"testing"
)

func TestGDPOSequenceRatioMatchesGoldenValues(t *testing.T) {
	for _, c := range goldenCases(t, "gdpo") {
		t.Run(c.name, func(t *testing.T) {
			in := &GDPOInput{ELBO: []float64{-40}, OldELBO: []float64{-42}, Len: []int{20}, Adv: []float64{c.float(t, "adv")}}
			res, err := GDPOLoss(nil, in, GDPOConfig{Ratio: RatioMode(c.fields["ratio"])})
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "loss", res.Loss, c.float(t, "want"))
		})
	}
}

func TestGDPOGradientMatchesFiniteDifferences(t *testing.T) {
	in := &GDPOInput{
		ELBO:    []float64{-40, -12.5, -30, -8, -55},
		OldELBO: []float64{-42, -12, -31, -9.5, -50},
		RefELBO: []float64{-41, -13, -29, -9, -52},
		Len:     []int{20, 10, 16, 8, 30},
		Adv:     []float64{1, -0.5, 0.25, -1, 2},
	}
	for _, cfg := range []GDPOConfig{
		{},
		{Ratio: RatioELBODiff},
		{Beta: 0.04},
		{Beta: 0.04, KL: KLk2, DualClip: 3, ClipHigh: new(0.28)},
		{Ratio: RatioELBODiff, Beta: 0.1, KL: KLk1},
	} {
		res, err := GDPOLoss(nil, in, cfg)
		if err != nil {
			t.Fatal(err)
		}
		const h = 1e-6
		for g := range in.ELBO {
			x := in.ELBO[g]
			in.ELBO[g] = x + h
			up, _ := GDPOLoss(nil, in, cfg)
			in.ELBO[g] = x - h
			down, _ := GDPOLoss(nil, in, cfg)
			in.ELBO[g] = x
			if fd := (up.Loss - down.Loss) / (2 * h); !near(res.DELBO[g], fd, 1e-8, 1e-5) {
				t.Errorf("%+v: dELBO[%d] = %v, finite difference %v", cfg, g, res.DELBO[g], fd)
			}
		}
	}
}

func TestGDPORejectsBadInput(t *testing.T) {
	in := &GDPOInput{ELBO: []float64{-1}, OldELBO: []float64{-1}, Len: []int{0}, Adv: []float64{1}}
	if _, err := GDPOLoss(nil, in, GDPOConfig{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero length: err = %v", err)
	}
	in.Len[0] = 3
	if _, err := GDPOLoss(nil, in, GDPOConfig{Beta: 0.1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("missing reference: err = %v", err)
	}
	if _, err := GDPOLoss(nil, in, GDPOConfig{Ratio: "ratio"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown ratio: err = %v", err)
	}
}

// diffu-GRPO's per-token loss (d1, ALGORITHMS §3.4) with the diffu_grpo
// preset's ε = 0.5, β = 0.04, k3. Hand values, computed in float64 with
// python3's math.exp/log independently of this package: ℓ̂^old = −1,
// ℓ̂ = −1 + ln ρ, ℓ̂^ref = −1.5, so δ = −0.5 − ln ρ and k3 = e^−0.5/ρ + ln ρ
// − 0.5. Row 0 (A = +1, ρ = 1.2, 2.0, 0.8 with the last token masked out):
// L = −1.2 (unclipped), −1.5 (clipped at 1.5); row 1 (A = −1, ρ = 0.4,
// 1.1): L = 0.5 (clipped at 0.5), 1.1. Token mean over 4 tokens: pg =
// −1.1/4 = −0.275; KL = mean k3 = 0.2327284724197079; loss = pg + β·KL =
// −0.2656908611032117. dLoss/dℓ̂ = (−A·ρ·[unclipped] − β(e^δ − 1))/4.
func TestGDPOTokenLossMatchesHandValues(t *testing.T) {
	rho := [][]float64{{1.2, 2.0, 0.8}, {0.4, 1.1}}
	in := &LossInput{Mask: [][]float64{{1, 1, 0}, {1, 1}}, Adv: []float64{1, -1}}
	for _, row := range rho {
		var l, o, r []float64
		for _, p := range row {
			l, o, r = append(l, -1+math.Log(p)), append(o, -1), append(r, -1.5)
		}
		in.Logp, in.OldLogp, in.RefLogp = append(in.Logp, l), append(in.OldLogp, o), append(in.RefLogp, r)
	}
	cfg := GDPOConfig{Ratio: RatioToken, ClipLow: new(0.5), ClipHigh: new(0.5), Beta: 0.04, KL: KLk3,
		ELBO: ELBOConfig{Estimator: EstOneStep}}
	res, err := GDPOTokenLoss(nil, in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "pg", res.Metrics.PGLoss, -0.275)
	checkClose(t, "kl", res.Metrics.KLLoss, 0.2327284724197079)
	checkClose(t, "loss", res.Loss, -0.2656908611032117)
	checkAllClose(t, "dlogp row 0", res.DLogp[0], []float64{-0.2950544221642719, 0.006967346701436833, 0})
	checkAllClose(t, "dlogp row 1", res.DLogp[1], []float64{-0.0051632664928158364, 0.27948608491170335})
}

func TestGDPOTokenRatioNeedsTheOneStepEstimatorAndItsOwnLoss(t *testing.T) {
	in := &LossInput{Logp: [][]float64{{-1}}, OldLogp: [][]float64{{-1}}, Mask: [][]float64{{1}}, Adv: []float64{1}}
	oneStep := ELBOConfig{Estimator: EstOneStep}
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"token ratio with sdmc", func() error { return GDPOConfig{Ratio: RatioToken}.Validate() }},
		{"GDPOTokenLoss with a sequence ratio", func() error {
			_, err := GDPOTokenLoss(nil, in, GDPOConfig{Ratio: RatioELBODiff, ELBO: oneStep})
			return err
		}},
		{"GDPOLoss with the token ratio", func() error {
			_, err := GDPOLoss(nil, &GDPOInput{ELBO: []float64{-1}, OldELBO: []float64{-1}, Len: []int{1}, Adv: []float64{1}},
				GDPOConfig{Ratio: RatioToken, ELBO: oneStep})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}
