//go:build openblas

package policy

// packedW is one weight matrix (k×n) for the decoder's repeated products.
// OpenBLAS packs its operands itself, so under the openblas tag it is the
// unpacked matrix and mul is gemm.
type packedW struct {
	w    []float32
	k, n int
}

// pack makes p refer to w (row-major k×n).
func (p *packedW) pack(w []float32, k, n int) {
	p.w, p.k, p.n = w, k, n
}

// mul writes c (m×n) = a (m×k) · W.
func (p *packedW) mul(m int, a, c []float32) {
	gemm(false, false, m, p.n, p.k, 1, a, p.k, p.w, p.n, 0, c, p.n)
}

// splitProducts: OpenBLAS may round a row differently with a different
// number of rows, so the decoder multiplies whole batches (see decoder).
const splitProducts = false

// mulWT writes y (n×m) = x (n×k) · wᵀ for a weight w in [out, in] layout
// (m×k): gemm under OpenBLAS.
func mulWT(y, x, w []float32, n, k, m int) {
	gemm(false, true, n, m, k, 1, x, k, w, k, 0, y, m)
}
