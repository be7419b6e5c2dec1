package objective

import (
	"errors"
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
