//go:build openblas

package policy

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BLASName names the BLAS implementation this binary uses.
const BLASName = "openblas"

// init routes every matrix product (our kernels through gonum blas32/64,
// gorgonia's Mul through its tensor engine) to OpenBLAS via cgo. Build with
// -tags openblas and CGO_LDFLAGS=-lopenblas.
func init() {
	impl := netlib.Implementation{}
	blas32.Use(impl)
	blas64.Use(impl)
	G.Use(impl)
	tensor.Use(impl)
}
