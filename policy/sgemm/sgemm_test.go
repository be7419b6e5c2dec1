package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// refGemm is the float64 reference C = alpha·op(A)·op(B) + beta·C (C not
// read when beta is 0).
func refGemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if tA {
					ai = p*lda + i
				}
				if tB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			s *= float64(alpha)
			if beta != 0 {
				s += float64(beta) * float64(c[i*ldc+j])
			}
			out[i*n+j] = s
		}
	}
	return out
}

// randSlice returns n values in [-1, 1).
func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

type gemmCase struct {
	m, n, k     int
	pad         int // extra leading-dimension padding
	alpha, beta float32
}

// check runs one product with the active kernel and compares with the
// reference within atol + rtol·Σ|terms| (float32 rounding grows with k).
func check(t *testing.T, rng *rand.Rand, tA, tB bool, tc gemmCase, nanC bool) {
	t.Helper()
	m, n, k := tc.m, tc.n, tc.k
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	lda, ldb, ldc := max(1, ac)+tc.pad, max(1, bc)+tc.pad, max(1, n)+tc.pad
	a := randSlice(rng, max(0, (ar-1)*lda+ac))
	b := randSlice(rng, max(0, (br-1)*ldb+bc))
	c := randSlice(rng, max(0, (m-1)*ldc+n))
	if nanC {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	want := refGemm(tA, tB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	before := append([]float32(nil), c...)
	Implementation{}.Sgemm(trans(tA), trans(tB), m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	tol := 1e-5 * float64(k+4) * (math.Abs(float64(tc.alpha)) + math.Abs(float64(tc.beta)) + 1)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			got := float64(c[i*ldc+j])
			if w := want[i*n+j]; !(math.Abs(got-w) <= tol) {
				t.Fatalf("C[%d,%d] = %v, want %v (tol %g)", i, j, got, w, tol)
			}
		}
		// Padding between rows must be untouched.
		for j := n; j < ldc && i*ldc+j < len(c); j++ {
			if x, y := c[i*ldc+j], before[i*ldc+j]; x != y && !(x != x && y != y) {
				t.Fatalf("padding C[%d,%d] changed from %v to %v", i, j, y, x)
			}
		}
	}
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// withKernel runs f once per kernel this machine supports, as a subtest.
func withKernel(t *testing.T, f func(t *testing.T)) {
	saved := active
	defer func() { active = saved }()
	for _, kn := range kernels() {
		active = kn
		t.Run(kn.name, f)
	}
}

func TestSgemmMatchesReference(t *testing.T) {
	cases := []gemmCase{
		{m: 1, n: 1, k: 1, alpha: 1},
		{m: 3, n: 5, k: 7, alpha: 1, beta: 0},
		{m: 13, n: 33, k: 5, pad: 3, alpha: 0.5, beta: 1},
		{m: 12, n: 32, k: 1, alpha: 1, beta: -2},
		{m: 25, n: 65, k: 300, pad: 1, alpha: -1.5, beta: 0.25},
		{m: 7, n: 100, k: 257, alpha: 1, beta: 1},
		{m: 130, n: 97, k: 64, pad: 2, alpha: 2, beta: 0},
		{m: 64, n: 264, k: 128, alpha: 1, beta: 0}, // decode-like, parallel
		{m: 200, n: 31, k: 520, pad: 5, alpha: 1, beta: 0.5},
		{m: 5, n: 2100, k: 3, alpha: 1, beta: 1}, // wider than one B block
	}
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, tc := range cases {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					name := fmt.Sprintf("%dx%dx%d tA=%v tB=%v pad=%d alpha=%v beta=%v", tc.m, tc.n, tc.k, tA, tB, tc.pad, tc.alpha, tc.beta)
					t.Run(name, func(t *testing.T) { check(t, rng, tA, tB, tc, false) })
				}
			}
		}
	})
}

func TestSgemmBetaZeroIgnoresNaNInC(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, tc := range []gemmCase{{m: 13, n: 37, k: 9, alpha: 1}, {m: 24, n: 64, k: 300, alpha: 2}} {
			check(t, rng, false, false, tc, true)
			check(t, rng, true, true, tc, true)
		}
	})
}

func TestSgemmZeroSizesAndAlphaZero(t *testing.T) {
	c := []float32{1, 2, 3, float32(math.NaN())}
	impl := Implementation{}
	impl.Sgemm(blas.NoTrans, blas.NoTrans, 0, 2, 2, 1, nil, 2, []float32{1, 2, 3, 4}, 2, 0, nil, 2)
	impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 0, 1, make([]float32, 1), 1, nil, 2, 2, c[:], 2)
	if c[0] != 2 || c[1] != 4 || c[2] != 6 || !math.IsNaN(float64(c[3])) {
		t.Fatalf("k=0 must scale C by beta, got %v", c)
	}
	impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 0, []float32{1, 2, 3, 4}, 2, []float32{1, 2, 3, 4}, 2, 0, c[:], 2)
	for _, v := range c {
		if v != 0 {
			t.Fatalf("alpha=0, beta=0 must zero C (NaN included), got %v", c)
		}
	}
}

func TestSgemmPanicsLikeGonum(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"negative m panics", func() { Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }, mLT0},
		{"bad transpose panics", func() { Implementation{}.Sgemm('x', blas.NoTrans, 1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }, badTranspose},
		{"short lda panics", func() {
			Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, badLdA},
		{"short c panics", func() {
			Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		}, shortC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tc.want {
					t.Fatalf("panic %v, want %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}

// TestSgemmDeterministicAcrossThreads checks that the result is bitwise the
// same with 1 and many goroutines (the split is over tiles of C only).
func TestSgemmDeterministicAcrossThreads(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, s := range [][3]int{{131, 269, 300}, {300, 70, 129}, {128, 264, 128}} {
			m, n, k := s[0], s[1], s[2]
			a, b := randSlice(rng, m*k), randSlice(rng, k*n)
			c0 := randSlice(rng, m*n)
			var got [][]float32
			for _, procs := range []int{1, 2, 3, 7} {
				old := runtime.GOMAXPROCS(procs)
				c := append([]float32(nil), c0...)
				Implementation{}.Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1.5, a, k, b, k, 0.5, c, n)
				runtime.GOMAXPROCS(old)
				got = append(got, c)
			}
			for i := 1; i < len(got); i++ {
				for j := range got[0] {
					if math.Float32bits(got[i][j]) != math.Float32bits(got[0][j]) {
						t.Fatalf("%v: element %d differs between thread counts: %v vs %v", s, j, got[i][j], got[0][j])
					}
				}
			}
		}
	})
}
