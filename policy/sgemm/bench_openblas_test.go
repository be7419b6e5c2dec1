//go:build openblas

package sgemm

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// With -tags openblas (and CGO_LDFLAGS=-lopenblas) the benchmark also
// times OpenBLAS through gonum's netlib wrapper, in the same run.
func init() {
	benchImpls = append(benchImpls, struct {
		name string
		impl blas.Float32Level3
	}{"openblas", netlib.Implementation{}})
}
