// Command sgemvgen writes the amd64 matrix-vector kernels of package sgemm
// (sgemv_amd64.s and its Go stubs) with avo. Like asmgen it is its own
// module so that rlpipe does not depend on avo; run it through go generate
// in policy/sgemm.
//
// Kernel gemvT16xV (V = 1…8 vectors of 16 lanes) computes, for the m ≤ 16V
// columns selected by the lane mask of the last vector,
//
//	y[j] = y0[j] + Σ_i x[i]·a[i·lda+j]   (i = 0…k-1, in order, one FMA each)
//
// with y0 = y (accumulate ≠ 0) or 0. y stays in registers for the whole
// k loop, so each step is one broadcast and V fused multiply-adds straight
// from memory; masked lanes are neither loaded (no fault past the end of a)
// nor stored.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// maxV is the widest kernel: 8 vectors = 128 columns, 8 of the 32 zmm
// registers, leaving the broadcast register free.
const maxV = 8

func main() {
	ConstraintExpr("amd64,!purego")
	for v := 1; v <= maxV; v++ {
		kernel(v)
	}
	Generate()
}

var zmm = []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7}

func kernel(nv int) {
	name := fmt.Sprintf("gemvT16x%d", nv)
	TEXT(name, NOSPLIT, "func(k int, x, a *float32, lda int, y *float32, mask uint16, accumulate int)")
	Doc(fmt.Sprintf("%s computes y = y0 + Aᵀx over %d vectors of y (the last masked), see package sgemvgen.", name, nv))
	kk := Load(Param("k"), reg.RCX)
	px := Load(Param("x"), reg.RSI)
	pa := Load(Param("a"), reg.RDI)
	lda := Load(Param("lda"), reg.R8)
	SHLQ(U8(2), lda)
	py := Load(Param("y"), reg.RDX)
	mask := Load(Param("mask"), reg.EAX)
	KMOVW(mask, reg.K1)
	accum := Load(Param("accumulate"), reg.RBX)
	last := nv - 1
	bc := reg.Z31

	TESTQ(accum, accum)
	JE(LabelRef(name + "_zero"))
	for v := 0; v < last; v++ {
		VMOVUPS(Mem{Base: py, Disp: 64 * v}, zmm[v])
	}
	VMOVUPS_Z(Mem{Base: py, Disp: 64 * last}, reg.K1, zmm[last])
	JMP(LabelRef(name + "_loop"))
	Label(name + "_zero")
	for v := 0; v < nv; v++ {
		VPXORD(zmm[v], zmm[v], zmm[v])
	}

	Label(name + "_loop")
	TESTQ(kk, kk)
	JE(LabelRef(name + "_store"))
	VBROADCASTSS(Mem{Base: px}, bc)
	for v := 0; v < last; v++ {
		VFMADD231PS(Mem{Base: pa, Disp: 64 * v}, bc, zmm[v])
	}
	// Merge-masked: lanes past m keep 0 and their memory is not touched.
	VFMADD231PS(Mem{Base: pa, Disp: 64 * last}, bc, reg.K1, zmm[last])
	ADDQ(U8(4), px)
	ADDQ(lda, pa)
	DECQ(kk)
	JMP(LabelRef(name + "_loop"))

	Label(name + "_store")
	for v := 0; v < last; v++ {
		VMOVUPS(zmm[v], Mem{Base: py, Disp: 64 * v})
	}
	VMOVUPS(zmm[last], reg.K1, Mem{Base: py, Disp: 64 * last})
	VZEROUPPER()
	RET()
}
