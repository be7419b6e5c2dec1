// Command asmgen writes the amd64 micro-kernels of package sgemm
// (kernel_amd64.s and its Go stubs) with avo. It is its own module so that
// rlpipe itself does not depend on avo; run it through go generate in
// policy/sgemm.
//
// Each kernel computes one MR×NR tile of C from packed panels:
//
//	acc[r][c] = Σ_p a[p·MR+r]·b[p·NR+c]   (p = 0…k-1, in order)
//	C[r][c]   = acc[r][c]                 if beta == 0 (C is not read: NaN-safe)
//	C[r][c]   = acc[r][c] + beta·C[r][c]  otherwise (one fused multiply-add)
//
// B supplies whole vector rows (loaded), A supplies scalars (broadcast), so
// C rows are written with full-width stores.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// spec describes one kernel: rows of the tile, vectors per row, vector width.
type spec struct {
	name   string
	mr     int // rows of the tile
	nv     int // vectors per row
	width  int // float32 lanes per vector
	zmm    bool
	unroll int // k steps per loop iteration
	rowsA  bool
}

func main() {
	ConstraintExpr("amd64,!purego")
	for _, s := range []spec{
		{name: "kernAVX512x12x32", mr: 12, nv: 2, width: 16, zmm: true, unroll: 4},
		{name: "kernAVX2x6x16", mr: 6, nv: 2, width: 8, zmm: false, unroll: 4},
		{name: "kernRowsAVX512x12x32", mr: 12, nv: 2, width: 16, zmm: true, unroll: 4, rowsA: true},
		{name: "kernRowsAVX2x6x16", mr: 6, nv: 2, width: 8, zmm: false, unroll: 4, rowsA: true},
	} {
		kernel(s)
	}
	Generate()
}

// vreg returns vector register i of the spec's width.
func (s spec) vreg(i int) reg.VecPhysical {
	if s.zmm {
		return []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
			reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
			reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
			reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31}[i]
	}
	return []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15}[i]
}

func kernel(s spec) {
	nr := s.nv * s.width
	// Both layouts take the same arguments; lda is in elements.
	TEXT(s.name, NOSPLIT, "func(k int, a *float32, lda int, b, c *float32, ldc int, beta float32)")
	if s.rowsA {
		// Row r of A's sliver starts at a + r·lda, its k values contiguous:
		// a row-major A is read in place.
		Doc(fmt.Sprintf("%s computes a %d×%d tile of C from %d rows of A (stride lda) and a packed B sliver (see package asmgen).", s.name, s.mr, nr, s.mr))
	} else {
		// Step p of A's sliver is the mr values at a + p·lda: a packed
		// sliver (lda = mr) or a column-major A read in place.
		Doc(fmt.Sprintf("%s computes a %d×%d tile of C from A's sliver (%d values per k step, steps lda apart) and a packed B sliver (see package asmgen).", s.name, s.mr, nr, s.mr))
	}
	acc := func(r, v int) reg.VecPhysical { return s.vreg(r*s.nv + v) }
	nacc := s.mr * s.nv
	bv := func(v int) reg.VecPhysical { return s.vreg(nacc + v) }
	bc := s.vreg(nacc + s.nv)
	if nacc+s.nv+1 > map[bool]int{true: 32, false: 16}[s.zmm] {
		panic("asmgen: too many registers for " + s.name)
	}

	kk := Load(Param("k"), reg.RCX)
	pa := Load(Param("a"), reg.RSI)
	// Addresses are base + index·scale + disp with index ∈ {lda, 2lda,
	// 3lda} bytes: rowsA walks rows r%4 from base[r/4] = a + 4(r/4)·lda,
	// the packed layout walks the unrolled k steps u from a.
	s1 := Load(Param("lda"), reg.R10)
	SHLQ(U8(2), s1)
	s3 := reg.R11
	LEAQ(Mem{Base: s1, Index: s1, Scale: 2}, s3)
	bases := []reg.Register{pa}
	if s.rowsA {
		for i, r := range []reg.Register{reg.R8, reg.R9} {
			if 4*(i+1) >= s.mr {
				break
			}
			LEAQ(Mem{Base: bases[i], Index: s1, Scale: 4}, r)
			bases = append(bases, r)
		}
	}
	strided := func(base reg.Register, i, disp int) Mem {
		m := Mem{Base: base, Disp: disp}
		switch i {
		case 1:
			m.Index, m.Scale = s1, 1
		case 2:
			m.Index, m.Scale = s1, 2
		case 3:
			m.Index, m.Scale = s3, 1
		}
		return m
	}
	aAddr := func(u, r int) Mem {
		if s.rowsA {
			return strided(bases[r/4], r%4, 4*u)
		}
		return strided(pa, u, 4*r)
	}
	advanceA := func(steps int) {
		switch {
		case s.rowsA:
			for _, b := range bases {
				ADDQ(U32(4*steps), b)
			}
		case steps == 4:
			LEAQ(Mem{Base: pa, Index: s1, Scale: 4}, pa)
		case steps == 1:
			ADDQ(s1, pa)
		default:
			panic("asmgen: unsupported unroll")
		}
	}
	pb := Load(Param("b"), reg.RDI)
	pc := Load(Param("c"), reg.RDX)
	ldc := Load(Param("ldc"), reg.RBX)
	SHLQ(U8(2), ldc)

	for i := 0; i < nacc; i++ {
		if s.zmm {
			VPXORD(acc(i/s.nv, i%s.nv), acc(i/s.nv, i%s.nv), acc(i/s.nv, i%s.nv))
		} else {
			VXORPS(acc(i/s.nv, i%s.nv), acc(i/s.nv, i%s.nv), acc(i/s.nv, i%s.nv))
		}
	}

	step := func(u int) {
		for v := 0; v < s.nv; v++ {
			VMOVUPS(Mem{Base: pb, Disp: 4 * (u*nr + v*s.width)}, bv(v))
		}
		for r := 0; r < s.mr; r++ {
			VBROADCASTSS(aAddr(u, r), bc)
			for v := 0; v < s.nv; v++ {
				VFMADD231PS(bv(v), bc, acc(r, v))
			}
		}
	}

	Label(s.name + "_loop")
	CMPQ(kk, U8(s.unroll))
	JL(LabelRef(s.name + "_tail"))
	for u := 0; u < s.unroll; u++ {
		step(u)
	}
	advanceA(s.unroll)
	ADDQ(U32(4*s.unroll*nr), pb)
	SUBQ(U8(s.unroll), kk)
	JMP(LabelRef(s.name + "_loop"))

	Label(s.name + "_tail")
	TESTQ(kk, kk)
	JE(LabelRef(s.name + "_store"))
	step(0)
	advanceA(1)
	ADDQ(U32(4*nr), pb)
	DECQ(kk)
	JMP(LabelRef(s.name + "_tail"))

	// beta == ±0 must not read C (BLAS semantics: NaN in C is ignored).
	Label(s.name + "_store")
	betaAddr, err := Param("beta").Resolve()
	if err != nil {
		panic(err)
	}
	MOVL(betaAddr.Addr, reg.EAX)
	ANDL(U32(0x7fffffff), reg.EAX)
	JE(LabelRef(s.name + "_store0"))
	VBROADCASTSS(betaAddr.Addr, bc)
	for r := 0; r < s.mr; r++ {
		for v := 0; v < s.nv; v++ {
			m := Mem{Base: pc, Disp: 4 * v * s.width}
			VFMADD231PS(m, bc, acc(r, v))
			VMOVUPS(acc(r, v), m)
		}
		ADDQ(ldc, pc)
	}
	VZEROUPPER()
	RET()

	Label(s.name + "_store0")
	for r := 0; r < s.mr; r++ {
		for v := 0; v < s.nv; v++ {
			VMOVUPS(acc(r, v), Mem{Base: pc, Disp: 4 * v * s.width})
		}
		ADDQ(ldc, pc)
	}
	VZEROUPPER()
	RET()
}
