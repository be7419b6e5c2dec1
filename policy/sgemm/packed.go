package sgemm

import "sync"

// PackedB is a k×n B operand (row-major, not transposed) packed once into
// the panels the micro-kernel reads, for products that reuse one weight
// matrix many times: Sgemm re-packs B on every call, which for the thin
// products of decoding (a few dozen rows of A against a weight matrix) is
// a tenth of the work. It records the kernel it was packed for, so a
// later change of kernel (tests swap them) cannot misread it.
type PackedB struct {
	k, n int
	kn   *kernel
	buf  []float32 // per nc-block of columns, per kc-block of k: packB's slivers
}

// K returns the number of rows of the packed matrix.
func (pb *PackedB) K() int { return pb.k }

// N returns the number of columns of the packed matrix.
func (pb *PackedB) N() int { return pb.n }

// PackB packs the row-major k×n matrix b (row i at b[i·ldb:]) for MulPacked
// and returns it, reusing dst's memory when dst is not nil and large
// enough. It panics, with gonum's messages, on negative sizes, ldb < n or
// a short b. Cost: one copy of b.
func PackB(dst *PackedB, k, n int, b []float32, ldb int) *PackedB {
	switch {
	case k < 0:
		panic(kLT0)
	case n < 0:
		panic(nLT0)
	case ldb < max(1, n):
		panic(badLdB)
	case k > 0 && n > 0 && len(b) < (k-1)*ldb+n:
		panic(shortB)
	}
	if dst == nil {
		dst = new(PackedB)
	}
	kn := active
	size := packedSize(kn, k, n)
	if cap(dst.buf) < size {
		dst.buf = make([]float32, size)
	}
	dst.k, dst.n, dst.kn, dst.buf = k, n, kn, dst.buf[:size]
	p := problem{k: k, n: n, b: b, ldb: ldb}
	nc := ncMax / kn.nr * kn.nr
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			packB(dst.buf[packedOffset(kn, k, jc, pc, nb):], &p, pc, kb, jc, nb, kn.nr)
		}
	}
	return dst
}

// packedSize is the length of a k×n PackedB for kernel kn: every column
// block padded to whole slivers.
func packedSize(kn *kernel, k, n int) int {
	return ceilDiv(n, kn.nr) * kn.nr * k
}

// packedOffset is where the panel of rows pc… of the column block
// starting at jc (nb columns wide) begins: earlier blocks are full (nc
// columns, a multiple of nr) and hold k rows each.
func packedOffset(kn *kernel, k, jc, pc, nb int) int {
	return jc*k + ceilDiv(nb, kn.nr)*kn.nr*pc
}

// MulPacked computes C = alpha·A·B + beta·C for row-major m×k A (row i at
// a[i·lda:]) and the k×n B packed in pb, on the calling goroutine. Its
// result is bit-identical to Implementation.Sgemm(NoTrans, NoTrans, …) on
// the unpacked B with the kernel pb was packed for, and a row of C does
// not depend on the other rows, so callers may split A's rows over
// goroutines freely. When beta is 0, C is not read. It panics, with
// gonum's messages, on negative m, lda < k, ldc < n or short slices.
// In steady state it allocates nothing (its A scratch is pooled).
func MulPacked(m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	k, n := pb.k, pb.n
	if !checkArgs(false, false, m, n, k, a, lda, nil, n, c, ldc, true) {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	p := problem{m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, beta: beta, c: c, ldc: ldc, packed: pb}
	kn := pb.kn
	s := kn.getScratch(&p)
	kn.block(&p, 0, m, 0, n, s)
	scratchPool.Put(s)
}

// MulTransB computes C = A·Bᵀ for row-major m×k A (row i at a[i·lda:]),
// n×k B (row j at b[j·ldb:], a weight matrix in [out, in] layout) and m×n
// C, C not read. It is bit-identical to Implementation.Sgemm(NoTrans,
// Trans, m, n, k, 1, a, lda, b, ldb, 0, c, ldc), computed the other way
// round, Cᵀ = B·Aᵀ: the micro-kernel reads B's rows in place and packs
// only the m rows of A, where Sgemm would pack all of B on every call.
// Each element is the same ascending sum of the same fused products (a·b
// and b·a round alike) in the same k-blocks, so the bits do not change.
// For the few rows of a decoding step against a large weight matrix (a
// vocabulary head, say) that copy was a third of the work. It splits B's
// rows over GOMAXPROCS goroutines like Sgemm, and panics with gonum's
// messages on bad sizes, strides or short slices.
func MulTransB(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if !checkArgs(false, true, m, n, k, a, lda, b, ldb, c, ldc, false) {
		return
	}
	if k == 0 {
		scaleC(m, n, 0, c, ldc)
		return
	}
	tp, _ := transPool.Get().(*[]float32)
	if tp == nil {
		tp = new([]float32)
	}
	if cap(*tp) < n*m {
		*tp = make([]float32, n*m)
	}
	t := (*tp)[:n*m]
	p := problem{bT: true, m: n, n: m, k: k, alpha: 1, a: b, lda: ldb, b: a, ldb: lda, c: t, ldc: m}
	active.gemm(&p)
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			row[j] = t[j*m+i]
		}
	}
	transPool.Put(tp)
}

// transPool recycles MulTransB's Cᵀ buffers.
var transPool sync.Pool
