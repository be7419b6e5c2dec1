//go:build amd64 && !purego

package policy

import (
	"math"

	"golang.org/x/sys/cpu"
)

// The kernels (geluAVX2, geluGradAVX2, geluKeepAVX2, geluGradKeptAVX2,
// expSubAVX2, maxLiveAVX2, expNormAVX2, sumColsAVX2) are in
// train_simd_amd64.s, declared in train_simd_amd64_stubs.go, both written
// by the avo program in internal/trainasmgen; their n is a positive
// multiple of 8 (16 for sumColsAVX2). TestTrainSIMDBits pins their output
// bits: regenerating must not change a result.
//
//go:generate go run -C internal/trainasmgen . -out ../../train_simd_amd64.s -stubs ../../train_simd_amd64_stubs.go -pkg policy

// haveAVX2 selects the vector kernels (x/sys/cpu also checks that the OS
// saves the YMM registers). It is fixed for the process, so every step of
// a run uses the same arithmetic.
var haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// geluRow writes y = GELU(x + b) for one row (equal lengths).
func geluRow(y, x, b []float32) {
	if !haveAVX2 {
		geluRowScalar(y, x, b)
		return
	}
	vec8(func(y, x, b *float32, n int) { geluAVX2(y, x, b, n) }, y, x, b)
}

// geluGradRow writes dx = dy ⊙ GELU'(x + b) for one row (equal lengths).
func geluGradRow(dx, x, b, dy []float32) {
	if !haveAVX2 {
		geluGradRowScalar(dx, x, b, dy)
		return
	}
	n := len(x) &^ 7
	if n > 0 {
		geluGradAVX2(&dx[0], &x[0], &b[0], &dy[0], n)
	}
	if n < len(x) {
		// The tail through padded copies: the same instructions as the
		// body, so a value does not depend on where the row ends.
		var t [4][8]float32
		copy(t[1][:], x[n:])
		copy(t[2][:], b[n:])
		copy(t[3][:], dy[n:])
		geluGradAVX2(&t[0][0], &t[1][0], &t[2][0], &t[3][0], 8)
		copy(dx[n:], t[0][:])
	}
}

// expSub sets p[i] = e^(p[i] − m).
func expSub(p []float32, m float32) {
	if !haveAVX2 {
		expSubScalar(p, m)
		return
	}
	n := len(p) &^ 7
	if n > 0 {
		expSubAVX2(&p[0], n, m)
	}
	if n < len(p) {
		var t [8]float32
		copy(t[:], p[n:])
		expSubAVX2(&t[0], 8, m)
		copy(p[n:], t[:])
	}
}

// vec8 runs an 8-lane kernel f(y, x, b, n) over equal-length rows, the
// tail through padded copies (see geluGradRow).
func vec8(f func(y, x, b *float32, n int), y, x, b []float32) {
	n := len(x) &^ 7
	if n > 0 {
		f(&y[0], &x[0], &b[0], n)
	}
	if n < len(x) {
		var t [3][8]float32
		copy(t[1][:], x[n:])
		copy(t[2][:], b[n:])
		f(&t[0][0], &t[1][0], &t[2][0], 8)
		copy(y[n:], t[0][:])
	}
}

// softmaxRowsVec is softmaxTrain's float32 body in vector instructions:
// it reports false (doing nothing) where they do not apply, when n is not
// a multiple of 8.
func softmaxRowsVec(s, mask []float32, n int, causal bool) bool {
	if !haveAVX2 || n%8 != 0 || n == 0 {
		return false
	}
	mask = mask[:n]
	for i := 0; i < n; i++ {
		row := s[i*n : (i+1)*n]
		hi := n
		if causal {
			hi = i + 1
		}
		m := maxLiveAVX2(&row[0], &mask[0], n, hi)
		if math.IsInf(float64(m), -1) {
			clear(row)
			continue
		}
		expNormAVX2(&row[0], &mask[0], n, hi, m)
	}
	return true
}

// sumColsVec sets acc[j] = Σ_r float64(src[r·ld + c0 + j]) for the
// len(acc) columns from c0, bit-identical to the scalar loop; it reports
// false (doing nothing) where the vector kernel does not apply.
func sumColsVec(acc []float64, src []float32, rows, ld, c0 int) bool {
	if !haveAVX2 || len(acc)%16 != 0 || len(acc) == 0 || rows == 0 {
		return false
	}
	_ = src[(rows-1)*ld+c0+len(acc)-1] // the kernel reads up to here
	sumColsAVX2(&acc[0], &src[c0], rows, ld, len(acc))
	return true
}

// geluKeepRow is geluRow that also keeps the sigmoid s for
// geluGradKeptRow; it reports false (doing nothing) without AVX2.
func geluKeepRow(y, s, x, b []float32) bool {
	if !haveAVX2 {
		return false
	}
	n := len(x) &^ 7
	if n > 0 {
		geluKeepAVX2(&y[0], &s[0], &x[0], &b[0], n)
	}
	if n < len(x) { // padded tail, as in geluGradRow
		var t [4][8]float32
		copy(t[2][:], x[n:])
		copy(t[3][:], b[n:])
		geluKeepAVX2(&t[0][0], &t[1][0], &t[2][0], &t[3][0], 8)
		copy(y[n:], t[0][:])
		copy(s[n:], t[1][:])
	}
	return true
}

// geluGradKeptRow is geluGradRow reading the sigmoid geluKeepRow kept.
func geluGradKeptRow(dx, x, b, s, dy []float32) {
	n := len(x) &^ 7
	if n > 0 {
		geluGradKeptAVX2(&dx[0], &x[0], &b[0], &s[0], &dy[0], n)
	}
	if n < len(x) {
		var t [5][8]float32
		copy(t[1][:], x[n:])
		copy(t[2][:], b[n:])
		copy(t[3][:], s[n:])
		copy(t[4][:], dy[n:])
		geluGradKeptAVX2(&t[0][0], &t[1][0], &t[2][0], &t[3][0], &t[4][0], 8)
		copy(dx[n:], t[0][:])
	}
}
