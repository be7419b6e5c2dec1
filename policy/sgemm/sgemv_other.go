//go:build !amd64 || purego

package sgemm

// gemvAVX512 is never set off amd64; it exists for the shared tests.
var gemvAVX512 = false

// gemvT computes GemvT for 0 < m ≤ gemvChunk, k > 0 (arguments checked).
func gemvT(m, k int, x, a []float32, lda int, y []float32, accumulate bool) {
	gemvTGo(m, k, x, a, lda, y, accumulate)
}
