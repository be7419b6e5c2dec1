package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// packedCases are odd shapes: partial tiles in both directions, k across
// kc blocks, n across ncMax blocks, padded strides.
var packedCases = []gemmCase{
	{m: 1, n: 1, k: 1, alpha: 1},
	{m: 3, n: 5, k: 7, alpha: 1},
	{m: 13, n: 33, k: 5, pad: 3, alpha: 0.5, beta: 1},
	{m: 25, n: 65, k: 300, pad: 1, alpha: -1.5, beta: 0.25},
	{m: 7, n: 100, k: 513, alpha: 1, beta: 1},
	{m: 64, n: 264, k: 128, alpha: 1},
	{m: 5, n: 2100, k: 3, pad: 2, alpha: 1, beta: -1},
}

// checkPacked runs tc through PackB and MulPacked with the active kernel
// and checks it against the float64 reference and, bit for bit, against
// Sgemm on the unpacked B.
func checkPacked(t *testing.T, rng *rand.Rand, tc gemmCase) {
	t.Helper()
	m, n, k := tc.m, tc.n, tc.k
	lda, ldb, ldc := max(1, k)+tc.pad, max(1, n)+tc.pad, max(1, n)+tc.pad
	a := randSlice(rng, max(0, (m-1)*lda+k))
	b := randSlice(rng, max(0, (k-1)*ldb+n))
	c := randSlice(rng, max(0, (m-1)*ldc+n))
	want := refGemm(false, false, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	same := slices.Clone(c)
	Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, same, ldc)
	pb := PackB(nil, k, n, b, ldb)
	MulPacked(m, tc.alpha, a, lda, pb, tc.beta, c, ldc)
	tol := 1e-5 * float64(k+4) * (math.Abs(float64(tc.alpha)) + math.Abs(float64(tc.beta)) + 1)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			got := c[i*ldc+j]
			if w := want[i*n+j]; !(math.Abs(float64(got)-w) <= tol) {
				t.Fatalf("C[%d,%d] = %v, want %v (tol %g)", i, j, got, w, tol)
			}
			if math.Float32bits(got) != math.Float32bits(same[i*ldc+j]) {
				t.Fatalf("C[%d,%d] = %v, Sgemm gives %v", i, j, got, same[i*ldc+j])
			}
		}
	}
}

func TestMulPackedMatchesReferenceAndSgemm(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, tc := range packedCases {
			t.Run(fmt.Sprintf("%dx%dx%d pad=%d alpha=%v beta=%v", tc.m, tc.n, tc.k, tc.pad, tc.alpha, tc.beta), func(t *testing.T) {
				checkPacked(t, rng, tc)
			})
		}
	})
}

// TestMulPackedRowSplitIsBitIdentical: a row of C depends on its row of A
// only, so any split of the rows (not only at tile boundaries) gives the
// same bits as one call.
func TestMulPackedRowSplitIsBitIdentical(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		m, n, k := 37, 70, 260
		a, b := randSlice(rng, m*k), randSlice(rng, k*n)
		pb := PackB(nil, k, n, b, n)
		whole := make([]float32, m*n)
		MulPacked(m, 1, a, k, pb, 0, whole, n)
		for _, cut := range []int{1, 5, 12, 19, 36} {
			c := make([]float32, m*n)
			MulPacked(cut, 1, a, k, pb, 0, c, n)
			MulPacked(m-cut, 1, a[cut*k:], k, pb, 0, c[cut*n:], n)
			if !slices.Equal(c, whole) {
				t.Fatalf("split at row %d changes the product", cut)
			}
		}
	})
}

// TestPackBReusesMemory: repacking into a large enough PackedB allocates
// nothing and gives the new matrix.
func TestPackBReusesMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	b1, b2 := randSlice(rng, 40*50), randSlice(rng, 30*20)
	pb := PackB(nil, 40, 50, b1, 50)
	if allocs := testing.AllocsPerRun(5, func() { PackB(pb, 30, 20, b2, 20) }); allocs != 0 {
		t.Fatalf("repacking allocated %v times", allocs)
	}
	checkPacked(t, rng, gemmCase{m: 9, n: 20, k: 30, alpha: 1})
	a, c := randSlice(rng, 9*30), make([]float32, 9*20)
	MulPacked(9, 1, a, 30, pb, 0, c, 20)
	want := make([]float32, 9*20)
	Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 9, 20, 30, 1, a, 30, b2, 20, 0, want, 20)
	if !slices.Equal(c, want) {
		t.Fatal("product with the repacked matrix differs from Sgemm")
	}
}

func TestMulPackedAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	a, b, c := randSlice(rng, 64*128), randSlice(rng, 128*384), make([]float32, 64*384)
	pb := PackB(nil, 128, 384, b, 384)
	MulPacked(64, 1, a, 128, pb, 0, c, 384)
	if allocs := testing.AllocsPerRun(10, func() { MulPacked(64, 1, a, 128, pb, 0, c, 384) }); allocs != 0 {
		t.Fatalf("MulPacked allocated %v times per call", allocs)
	}
}

func TestPackedPanicsLikeGonum(t *testing.T) {
	pb := PackB(nil, 2, 2, make([]float32, 4), 2)
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"negative k panics", func() { PackB(nil, -1, 2, nil, 2) }, kLT0},
		{"short ldb panics", func() { PackB(nil, 2, 3, make([]float32, 6), 2) }, badLdB},
		{"short b panics", func() { PackB(nil, 2, 3, make([]float32, 5), 3) }, shortB},
		{"short lda panics", func() { MulPacked(2, 1, make([]float32, 4), 1, pb, 0, make([]float32, 4), 2) }, badLdA},
		{"short c panics", func() { MulPacked(2, 1, make([]float32, 4), 2, pb, 0, make([]float32, 3), 2) }, shortC},
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

// FuzzMulPacked checks random shapes, strides and scalars against the
// float64 reference and Sgemm with every kernel this machine supports.
func FuzzMulPacked(f *testing.F) {
	f.Add(uint8(3), uint8(5), uint16(7), uint8(0), int8(2), int8(0), uint64(1))
	f.Add(uint8(13), uint8(33), uint16(300), uint8(3), int8(-3), int8(1), uint64(2))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, pad uint8, alpha2, beta2 int8, seed uint64) {
		tc := gemmCase{m: int(m % 70), n: int(n % 70), k: int(k % 600), pad: int(pad % 4),
			alpha: float32(alpha2) / 2, beta: float32(beta2) / 2}
		saved := active
		defer func() { active = saved }()
		for _, kn := range kernels() {
			active = kn
			checkPacked(t, rand.New(rand.NewPCG(seed, 7)), tc)
		}
	})
}

// BenchmarkMulPacked compares MulPacked with Sgemm (serial, B packed per
// call) on the decoder's per-goroutine shapes: half the 128 streams
// against each weight matrix of the default policy.
func BenchmarkMulPacked(b *testing.B) {
	for _, s := range [][3]int{{64, 384, 128}, {64, 128, 128}, {64, 512, 128}, {64, 128, 512}, {64, 264, 128}} {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 1))
		a, bb, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
		pb := PackB(nil, k, n, bb, n)
		flops := 2 * float64(m*n*k)
		b.Run(fmt.Sprintf("%dx%dx%d/packed", m, n, k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MulPacked(m, 1, a, k, pb, 0, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("%dx%dx%d/serial", m, n, k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Serial{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestMulTransBIsSgemm: computing Cᵀ = B·Aᵀ gives Sgemm's A·Bᵀ bit for
// bit (and the reference within rounding), across k-blocks, tile edges
// and thread counts.
func TestMulTransBIsSgemm(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, s := range [][4]int{{1, 1, 1, 0}, {3, 70, 9, 1}, {16, 1000, 576, 0}, {13, 37, 300, 3}, {40, 65, 513, 2}} {
			m, n, k, pad := s[0], s[1], s[2], s[3]
			lda, ldb, ldc := k+pad, k+pad, n+pad
			a, b := randSlice(rng, (m-1)*lda+k), randSlice(rng, (n-1)*ldb+k)
			want := make([]float32, (m-1)*ldc+n)
			Implementation{}.Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, lda, b, ldb, 0, want, ldc)
			ref := refGemm(false, true, m, n, k, 1, a, lda, b, ldb, 0, nil, ldc)
			for _, procs := range []int{1, 2, 3} {
				old := runtime.GOMAXPROCS(procs)
				c := make([]float32, len(want))
				MulTransB(m, n, k, a, lda, b, ldb, c, ldc)
				runtime.GOMAXPROCS(old)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						got := c[i*ldc+j]
						if math.Float32bits(got) != math.Float32bits(want[i*ldc+j]) {
							t.Fatalf("%v procs %d: C[%d,%d] = %v, Sgemm %v", s, procs, i, j, got, want[i*ldc+j])
						}
						if w := ref[i*n+j]; math.Abs(float64(got)-w) > 1e-5*float64(k+4) {
							t.Fatalf("%v: C[%d,%d] = %v, reference %v", s, i, j, got, w)
						}
					}
				}
			}
		}
	})
}

// BenchmarkMulTransB compares MulTransB with Sgemm (NoTrans, Trans) on a
// SmolLM2-135M decoding step (16 rows): the vocabulary head and the MLP.
func BenchmarkMulTransB(b *testing.B) {
	for _, s := range [][3]int{{16, 49152, 576}, {16, 1536, 576}, {16, 576, 1536}} {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 1))
		a, w, c := randSlice(rng, m*k), randSlice(rng, n*k), make([]float32, m*n)
		flops := 2 * float64(m*n*k)
		b.Run(fmt.Sprintf("%dx%dx%d/transB", m, n, k), func(b *testing.B) {
			for b.Loop() {
				MulTransB(m, n, k, a, k, w, k, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("%dx%dx%d/sgemm", m, n, k), func(b *testing.B) {
			for b.Loop() {
				Implementation{}.Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, w, k, 0, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
