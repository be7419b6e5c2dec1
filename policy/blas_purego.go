//go:build !openblas

package policy

import (
	"gonum.org/v1/gonum/blas/blas32"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rlpipe/rlpipe/policy/sgemm"
)

// BLASName names the BLAS implementation this binary uses: policy/sgemm's
// Go-assembly kernels unless built with -tags openblas.
const BLASName = "rlpipe-sgemm"

// init routes every float32 matrix product of the pure-Go build (our
// kernels through gonum blas32, gorgonia's Mul through its tensor engine)
// to policy/sgemm's SIMD kernel instead of gonum's scalar Sgemm, which is
// ~10× slower (issue 18). Every other BLAS routine stays gonum's.
func init() {
	impl := sgemm.Implementation{}
	blas32.Use(impl)
	G.Use(impl)
	tensor.Use(impl)
}
