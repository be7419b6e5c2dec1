// Command sgemvgen writes the amd64 matrix-vector kernels of package sgemm
// (sgemv_amd64.s and its Go stubs) with avo. Like asmgen it is its own
// module so that rlpipe does not depend on avo; run it through go generate
// in policy/sgemm.
//
// Kernel gemvT16xV (V = 1…7 vectors of 16 lanes) computes, for the m ≤ 16V
// columns selected by the lane mask of the last vector,
//
//	s_t[j] = Σ_{i ≡ t mod 4} x[i]·a[i·lda+j]   (ascending i, one FMA each)
//	y[j]   = (s_0[j] + s_1[j]) + (s_2[j] + s_3[j])
//
// with s_0 starting from y0 = y (accumulate ≠ 0) or 0. y stays in
// registers for the whole k loop; the four interleaved chains keep the
// FMA units busy when V is small (attention heads are 2 vectors wide, and
// one chain would wait on the FMA latency every step). Masked lanes are
// neither loaded (no fault past the end of a) nor stored. The grouping of
// terms depends on i only, not on V or m.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// maxV is the widest kernel: 4 chains × 7 vectors = 28 zmm accumulators,
// plus the broadcast register.
const (
	maxV   = 7
	chains = 4
)

func main() {
	ConstraintExpr("amd64,!purego")
	for v := 1; v <= maxV; v++ {
		kernel(v)
	}
	Generate()
}

func zmm(i int) reg.VecPhysical {
	return []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31}[i]
}

func kernel(nv int) {
	name := fmt.Sprintf("gemvT16x%d", nv)
	TEXT(name, NOSPLIT, "func(k int, x, a *float32, lda int, y *float32, mask uint16, accumulate int)")
	Doc(fmt.Sprintf("%s computes y = y0 + Aᵀx over %d vectors of y (the last masked) in four chains, see package sgemvgen.", name, nv))
	kk := Load(Param("k"), reg.RCX)
	px := Load(Param("x"), reg.RSI)
	pa := Load(Param("a"), reg.RDI)
	lda := Load(Param("lda"), reg.R8)
	SHLQ(U8(2), lda)
	lda3 := reg.R9
	LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	py := Load(Param("y"), reg.RDX)
	mask := Load(Param("mask"), reg.EAX)
	KMOVW(mask, reg.K1)
	accum := Load(Param("accumulate"), reg.RBX)
	last := nv - 1
	acc := func(c, v int) reg.VecPhysical { return zmm(c*nv + v) }
	bc := reg.Z31

	for c := 1; c < chains; c++ {
		for v := 0; v < nv; v++ {
			VPXORD(acc(c, v), acc(c, v), acc(c, v))
		}
	}
	TESTQ(accum, accum)
	JE(LabelRef(name + "_zero"))
	for v := 0; v < last; v++ {
		VMOVUPS(Mem{Base: py, Disp: 64 * v}, acc(0, v))
	}
	VMOVUPS_Z(Mem{Base: py, Disp: 64 * last}, reg.K1, acc(0, last))
	JMP(LabelRef(name + "_loop"))
	Label(name + "_zero")
	for v := 0; v < nv; v++ {
		VPXORD(acc(0, v), acc(0, v), acc(0, v))
	}

	// Row u of the current group of four is at a + u·lda.
	rowMem := func(u, v int) Mem {
		m := Mem{Base: pa, Disp: 64 * v}
		switch u {
		case 1:
			m.Index, m.Scale = lda, 1
		case 2:
			m.Index, m.Scale = lda, 2
		case 3:
			m.Index, m.Scale = lda3, 1
		}
		return m
	}
	step := func(u int) {
		VBROADCASTSS(Mem{Base: px, Disp: 4 * u}, bc)
		for v := 0; v < last; v++ {
			VFMADD231PS(rowMem(u, v), bc, acc(u, v))
		}
		// Merge-masked: lanes past m stay 0 and their memory is not read.
		VFMADD231PS(rowMem(u, last), bc, reg.K1, acc(u, last))
	}

	Label(name + "_loop")
	CMPQ(kk, U8(chains))
	JL(LabelRef(name + "_tail"))
	for u := 0; u < chains; u++ {
		step(u)
	}
	ADDQ(U8(4*chains), px)
	LEAQ(Mem{Base: pa, Index: lda, Scale: 4}, pa)
	SUBQ(U8(chains), kk)
	JMP(LabelRef(name + "_loop"))

	// The last k mod 4 rows continue chains 0, 1, 2.
	Label(name + "_tail")
	for u := 0; u < chains-1; u++ {
		CMPQ(kk, U8(u))
		JE(LabelRef(name + "_sum"))
		step(u)
	}

	Label(name + "_sum")
	sumStore(nv, acc, py)
}

// sumStore adds the four chains as (s0+s1)+(s2+s3) into chain 0 and stores
// it to y, the last vector under mask K1.
func sumStore(nv int, acc func(c, v int) reg.VecPhysical, py reg.Register) {
	last := nv - 1
	for v := 0; v < nv; v++ {
		VADDPS(acc(1, v), acc(0, v), acc(0, v))
		VADDPS(acc(3, v), acc(2, v), acc(2, v))
		VADDPS(acc(2, v), acc(0, v), acc(0, v))
	}
	for v := 0; v < last; v++ {
		VMOVUPS(acc(0, v), Mem{Base: py, Disp: 64 * v})
	}
	VMOVUPS(acc(0, last), reg.K1, Mem{Base: py, Disp: 64 * last})
	VZEROUPPER()
	RET()
}
