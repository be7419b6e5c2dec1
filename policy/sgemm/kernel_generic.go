package sgemm

import "unsafe"

// generic is the portable kernel, used with the purego tag, on other
// architectures and on amd64 CPUs without AVX2+FMA. Its 4×4 tile keeps the
// sixteen accumulators in registers.
var generic = kernel{name: "go4x4", mr: 4, nr: 4, fn: kernGeneric, rows: kernGenericRows}

// kernGeneric is the microKernel contract (k-step slivers) in Go for a
// 4×4 tile.
func kernGeneric(k int, a *float32, lda int, b, c *float32, ldc int, beta float32) {
	as := unsafe.Slice(a, (k-1)*lda+4)
	kernGeneric4(k, func(p int) (a0, a1, a2, a3 float32) {
		ap := as[lda*p : lda*p+4 : lda*p+4]
		return ap[0], ap[1], ap[2], ap[3]
	}, b, c, ldc, beta)
}

// kernGenericRows is the microKernel contract (rows of A) in Go for a
// 4×4 tile.
func kernGenericRows(k int, a *float32, lda int, b, c *float32, ldc int, beta float32) {
	as := unsafe.Slice(a, 3*lda+k)
	r0, r1, r2, r3 := as[:k], as[lda:lda+k], as[2*lda:2*lda+k], as[3*lda:3*lda+k]
	kernGeneric4(k, func(p int) (a0, a1, a2, a3 float32) {
		return r0[p], r1[p], r2[p], r3[p]
	}, b, c, ldc, beta)
}

// kernGeneric4 accumulates the 4×4 tile with A's column p from colA.
func kernGeneric4(k int, colA func(p int) (a0, a1, a2, a3 float32), b, c *float32, ldc int, beta float32) {
	bs := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		bp := bs[4*p : 4*p+4 : 4*p+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		a0, a1, a2, a3 := colA(p)
		c00, c01, c02, c03 = c00+a0*b0, c01+a0*b1, c02+a0*b2, c03+a0*b3
		c10, c11, c12, c13 = c10+a1*b0, c11+a1*b1, c12+a1*b2, c13+a1*b3
		c20, c21, c22, c23 = c20+a2*b0, c21+a2*b1, c22+a2*b2, c23+a2*b3
		c30, c31, c32, c33 = c30+a3*b0, c31+a3*b1, c32+a3*b2, c33+a3*b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	acc := [4][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}}
	for r := range acc {
		row := cs[r*ldc : r*ldc+4 : r*ldc+4]
		if beta == 0 {
			copy(row, acc[r][:])
			continue
		}
		for j := range row {
			row[j] = acc[r][j] + beta*row[j]
		}
	}
}
