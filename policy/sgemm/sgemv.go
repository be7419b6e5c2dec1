package sgemm

//go:generate go run -C internal/sgemvgen . -out ../../sgemv_amd64.s -stubs ../../sgemv_amd64_stubs.go -pkg sgemm

// gemvChunk is the widest column block one kernel call keeps in registers
// (7 AVX-512 vectors, in four chains each).
const gemvChunk = 112

// GemvT computes y = y0 + Aᵀx for the row-major k×m matrix A (row i is
// a[i·lda : i·lda+m]): y[j] = y0[j] + Σ_{i<k} x[i]·a[i·lda+j] for j < m,
// where y0 is y itself if accumulate is set and 0 otherwise.
//
// It is the axpy form of a matrix-vector product: y stays in registers
// while the rows of A stream past, which suits attention over a KV cache
// (scores = Kᵀq with keys stored transposed, output = Vᵀp with values
// stored by position) far better than one dot product per row.
//
// The sum runs as four interleaved chains, so that the multiply-adds of a
// narrow y (an attention head is 2 vectors) do not wait on each other:
// s_t sums the terms i ≡ t (mod 4) in ascending i, one fused multiply-add
// each (the Go fallback: a multiply then an add), s_0 starting from y0,
// and y[j] = (s_0 + s_1) + (s_2 + s_3). The grouping depends on i only, so
// y[j] does not depend on m or on the other columns: callers may split
// columns freely (splitting rows changes the rounding). It panics, with
// gonum's messages, on negative sizes, lda < m, or short slices.
func GemvT(m, k int, x, a []float32, lda int, y []float32, accumulate bool) {
	switch {
	case m < 0:
		panic(mLT0)
	case k < 0:
		panic(kLT0)
	case lda < max(1, m):
		panic(badLdA)
	case len(x) < k:
		panic("blas: insufficient length of x")
	case len(y) < m:
		panic("blas: insufficient length of y")
	case k > 0 && len(a) < (k-1)*lda+m:
		panic(shortA)
	}
	if m == 0 {
		return
	}
	if k == 0 {
		if !accumulate {
			clear(y[:m])
		}
		return
	}
	for j := 0; j < m; j += gemvChunk {
		gemvT(min(gemvChunk, m-j), k, x, a[j:], lda, y[j:], accumulate)
	}
}

// gemvTGo is the portable GemvT of at most gemvChunk columns, with the
// kernels' four chains.
func gemvTGo(m, k int, x, a []float32, lda int, y []float32, accumulate bool) {
	var s [4][gemvChunk]float32
	if accumulate {
		copy(s[0][:m], y[:m])
	}
	for i, xi := range x[:k] {
		row, si := a[i*lda:i*lda+m], s[i%4][:m]
		for j, v := range row {
			si[j] += xi * v
		}
	}
	for j := range y[:m] {
		y[j] = (s[0][j] + s[1][j]) + (s[2][j] + s[3][j])
	}
}
