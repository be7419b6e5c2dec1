package policy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpNegIsAccurate(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	check := func(x float64) {
		got, want := expNeg(x), math.Exp(x)
		if x < -708 {
			if got != 0 {
				t.Fatalf("expNeg(%v) = %v, want the documented 0", x, got)
			}
			return
		}
		if math.Abs(got-want) > 1e-10*want {
			t.Fatalf("expNeg(%v) = %v, want %v (rel %.3g)", x, got, want, math.Abs(got-want)/want)
		}
	}
	for _, x := range []float64{0, -0.0, -1e-300, -math.Ln2 / 128, -math.Ln2 / 64, -1, -87.3, -707.9, -708, -708.1, math.Inf(-1)} {
		check(x)
	}
	for range 200000 {
		check(-rng.Float64() * 720)
		check(-math.Abs(rng.NormFloat64()) * 5)
	}
}

func TestGeluFastMatchesActivate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, u := range []float32{0, -8, 8, -8.01, 7.99, 1e-30, -1e-30, float32(math.Inf(1))} {
		if got, want := geluFast(u), activate(actGELU, u); got != want && math.Abs(float64(got-want)) > 1.2e-7*math.Abs(float64(want))+1.4e-9*math.Abs(float64(u)) {
			t.Errorf("gelu(%v) = %v, want %v", u, got, want)
		}
	}
	if !math.IsNaN(float64(geluFast(float32(math.NaN())))) {
		t.Error("gelu(NaN) is not NaN")
	}
	for i := range 400000 {
		u := float32(rng.NormFloat64() * 4)
		if i%4 == 0 {
			u = float32(rng.Float64()*80 - 40)
		}
		got, want := geluFast(u), activate(actGELU, u)
		var row [1]float32
		if biasActRowsFast(row[:], []float32{u}, []float32{0}, 1, 1, actGELU); row[0] != got {
			t.Fatalf("biasActRowsFast(%v) = %v, geluFast %v", u, row[0], got)
		}
		// geluTab's bound (|x|·1.4e-9) plus one float32 step (2⁻²³ relative).
		if d := math.Abs(float64(got - want)); d > 1.2e-7*math.Abs(float64(want))+1.4e-9*math.Abs(float64(u)) {
			t.Fatalf("gelu(%v) = %v, want %v", u, got, want)
		}
	}
}

func TestSoftmaxScaledMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 7, 33, 128} {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64() * 10)
		}
		ref := make([]float32, n)
		for i, v := range s {
			ref[i] = float32(float64(v) * 0.25)
		}
		softmaxInPlace(ref)
		softmaxScaled(s, 0.25)
		for i := range s {
			if math.Abs(float64(s[i]-ref[i])) > 1e-7*float64(ref[i])+1e-12 {
				t.Fatalf("n=%d: p[%d] = %v, want %v", n, i, s[i], ref[i])
			}
		}
	}
}

func TestLayerNormRowsFastMatchesLayerNormRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, d := range []int{4, 32, 128, 6} {
		rows := 5
		x, g, b := make([]float32, rows*d), make([]float32, d), make([]float32, d)
		for i := range x {
			x[i] = float32(rng.NormFloat64()*3 + 0.5)
		}
		for i := range g {
			g[i], b[i] = float32(1+rng.NormFloat64()*0.1), float32(rng.NormFloat64()*0.1)
		}
		got, want := make([]float32, len(x)), make([]float32, len(x))
		layerNormRowsFast(got, x, g, b, rows, d)
		layerNormRows(want, x, g, b, rows, d)
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1.2e-7*math.Abs(float64(want[i]))+1e-7 {
				t.Fatalf("d=%d: y[%d] = %v, want %v", d, i, got[i], want[i])
			}
		}
	}
}
