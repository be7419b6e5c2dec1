package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// withScalar runs f with the vector kernels off.
func withScalar(f func()) {
	saved := inferAVX2
	inferAVX2 = false
	defer func() { inferAVX2 = saved }()
	f()
}

// inferSIMDInputs returns a row of n values: normal ones at a few scales,
// and every special the kernels must treat as the scalar code does (the
// GELU table's edges ±8, signed zeros, infinities, NaN, huge values).
func inferSIMDInputs(rng *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), -8, 8, -8.000001, 7.999999, 1e-30, -1e-30, 3e38, -3e38,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -7.96875, 0.03125}
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(4) {
		case 0:
			x[i] = special[rng.IntN(len(special))]
		case 1:
			x[i] = float32(rng.Float64()*40 - 20)
		default:
			x[i] = float32(rng.NormFloat64() * 3)
		}
	}
	return x
}

func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// TestInferSIMDBits pins that the vector kernels give the scalar code's
// bits exactly, on every row length up to 70 (tails included): generation
// must not depend on the CPU's vector units.
func TestInferSIMDBits(t *testing.T) {
	if !inferAVX2 {
		t.Skip("no AVX2 kernels on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for n := 1; n <= 70; n++ {
		for range 20 {
			x, b := inferSIMDInputs(rng, n), inferSIMDInputs(rng, n)
			got, want := make([]float32, n), make([]float32, n)
			biasActRowsFast(got, x, b, 1, n, actGELU)
			withScalar(func() { biasActRowsFast(want, x, b, 1, n, actGELU) })
			if !sameBits(got, want) {
				t.Fatalf("gelu n=%d: vector %v, scalar %v (x %v b %v)", n, got, want, x, b)
			}
			if n%4 == 0 {
				// Layer norm on finite rows (a NaN or Inf poisons a row
				// alike on both paths), one row and three.
				xs, g, bb := make([]float32, 3*n), make([]float32, n), make([]float32, n)
				for i := range xs {
					xs[i] = float32(rng.NormFloat64()*3 + 0.5)
				}
				for i := range g {
					g[i], bb[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
				}
				for _, rows := range []int{1, 3} {
					got, want := make([]float32, n*rows), make([]float32, n*rows)
					layerNormRowsFast(got, xs, g, bb, rows, n)
					withScalar(func() { layerNormRowsFast(want, xs, g, bb, rows, n) })
					if !sameBits(got, want) {
						t.Fatalf("layer norm n=%d rows=%d: vector %v, scalar %v", n, rows, got, want)
					}
				}
			}
			// Sampling exponentials: any logits, specials included.
			sp, sq := newSampler(n), newSampler(n)
			for _, invT := range []float64{1, 1 / 0.7} {
				mx, sum := sp.tempered(x, invT)
				var mx2, sum2 float64
				withScalar(func() { mx2, sum2 = sq.tempered(x, invT) })
				same := math.Float64bits(mx+math.Log(sum)) == math.Float64bits(mx2+math.Log(sum2)) ||
					math.IsNaN(mx+math.Log(sum)) && math.IsNaN(mx2+math.Log(sum2))
				for j := range sp.probs {
					a, b := sp.probs[j], sq.probs[j]
					same = same && (math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b))
				}
				if !same {
					t.Fatalf("tempered n=%d: vector %v %v %v, scalar %v %v %v (x %v)", n, mx, sum, sp.probs, mx2, sum2, sq.probs, x)
				}
			}
			// Scores: finite, some far below the maximum (e^x below −708
			// is 0), at two temperatures.
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(rng.NormFloat64() * 8)
				if rng.IntN(8) == 0 {
					s[i] = -1e4 * rng.Float32()
				}
			}
			for _, scale := range []float64{1 / math.Sqrt(32), 1.7} {
				got, want := slices.Clone(s), slices.Clone(s)
				softmaxScaled(got, scale)
				withScalar(func() { softmaxScaled(want, scale) })
				if !sameBits(got, want) {
					t.Fatalf("softmax n=%d scale %v: vector %v, scalar %v (s %v)", n, scale, got, want, s)
				}
			}
		}
	}
}

// TestInferSIMDMatchesReference checks the vector paths against float64
// references: GELU by math.Tanh, layer norm in float64, softmax by
// math.Exp.
func TestInferSIMDMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, n := range []int{4, 7, 33, 96, 515} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x, b := make([]float32, n), make([]float32, n)
			for i := range x {
				x[i], b[i] = float32(rng.NormFloat64()*4), float32(rng.NormFloat64())
			}
			y := make([]float32, n)
			biasActRowsFast(y, x, b, 1, n, actGELU)
			for i := range y {
				u := x[i] + b[i]
				want := activate(actGELU, u)
				if d := math.Abs(float64(y[i] - want)); d > 1.2e-7*math.Abs(float64(want))+1.4e-9*math.Abs(float64(u)) {
					t.Fatalf("gelu(%v) = %v, want %v", u, y[i], want)
				}
			}
			if n%4 == 0 {
				ln := make([]float32, n)
				layerNormRowsFast(ln, x, b, y, 1, n) // gains b, biases y
				var mu, v float64
				for _, u := range x {
					mu += float64(u) / float64(n)
				}
				for _, u := range x {
					v += (float64(u) - mu) * (float64(u) - mu) / float64(n)
				}
				for i, u := range x {
					w := (float64(u)-mu)/math.Sqrt(v+lnEps)*float64(b[i]) + float64(y[i])
					if math.Abs(float64(ln[i])-w) > 1e-6*(1+math.Abs(w)) {
						t.Fatalf("layer norm [%d] = %v, want %v", i, ln[i], w)
					}
				}
			}
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(rng.NormFloat64() * 6)
			}
			want := make([]float64, n)
			mx := math.Inf(-1)
			for _, v := range s {
				mx = math.Max(mx, float64(v)*0.5)
			}
			var sum float64
			for i, v := range s {
				want[i] = math.Exp(float64(v)*0.5 - mx)
				sum += want[i]
			}
			softmaxScaled(s, 0.5)
			for i := range s {
				if w := want[i] / sum; math.Abs(float64(s[i])-w) > 1e-7*w+1e-12 {
					t.Fatalf("softmax[%d] = %v, want %v", i, s[i], w)
				}
			}
		})
	}
}

// BenchmarkInferSIMD times GELU, the softmax and layer norm on the
// decoder's shapes (a d_ff 512 row, a 96-position score row, a d 128 row)
// with and without the vector kernels.
func BenchmarkInferSIMD(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, bias, y := make([]float32, 512), make([]float32, 512), make([]float32, 512)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 2)
	}
	s := make([]float32, 96)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	for _, vec := range []bool{true, false} {
		name := map[bool]string{true: "vector", false: "scalar"}[vec]
		saved := inferAVX2
		inferAVX2 = inferAVX2 && vec
		b.Run("gelu512/"+name, func(b *testing.B) {
			for b.Loop() {
				biasActRowsFast(y, x, bias, 1, 512, actGELU)
			}
		})
		b.Run("softmax96/"+name, func(b *testing.B) {
			for b.Loop() {
				softmaxScaled(s, 0.17)
			}
		})
		b.Run("layernorm128/"+name, func(b *testing.B) {
			for b.Loop() {
				layerNormRowsFast(y[:128], x[:128], bias[:128], bias[:128], 1, 128)
			}
		})
		inferAVX2 = saved
	}
}
