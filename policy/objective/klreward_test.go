package objective

import (
	"errors"
	"math"
	"testing"
)

// Hand values (β = 0.1, k1 = ℓ^old − ℓ^ref summed over unmasked tokens):
// row 0: (−0.5+0.7) + (−1.0+0.4) + (−2.0+2.5) = 0.1 → penalty 0.01, R 1 → 0.99;
// row 1: (−0.25+1.25) + (−3.0+1.0) (third token masked) = −1 → penalty −0.1,
// R 0 → 0.1 (a behaviour policy below the reference earns reward);
// row 2: (−0.5+1) + (−1+1.25) = 0.75 → penalty 0.075, a NaN reward stays NaN.
func TestKLInRewardFoldsTheK1PenaltyIntoTheReward(t *testing.T) {
	old := [][]float64{{-0.5, -1.0, -2.0}, {-0.25, -3.0, 0}, {-0.5, -1}}
	ref := [][]float64{{-0.7, -0.4, -2.5}, {-1.25, -1.0, -9}, {-1, -1.25}}
	mask := [][]float64{{1, 1, 1}, {1, 1, 0}, {1, 1}}
	for _, tc := range []struct {
		name        string
		beta        float64
		wantReward  []float64
		wantPenalty []float64
	}{
		{"beta 0.1", 0.1, []float64{0.99, 0.1, math.NaN()}, []float64{0.01, -0.1, 0.075}},
		{"beta 0 leaves rewards alone", 0, []float64{1, 0, math.NaN()}, []float64{0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rewards := []float64{1, 0, math.NaN()}
			pen, err := KLInReward(nil, rewards, old, ref, mask, tc.beta)
			if err != nil {
				t.Fatal(err)
			}
			checkAllClose(t, "penalty", pen, tc.wantPenalty)
			checkAllClose(t, "reward", rewards[:2], tc.wantReward[:2])
			if !math.IsNaN(rewards[2]) {
				t.Errorf("NaN reward became %v", rewards[2])
			}
		})
	}
}

func TestKLInRewardRejectsBadInput(t *testing.T) {
	mask := [][]float64{{1, 1}}
	for _, tc := range []struct {
		name     string
		old, ref [][]float64
		beta     float64
	}{
		{"a negative coefficient", [][]float64{{0, 0}}, [][]float64{{0, 0}}, -0.1},
		{"a NaN coefficient", [][]float64{{0, 0}}, [][]float64{{0, 0}}, math.NaN()},
		{"a short reference row", [][]float64{{0, 0}}, [][]float64{{0}}, 0.1},
		{"missing behaviour rows", nil, [][]float64{{0, 0}}, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := KLInReward(nil, []float64{1}, tc.old, tc.ref, mask, tc.beta); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}
