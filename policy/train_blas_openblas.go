//go:build openblas

package policy

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// serialSgemm is the float32 BLAS for products that run one per goroutine
// (see parFor); OpenBLAS decides its own threading.
func serialSgemm() blas.Float32Level3 { return blas32.Implementation() }
