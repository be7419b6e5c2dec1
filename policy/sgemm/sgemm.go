package sgemm

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Implementation is a gonum BLAS whose Sgemm is this package's packed,
// SIMD, multi-goroutine kernel; every other routine is gonum's native one
// (embedded). The zero value is ready to use and safe for concurrent use.
type Implementation struct {
	gonum.Implementation
}

// Panic messages, the same strings gonum's native BLAS uses so callers see
// no difference between implementations.
const (
	badTranspose = "blas: illegal transpose"
	mLT0         = "blas: m < 0"
	nLT0         = "blas: n < 0"
	kLT0         = "blas: k < 0"
	badLdA       = "blas: bad leading dimension of A"
	badLdB       = "blas: bad leading dimension of B"
	badLdC       = "blas: bad leading dimension of C"
	shortA       = "blas: insufficient length of a"
	shortB       = "blas: insufficient length of b"
	shortC       = "blas: insufficient length of c"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major m×k op(A),
// k×n op(B) and m×n C, where op(X) is X or Xᵀ per tA and tB (ConjTrans is
// Trans for real matrices). When beta is 0, C is not read, so NaN or Inf
// in C do not propagate, as BLAS specifies. It panics, with gonum's
// messages, on bad transposes, negative sizes, leading dimensions below the
// row length, or slices too short for the given shapes.
//
// Cost: 2·m·n·k flops, spread over GOMAXPROCS goroutines for large
// products; the packing scratch comes from a sync.Pool.
func (Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true)
}

// checkArgs panics, with gonum's messages, on negative sizes, leading
// dimensions below the row length or slices too short for the shapes, and
// reports whether there is anything to compute (m and n non-zero). With
// packedB, B was checked when it was packed.
func checkArgs(aT, bT bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, packedB bool) bool {
	switch {
	case m < 0:
		panic(mLT0)
	case n < 0:
		panic(nLT0)
	case k < 0:
		panic(kLT0)
	case aT && lda < max(1, m), !aT && lda < max(1, k):
		panic(badLdA)
	case packedB:
	case bT && ldb < max(1, k), !bT && ldb < max(1, n):
		panic(badLdB)
	}
	switch {
	case ldc < max(1, n):
		panic(badLdC)
	case m == 0 || n == 0:
		return false
	case aT && len(a) < (k-1)*lda+m, !aT && len(a) < (m-1)*lda+k:
		panic(shortA)
	case packedB:
	case bT && len(b) < (n-1)*ldb+k, !bT && len(b) < (k-1)*ldb+n:
		panic(shortB)
	}
	if len(c) < (m-1)*ldc+n {
		panic(shortC)
	}
	return true
}

// sgemm validates one product and runs it, across goroutines only when
// parallel is set (see Serial).
func sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, parallel bool) {
	aT, bT := isTrans(tA), isTrans(tB)
	if !checkArgs(aT, bT, m, n, k, a, lda, b, ldb, c, ldc, false) {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	p := problem{aT: aT, bT: bT, m: m, n: n, k: k, alpha: alpha,
		a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	if !parallel {
		active.serial(&p)
		return
	}
	active.gemm(&p)
}

// isTrans reports whether t transposes; it panics on values that are not
// a blas.Transpose.
func isTrans(t blas.Transpose) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic(badTranspose)
}

// scaleC sets C = beta·C, writing zeros (not reading C) when beta is 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// KernelName names the micro-kernel Sgemm uses on this machine and build
// (for example "avx512-12x32", "avx2-6x16" or "go4x4"), for benchmark
// reports.
func KernelName() string { return active.name }
