package sgemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gemvPaths runs f once per GemvT implementation this machine has.
func gemvPaths(t *testing.T, f func(t *testing.T)) {
	paths := []bool{false}
	if gemvAVX512 {
		paths = append(paths, true)
	}
	saved := gemvAVX512
	defer func() { gemvAVX512 = saved }()
	for _, asm := range paths {
		gemvAVX512 = asm
		name := "go"
		if asm {
			name = "avx512"
		}
		t.Run(name, f)
	}
}

// checkGemvT runs GemvT on random operands (A padded so that reading past
// column m or row k would show) and compares with a float64 reference.
func checkGemvT(t *testing.T, rng *rand.Rand, m, k, lda int, accumulate bool) {
	t.Helper()
	x := make([]float32, k)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	a := make([]float32, max(0, (k-1)*lda+m))
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, m+3)
	for i := range y {
		y[i] = float32(rng.NormFloat64())
	}
	want := make([]float64, len(y))
	for j := range want {
		want[j] = float64(y[j])
		if j < m && !accumulate {
			want[j] = 0
		}
		if j >= m {
			continue
		}
		for i := 0; i < k; i++ {
			want[j] += float64(x[i]) * float64(a[i*lda+j])
		}
	}
	GemvT(m, k, x, a, lda, y, accumulate)
	for j, w := range want {
		if j >= m && float64(y[j]) != w {
			t.Fatalf("m=%d k=%d lda=%d: y[%d] past m changed to %v", m, k, lda, j, y[j])
		}
		// Each term rounds once or twice in float32: bound by k ulps of
		// the largest partial sum, generously.
		tol := 1e-6 * float64(k+1) * (1 + math.Abs(w)) * 4
		if math.Abs(float64(y[j])-w) > tol {
			t.Fatalf("m=%d k=%d lda=%d acc=%v: y[%d] = %v, want %v", m, k, lda, accumulate, j, y[j], w)
		}
	}
}

func TestGemvTMatchesFloat64Reference(t *testing.T) {
	gemvPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, m := range []int{1, 2, 15, 16, 17, 31, 33, 64, 97, 111, 112, 113, 127, 128, 129, 200, 257} {
			for _, k := range []int{0, 1, 2, 3, 4, 5, 6, 7, 32, 33, 34, 35, 96} {
				for _, pad := range []int{0, 5} {
					checkGemvT(t, rng, m, k, m+pad, false)
					checkGemvT(t, rng, m, k, m+pad, true)
				}
			}
		}
	})
}

// TestGemvTSplitsExactly checks that columns computed in separate calls
// are bit-identical to the same columns of one wider call (GemvT's
// chunking and its callers rely on it).
func TestGemvTSplitsExactly(t *testing.T) {
	gemvPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		m, k, lda := 75, 41, 80
		x, a := make([]float32, k), make([]float32, k*lda)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		one, cols := make([]float32, m), make([]float32, m)
		GemvT(m, k, x, a, lda, one, false)
		GemvT(30, k, x, a, lda, cols, false)
		GemvT(m-30, k, x, a[30:], lda, cols[30:], false)
		GemvT(1, k, x, a[74:], lda, cols[74:], false)
		for j := range one {
			if one[j] != cols[j] {
				t.Fatalf("y[%d]: one call %v, split columns %v", j, one[j], cols[j])
			}
		}
	})
}

func TestGemvTPanicsOnBadArguments(t *testing.T) {
	x, a, y := make([]float32, 4), make([]float32, 16), make([]float32, 4)
	for name, f := range map[string]func(){
		"negative m":  func() { GemvT(-1, 4, x, a, 4, y, false) },
		"negative k":  func() { GemvT(4, -1, x, a, 4, y, false) },
		"lda below m": func() { GemvT(4, 4, x, a, 3, y, false) },
		"short x":     func() { GemvT(4, 5, x, a, 4, y, false) },
		"short y":     func() { GemvT(5, 3, x, a, 5, y, false) },
		"short a":     func() { GemvT(4, 4, x, a[:15], 4, y, false) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func FuzzGemvT(f *testing.F) {
	f.Add(uint8(17), uint8(5), uint8(3), true, uint64(1))
	f.Add(uint8(200), uint8(33), uint8(0), false, uint64(2))
	f.Fuzz(func(t *testing.T, m, k, pad uint8, accumulate bool, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 7))
		saved := gemvAVX512
		defer func() { gemvAVX512 = saved }()
		for _, asm := range []bool{false, saved} {
			gemvAVX512 = asm
			checkGemvT(t, rng, int(m), int(k), max(1, int(m)+int(pad)%9), accumulate)
		}
	})
}

func BenchmarkGemvT(b *testing.B) {
	for _, s := range []struct {
		name      string
		m, k, lda int
	}{{"scores n=64 dh=32", 64, 32, 128}, {"values n=64 dh=32", 32, 64, 128}} {
		b.Run(s.name, func(b *testing.B) {
			x, a, y := make([]float32, s.k), make([]float32, s.k*s.lda), make([]float32, s.m)
			for b.Loop() {
				GemvT(s.m, s.k, x, a, s.lda, y, false)
			}
			b.ReportMetric(2*float64(s.m*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
