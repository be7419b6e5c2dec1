//go:build !openblas

package policy

import (
	"gonum.org/v1/gonum/blas"

	"github.com/rlpipe/rlpipe/policy/sgemm"
)

// serialSgemm is the float32 BLAS for products that run one per goroutine
// (see parFor): policy/sgemm without its own goroutine split.
func serialSgemm() blas.Float32Level3 { return sgemm.Serial{} }
