package policy

import (
	"gonum.org/v1/gonum/blas"

	"github.com/rlpipe/rlpipe/policy/sgemm"
)

// packedW is one weight matrix (k×n) ready for the decoder's repeated
// products: packed once per Generate chunk into sgemm's panels, where
// Sgemm would re-pack it on every call (a tenth of decoding).
//
// The decoder multiplies through policy/sgemm in every build, the
// openblas one included: its products have few rows, where sgemm's
// kernels beat OpenBLAS's (52k against 22k generated tokens/s on the
// default policy, measured together), and it rounds a row alike however
// many rows a call has, so products may be split over the pool's workers
// without changing the tokens.
type packedW struct {
	pb sgemm.PackedB
}

// pack makes p hold w (row-major k×n), reusing p's memory.
func (p *packedW) pack(w []float32, k, n int) {
	sgemm.PackB(&p.pb, k, n, w, n)
}

// mul writes c (m×n) = a (m×k) · W on the calling goroutine.
func (p *packedW) mul(m int, a, c []float32) {
	sgemm.MulPacked(m, 1, a, p.pb.K(), &p.pb, 0, c, p.pb.N())
}

// mulWT writes y (n×m) = x (n×k) · wᵀ for a weight w in [out, in] layout
// (m×k), bit-identical to sgemm's Sgemm(NoTrans, Trans, …). For the few
// rows of a decoding step it reads w in place instead of packing it per
// call (see sgemm.MulTransB); many rows go through Sgemm, whose packing
// they repay.
func mulWT(y, x, w []float32, n, k, m int) {
	if n > 64 {
		sgemm.Implementation{}.Sgemm(blas.NoTrans, blas.Trans, n, m, k, 1, x, k, w, k, 0, y, m)
		return
	}
	sgemm.MulTransB(n, m, k, x, k, w, k, y, m)
}
