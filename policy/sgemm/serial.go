package sgemm

import "gonum.org/v1/gonum/blas"

// Serial is Implementation with an Sgemm that always runs on the calling
// goroutine. It is for callers that already keep every core busy with
// independent small products (one attention head per goroutine, say),
// where Implementation's own goroutine hand-off per call would cost more
// than the product. Its results are bit-identical to Implementation's.
type Serial struct {
	Implementation
}

// Sgemm is Implementation.Sgemm without the goroutine split.
func (Serial) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, false)
}
