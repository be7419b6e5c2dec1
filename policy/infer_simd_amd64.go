//go:build amd64 && !purego

package policy

import "golang.org/x/sys/cpu"

// The decoder's vector kernels (geluTabAVX2, maxScaledAVX2, expSumAVX2,
// scaleF32AVX2) are in infer_simd_amd64.s, declared in
// infer_simd_amd64_stubs.go, both written by the avo program in
// internal/inferasmgen. They repeat the scalar float64 arithmetic of
// infer_math.go operation for operation, so generation is bit-identical
// with and without them (TestInferSIMDBits).
//
//go:generate go run -C internal/inferasmgen . -out ../../infer_simd_amd64.s -stubs ../../infer_simd_amd64_stubs.go -pkg policy

// inferAVX2 selects the vector kernels (x/sys/cpu also checks that the OS
// saves the YMM registers); tests turn it off to compare.
var inferAVX2 = cpu.X86.HasAVX2

// geluRowVec writes the leading multiple of 4 of y = geluFast(x + b) (y
// may be x) and returns how many it wrote.
func geluRowVec(y, x, b []float32) int {
	n := len(x) &^ 3
	if !inferAVX2 || n == 0 {
		return 0
	}
	_, _ = y[n-1], b[n-1]
	geluTabAVX2(&y[0], &x[0], &b[0], &geluTab[0], n)
	return n
}

// maxScaledVec returns the largest float64(s[i])·scale over the leading
// multiple of 4 of s (NaN ignored) and how many it read.
func maxScaledVec(s []float32, scale float64) (float64, int) {
	n := len(s) &^ 3
	if !inferAVX2 || n == 0 {
		return 0, 0
	}
	return maxScaledAVX2(&s[0], n, scale), n
}

// expSumVec sets s[i] = float32(expNeg(float64(s[i])·scale − mx)) over the
// leading multiple of 4 of s and returns the float64 sum of the
// exponentials in ascending i and how many it did.
func expSumVec(s []float32, scale, mx float64) (float64, int) {
	n := len(s) &^ 3
	if !inferAVX2 || n == 0 {
		return 0, 0
	}
	return expSumAVX2(&s[0], n, scale, mx, &exp2Frac[0]), n
}

// scaleVec sets s[i] = float32(float64(s[i])·inv) over the leading
// multiple of 4 of s and returns how many it did.
func scaleVec(s []float32, inv float64) int {
	n := len(s) &^ 3
	if !inferAVX2 || n == 0 {
		return 0
	}
	scaleF32AVX2(&s[0], n, inv)
	return n
}

// layerNormRowVec is layerNormRowsFast on one row whose length is a
// multiple of 4 (equal lengths), reporting false (doing nothing) when the
// kernel cannot run.
func layerNormRowVec(y, x, g, b []float32) bool {
	n := len(x)
	if !inferAVX2 || n == 0 || n%4 != 0 {
		return false
	}
	_, _, _ = y[n-1], g[n-1], b[n-1]
	layerNormRowAVX2(&y[0], &x[0], &g[0], &b[0], n)
	return true
}

// expProbsVec sets probs[i] = expNeg(float64(s[i])·scale − mx) over the
// leading multiple of 4 of s and returns their float64 sum in ascending i
// and how many it did.
func expProbsVec(s []float32, probs []float64, scale, mx float64) (float64, int) {
	n := len(s) &^ 3
	if !inferAVX2 || n == 0 {
		return 0, 0
	}
	_ = probs[n-1]
	return expProbsAVX2(&s[0], &probs[0], n, scale, mx, &exp2Frac[0]), n
}
