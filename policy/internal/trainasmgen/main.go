// Command trainasmgen writes the AVX2+FMA kernels of the float32 training
// graph of package policy (train_simd_amd64.s and its Go stubs) with avo.
// Like policy/sgemm's generators it is its own module so that rlpipe does
// not depend on avo; run it through go generate in policy.
//
// Every kernel works on 8 lanes at a time, n a positive multiple of 8, and
// every lane runs the same instruction sequence, so a value never depends
// on its position. The instruction sequences, their order and the
// constants are those of the hand-written file this replaced, so the
// results are bit-identical to it (TestTrainSIMDBits in policy pins them):
// change any of them and training runs change.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	gelu()
	geluGrad()
	geluKeep()
	geluGradKept()
	expSub()
	maxLive()
	expNorm()
	sumCols()
	data()
	Generate()
}

// static is the address of the 32-byte constant name<>, defined in data.
func static(name string) Mem { return NewDataAddr(NewStaticSymbol(name), 0) }

// The float32 constants, 8 lanes each, as bit patterns (data writes them).
var (
	vnegInf   = static("vnegInf")   // −Inf
	veight    = static("veight")    // int32 8
	vlane     = static("vlane")     // int32 0, 1, …, 7
	vexpHi    = static("vexpHi")    // 80
	vexpLo    = static("vexpLo")    // −87
	vexpLog2e = static("vexpLog2e") // log2 e
	vexpC1    = static("vexpC1")    // ln 2, high part (0.693359375)
	vexpC2    = static("vexpC2")    // ln 2, low part (−2.12194440e−4)
	vexpP0    = static("vexpP0")    // Cephes expf polynomial, highest degree first
	vexpP1    = static("vexpP1")
	vexpP2    = static("vexpP2")
	vexpP3    = static("vexpP3")
	vexpP4    = static("vexpP4")
	vexpP5    = static("vexpP5")
	vone      = static("vone")     // 1
	vbias127  = static("vbias127") // int32 127, the exponent bias
	vgeluK    = static("vgeluK")   // 0.044715
	vgeluK3   = static("vgeluK3")  // 3·0.044715
	vgeluM2C  = static("vgeluM2C") // −2·√(2/π)
	vgeluC2   = static("vgeluC2")  // 2·√(2/π)
)

// data defines the constants: every one 8 equal 4-byte lanes.
func data() {
	for _, c := range []struct {
		name string
		bits uint32
	}{
		{"vnegInf", 0xff800000},
		{"veight", 0x00000008},
		{"vlane", 0}, // per lane, below
		{"vexpHi", 0x42a00000},
		{"vexpLo", 0xc2ae0000},
		{"vexpLog2e", 0x3fb8aa3b},
		{"vexpC1", 0x3f318000},
		{"vexpC2", 0xb95e8083},
		{"vexpP0", 0x39506967},
		{"vexpP1", 0x3ab743ce},
		{"vexpP2", 0x3c088908},
		{"vexpP3", 0x3d2aa9c1},
		{"vexpP4", 0x3e2aaaaa},
		{"vexpP5", 0x3f000000},
		{"vone", 0x3f800000},
		{"vbias127", 0x0000007f},
		{"vgeluK", 0x3d372713},
		{"vgeluK3", 0x3e095d4f},
		{"vgeluM2C", 0xbfcc422a},
		{"vgeluC2", 0x3fcc422a},
	} {
		GLOBL(c.name, RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			v := c.bits
			if c.name == "vlane" {
				v = uint32(i)
			}
			DATA(4*i, U32(v))
		}
	}
}

// vexp sets p = e^x on 8 lanes (Cephes expf: x clamped to [−87, 80], so
// the result is a normal float; n = round(x·log2 e); r = x − n·ln 2 in two
// steps; degree-7 polynomial; scaled by 2^n through the exponent bits).
// Clobbers x, n and z.
func vexp(x, n, p, z VecPhysical) {
	VMINPS(vexpHi, x, x)
	VMAXPS(vexpLo, x, x)
	VMULPS(vexpLog2e, x, n)
	VROUNDPS(U8(0), n, n)
	VFNMADD231PS(vexpC1, n, x)
	VFNMADD231PS(vexpC2, n, x)
	VMOVUPS(vexpP0, p)
	VFMADD213PS(vexpP1, x, p)
	VFMADD213PS(vexpP2, x, p)
	VFMADD213PS(vexpP3, x, p)
	VFMADD213PS(vexpP4, x, p)
	VFMADD213PS(vexpP5, x, p)
	VMULPS(x, x, z)
	VFMADD213PS(x, z, p)
	VADDPS(vone, p, p)
	VCVTPS2DQ(n, n)
	VPADDD(vbias127, n, n)
	VPSLLD(U8(23), n, n)
	VMULPS(n, p, p)
}

// vgeluArg sets a = −2·√(2/π)·(u + 0.044715u³) and u2 = u², the argument
// of the exponential in GELU(u) = u / (1 + e^a).
func vgeluArg(u, u2, a VecPhysical) {
	VMULPS(vgeluK, u, a)
	VMULPS(u, u, u2)
	VMULPS(u2, a, a)
	VADDPS(u, a, a)
	VMULPS(vgeluM2C, a, a)
}

// ptr is the memory a pointer register points at.
func ptr(r Register) Mem { return Mem{Base: r} }

// next advances the pointers by one vector of 8 float32 and counts down n
// by 8, looping to label while n ≠ 0; then the kernel returns.
func next(label string, n Register, ps ...Register) {
	for _, p := range ps {
		ADDQ(U8(32), p)
	}
	SUBQ(U8(8), n)
	JNZ(LabelRef(label))
	VZEROUPPER()
	RET()
}

// noescape declares the kernel //go:noescape: the pointers it gets are
// neither kept nor returned.
func noescape(doc ...string) {
	Doc(doc...)
	Pragma("noescape")
}

func gelu() {
	TEXT("geluAVX2", NOSPLIT, "func(y, x, b *float32, n int)")
	noescape("geluAVX2 sets y[i] = GELU(x[i] + b[i]); n is a positive multiple of 8.")
	y := Load(Param("y"), RDI)
	x := Load(Param("x"), RSI)
	b := Load(Param("b"), RDX)
	n := Load(Param("n"), RCX)

	Label("geluLoop")
	VMOVUPS(ptr(x), Y0)
	VADDPS(ptr(b), Y0, Y0)
	vgeluArg(Y0, Y5, Y1)
	vexp(Y1, Y2, Y3, Y4)
	VADDPS(vone, Y3, Y3)
	VDIVPS(Y3, Y0, Y3)
	VMOVUPS(Y3, ptr(y))
	next("geluLoop", n, y, x, b)
}

func geluGrad() {
	TEXT("geluGradAVX2", NOSPLIT, "func(dx, x, b, dy *float32, n int)")
	noescape(
		"geluGradAVX2 sets dx[i] = dy[i]·GELU'(x[i] + b[i]) with s = 1/(1 + e^a):",
		"GELU'(u) = s + 2√(2/π)·u·s(1−s)(1 + 3·0.044715u²); n is a positive",
		"multiple of 8.")
	dx := Load(Param("dx"), RDI)
	x := Load(Param("x"), RSI)
	b := Load(Param("b"), RDX)
	dy := Load(Param("dy"), R8)
	n := Load(Param("n"), RCX)
	VMOVUPS(vone, Y7)

	Label("geluGradLoop")
	VMOVUPS(ptr(x), Y0)
	VADDPS(ptr(b), Y0, Y0)
	vgeluArg(Y0, Y6, Y1)
	vexp(Y1, Y2, Y3, Y4)
	VADDPS(Y7, Y3, Y3)
	VDIVPS(Y3, Y7, Y3) // s
	geluGradTail(dx, dy)
	next("geluGradLoop", n, dx, x, b, dy)
}

// geluGradTail finishes geluGradAVX2 and geluGradKeptAVX2 from u in Y0,
// u² in Y6, s in Y3 and 1 in Y7: dx = dy·(s + 2√(2/π)·u·s(1−s)(1 + 3k·u²)).
func geluGradTail(dx, dy Register) {
	VSUBPS(Y3, Y7, Y8) // 1 − s
	VMULPS(vgeluK3, Y6, Y6)
	VADDPS(Y7, Y6, Y6) // 1 + 3k·u²
	VMULPS(Y3, Y0, Y0) // u·s
	VMULPS(Y8, Y0, Y0)
	VMULPS(Y6, Y0, Y0)
	VMULPS(vgeluC2, Y0, Y0)
	VADDPS(Y3, Y0, Y0)
	VMULPS(ptr(dy), Y0, Y0)
	VMOVUPS(Y0, ptr(dx))
}

func geluKeep() {
	TEXT("geluKeepAVX2", NOSPLIT, "func(y, s, x, b *float32, n int)")
	noescape(
		"geluKeepAVX2 is geluAVX2 that also stores s[i] = 1/(1 + e^a), the sigmoid",
		"its gradient needs (see geluGradKeptAVX2). y is computed exactly as",
		"geluAVX2 does.")
	y := Load(Param("y"), RDI)
	s := Load(Param("s"), R8)
	x := Load(Param("x"), RSI)
	b := Load(Param("b"), RDX)
	n := Load(Param("n"), RCX)
	VMOVUPS(vone, Y7)

	Label("geluKeepLoop")
	VMOVUPS(ptr(x), Y0)
	VADDPS(ptr(b), Y0, Y0)
	vgeluArg(Y0, Y5, Y1)
	vexp(Y1, Y2, Y3, Y4)
	VADDPS(Y7, Y3, Y3)
	VDIVPS(Y3, Y0, Y4)
	VDIVPS(Y3, Y7, Y3)
	VMOVUPS(Y4, ptr(y))
	VMOVUPS(Y3, ptr(s))
	next("geluKeepLoop", n, y, s, x, b)
}

func geluGradKept() {
	TEXT("geluGradKeptAVX2", NOSPLIT, "func(dx, x, b, s, dy *float32, n int)")
	noescape(
		"geluGradKeptAVX2 is geluGradAVX2 with the sigmoid s read from the forward",
		"pass instead of recomputed: the same values, so the same result.")
	dx := Load(Param("dx"), RDI)
	x := Load(Param("x"), RSI)
	b := Load(Param("b"), RDX)
	s := Load(Param("s"), R9)
	dy := Load(Param("dy"), R8)
	n := Load(Param("n"), RCX)
	VMOVUPS(vone, Y7)

	Label("geluGradKeptLoop")
	VMOVUPS(ptr(x), Y0)
	VADDPS(ptr(b), Y0, Y0)
	VMULPS(Y0, Y0, Y6)  // u²
	VMOVUPS(ptr(s), Y3) // s
	geluGradTail(dx, dy)
	next("geluGradKeptLoop", n, dx, x, b, s, dy)
}

func expSub() {
	TEXT("expSubAVX2", NOSPLIT, "func(p *float32, n int, m float32)")
	noescape("expSubAVX2 sets p[i] = e^(p[i] − m) in place; n is a positive multiple of 8.")
	p := Load(Param("p"), RDI)
	n := Load(Param("n"), RCX)
	VBROADCASTSS(addr(Param("m")), Y6)

	Label("expSubLoop")
	VMOVUPS(ptr(p), Y0)
	VSUBPS(Y6, Y0, Y0)
	vexp(Y0, Y1, Y2, Y3)
	VMOVUPS(Y2, ptr(p))
	next("expSubLoop", n, p)
}

// addr is the stack address of an argument, for instructions that read
// it from memory.
func addr(c gotypes.Component) Mem {
	b, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// vlive sets live to all-ones in the lanes j of the 8 at mask with
// mask[j] ≠ 0 and j < hi (idx holds the lanes' j, hi broadcast, zero 0).
func vlive(mask Register, idx, hi, zero, live, t VecPhysical) {
	VMOVUPS(ptr(mask), t)
	VCMPPS(U8(4), zero, t, live)
	VPCMPGTD(idx, hi, t)
	VPAND(t, live, live)
}

func maxLive() {
	TEXT("maxLiveAVX2", NOSPLIT, "func(p, mask *float32, n, hi int) float32")
	noescape(
		"maxLiveAVX2 is the largest p[j] over the live lanes (mask[j] ≠ 0 and",
		"j < hi), −Inf if there is none; n is a positive multiple of 8.")
	p := Load(Param("p"), RDI)
	mask := Load(Param("mask"), RSI)
	n := Load(Param("n"), RCX)
	VPBROADCASTD(addr(Param("hi")), Y11)
	VMOVUPS(vlane, Y10)
	VXORPS(Y13, Y13, Y13)
	VMOVUPS(vnegInf, Y9)
	VMOVUPS(Y9, Y8)

	Label("maxLoop")
	vlive(mask, Y10, Y11, Y13, Y2, Y3)
	VMOVUPS(ptr(p), Y0)
	VBLENDVPS(Y2, Y0, Y9, Y4)
	VMAXPS(Y4, Y8, Y8)
	VPADDD(veight, Y10, Y10)
	ADDQ(U8(32), p)
	ADDQ(U8(32), mask)
	SUBQ(U8(8), n)
	JNZ(LabelRef("maxLoop"))
	VEXTRACTF128(U8(1), Y8, X0)
	VMAXPS(X0, X8, X0)
	VPERMILPS(U8(0x4e), X0, X1)
	VMAXPS(X1, X0, X0)
	VPERMILPS(U8(0xb1), X0, X1)
	VMAXPS(X1, X0, X0)
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

func expNorm() {
	TEXT("expNormAVX2", NOSPLIT, "func(p, mask *float32, n, hi int, m float32)")
	noescape(
		"expNormAVX2 sets p[j] = e^(p[j] − m) / Σ over the live lanes (see",
		"maxLiveAVX2), 0 in the others; n is a positive multiple of 8. The sum",
		"runs in 8 lane partials, folded in a fixed order.")
	p := Load(Param("p"), RDI)
	mask := Load(Param("mask"), RSI)
	n := Load(Param("n"), RCX)
	VPBROADCASTD(addr(Param("hi")), Y11)
	VBROADCASTSS(addr(Param("m")), Y6)
	VMOVUPS(vlane, Y10)
	VXORPS(Y13, Y13, Y13)
	VXORPS(Y7, Y7, Y7)
	MOVQ(p, R8)
	MOVQ(n, R9)

	Label("expNormLoop")
	vlive(mask, Y10, Y11, Y13, Y4, Y5)
	VMOVUPS(ptr(p), Y0)
	VSUBPS(Y6, Y0, Y0)
	vexp(Y0, Y1, Y2, Y3)
	VANDPS(Y4, Y2, Y2)
	VMOVUPS(Y2, ptr(p))
	VADDPS(Y2, Y7, Y7)
	VPADDD(veight, Y10, Y10)
	ADDQ(U8(32), p)
	ADDQ(U8(32), mask)
	SUBQ(U8(8), n)
	JNZ(LabelRef("expNormLoop"))
	VEXTRACTF128(U8(1), Y7, X0)
	VADDPS(X0, X7, X0)
	VPERMILPS(U8(0x4e), X0, X1)
	VADDPS(X1, X0, X0)
	VPERMILPS(U8(0xb1), X0, X1)
	VADDPS(X1, X0, X0)
	VMOVSS(vone, X1)
	VDIVSS(X0, X1, X1)
	VBROADCASTSS(X1, Y0)

	Label("scaleLoop")
	VMULPS(ptr(R8), Y0, Y1)
	VMOVUPS(Y1, ptr(R8))
	next("scaleLoop", R9, R8)
}

func sumCols() {
	TEXT("sumColsAVX2", NOSPLIT, "func(dst *float64, src *float32, rows, ld, n int)")
	noescape(
		"sumColsAVX2 sets dst[j] = Σ_r float64(src[r·ld + j]) for j < n (n a",
		"positive multiple of 16, rows ≥ 1), each column summed in ascending r by",
		"double adds, as the scalar loop does: bit-identical to it.")
	dst := Load(Param("dst"), RDI)
	src := Load(Param("src"), RSI)
	rows := Load(Param("rows"), R8)
	ld := Load(Param("ld"), R9)
	SHLQ(U8(2), ld)
	n := Load(Param("n"), RCX)

	Label("colLoop")
	acc := []VecPhysical{Y0, Y1, Y2, Y3}
	for _, a := range acc {
		VXORPD(a, a, a)
	}
	MOVQ(src, RAX)
	MOVQ(rows, RBX)

	Label("rowLoop")
	cvt := []VecPhysical{Y4, Y5, Y6, Y7}
	for i, c := range cvt {
		VCVTPS2PD(Mem{Base: RAX, Disp: 16 * i}, c)
	}
	for i, c := range cvt {
		VADDPD(c, acc[i], acc[i])
	}
	ADDQ(ld, RAX)
	DECQ(RBX)
	JNZ(LabelRef("rowLoop"))
	for i, a := range acc {
		VMOVUPD(a, Mem{Base: dst, Disp: 32 * i})
	}
	ADDQ(U32(128), dst)
	ADDQ(U8(64), src)
	SUBQ(U8(16), n)
	JNZ(LabelRef("colLoop"))
	VZEROUPPER()
	RET()
}
