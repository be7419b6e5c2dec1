package objective

import (
	"errors"
	"math"
	"testing"
)

func TestGroupAdvantagesMatchesGoldenValues(t *testing.T) {
	for _, c := range goldenCases(t, "adv") {
		t.Run(c.name, func(t *testing.T) {
			r := c.floats(t, "rewards")
			cfg := AdvantageConfig{Std: StdMode(c.fields["std"]), Eps: c.float(t, "eps"), Biased: c.float(t, "biased") == 1}
			var a Advantages
			if err := GroupAdvantages(&a, r, make([]int, len(r)), cfg); err != nil {
				t.Fatal(err)
			}
			checkAllClose(t, "adv", a.Adv, c.floats(t, "want"))
		})
	}
}

func TestGroupAdvantages(t *testing.T) {
	t.Run("groups need not be contiguous and keep their own statistics", func(t *testing.T) {
		r := []float64{1, 0.2, 0, 0.5, 0, 0.9, 1}
		g := []int{7, 3, 7, 3, 7, 3, 7}
		var a Advantages
		if err := GroupAdvantages(&a, r, g, AdvantageConfig{}); err != nil {
			t.Fatal(err)
		}
		checkAllClose(t, "adv", a.Adv, []float64{0.8660239038, -0.9491552931, -0.8660239038, -0.0949155293, -0.8660239038, 1.0440708224, 0.8660239038})
		checkClose(t, "mean of group 3", a.Mean[1], 1.6/3)
	})
	t.Run("a singleton group has mean 0 and std 1 in every mode", func(t *testing.T) {
		for _, m := range []StdMode{StdGroup, StdNone} {
			var a Advantages
			if err := GroupAdvantages(&a, []float64{2, 1, 0}, []int{0, 1, 1}, AdvantageConfig{Std: m}); err != nil {
				t.Fatal(err)
			}
			if a.Mean[0] != 0 || a.Std[0] != 1 {
				t.Errorf("%s: singleton mean/std = %v/%v, want 0/1", m, a.Mean[0], a.Std[0])
			}
		}
	})
	t.Run("batch mode keeps the group mean but divides by the batch std", func(t *testing.T) {
		r := []float64{1, 0, 3, 5}
		var a Advantages
		if err := GroupAdvantages(&a, r, []int{0, 0, 1, 1}, AdvantageConfig{Std: StdBatch, Eps: 1e-4}); err != nil {
			t.Fatal(err)
		}
		// batch mean 2.25; unbiased var = (1.5625+5.0625+0.5625+7.5625)/3
		s := math.Sqrt((1.5625 + 5.0625 + 0.5625 + 7.5625) / 3)
		checkAllClose(t, "adv", a.Adv, []float64{0.5 / (s + 1e-4), -0.5 / (s + 1e-4), -1 / (s + 1e-4), 1 / (s + 1e-4)})
	})
	t.Run("NaN rewards are left out of the statistics and get advantage 0", func(t *testing.T) {
		var a Advantages
		if err := GroupAdvantages(&a, []float64{1, math.NaN(), 0, 0, 1}, make([]int, 5), AdvantageConfig{}); err != nil {
			t.Fatal(err)
		}
		checkAllClose(t, "adv", a.Adv, []float64{0.8660239038, 0, -0.8660239038, -0.8660239038, 0.8660239038})
	})
	t.Run("destination slices are reused", func(t *testing.T) {
		a := Advantages{Adv: make([]float64, 0, 8), Mean: make([]float64, 0, 8), Std: make([]float64, 0, 8)}
		p := &a.Adv[:1][0]
		if err := GroupAdvantages(&a, []float64{1, 0}, []int{0, 0}, AdvantageConfig{}); err != nil {
			t.Fatal(err)
		}
		if &a.Adv[0] != p {
			t.Error("Adv was reallocated")
		}
	})
	t.Run("bad configurations and shapes are rejected", func(t *testing.T) {
		var a Advantages
		for _, tc := range []struct {
			cfg AdvantageConfig
			g   []int
		}{{AdvantageConfig{Std: "zscore"}, []int{0}}, {AdvantageConfig{Eps: -1}, []int{0}}, {AdvantageConfig{}, nil}} {
			if err := GroupAdvantages(&a, []float64{1}, tc.g, tc.cfg); !errors.Is(err, ErrInvalid) {
				t.Errorf("%+v: err = %v, want ErrInvalid", tc, err)
			}
		}
	})
}

func TestContiguousGroupsLabelsConsecutiveRows(t *testing.T) {
	got := ContiguousGroups(nil, 5, 2)
	want := []int{0, 0, 1, 1, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
