// Command inferasmgen writes the AVX2 kernels of package policy's decoder
// (infer_simd_amd64.s and its Go stubs) with avo: GELU by table, and the
// exponentials and normalisation of the attention softmax. Like the other
// generators it is its own module so that rlpipe does not depend on avo;
// run it through go generate in policy.
//
// The kernels work in float64 on 4 lanes and repeat, operation for
// operation, the scalar Go of infer_math.go (biasActRowsFast,
// softmaxScaled, expNeg): the same multiplies and adds in the same order,
// never fused (Go does not fuse them on amd64 at GOAMD64 v1), the same
// tables. Their results are therefore bit-identical to the scalar code,
// which TestInferSIMDBits in policy checks; change one and it fails.
package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	geluTab()
	softmaxMax()
	softmaxExp()
	scaleF32()
	layerNorm()
	data()
	Generate()
}

// static is the address of the 32-byte constant name<>, defined in data.
func static(name string) Mem { return NewDataAddr(NewStaticSymbol(name), 0) }

// The constants, 4 equal 8-byte lanes or 8 equal 4-byte lanes each.
var (
	dGeluLo   = static("dGeluLo")   // float64 −8, geluLo
	dGeluStep = static("dGeluStep") // float64 32, geluSteps
	fGeluLo   = static("fGeluLo")   // float32 −8
	fGeluHi   = static("fGeluHi")   // float32 8
	dNegInf   = static("dNegInf")   // float64 −Inf
	dExpScale = static("dExpScale") // float64 64/ln 2
	dExpShift = static("dExpShift") // float64 1.5·2⁵², expShift
	dExpLn2   = static("dExpLn2")   // float64 ln 2/64
	dSixth    = static("dSixth")    // float64 1/6
	dHalf     = static("dHalf")     // float64 1/2
	dOne      = static("dOne")      // float64 1
	dExpMin   = static("dExpMin")   // float64 −708
	qLow6     = static("qLow6")     // int64 63
	dLnEps    = static("dLnEps")    // float64 1e−5, lnEps
)

func data() {
	f64 := func(name string, v float64) {
		GLOBL(name, RODATA|NOPTR)
		for i := 0; i < 4; i++ {
			DATA(8*i, U64(math.Float64bits(v)))
		}
	}
	f32 := func(name string, v float32) {
		GLOBL(name, RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			DATA(4*i, U32(math.Float32bits(v)))
		}
	}
	f64("dGeluLo", -8)
	f64("dGeluStep", 32)
	f32("fGeluLo", -8)
	f32("fGeluHi", 8)
	f64("dNegInf", math.Inf(-1))
	// The same constant expressions as expNeg, rounded to float64 alike.
	f64("dExpScale", 64/math.Ln2)
	f64("dExpShift", 0x1.8p52)
	f64("dExpLn2", math.Ln2/64)
	f64("dSixth", 1.0/6)
	f64("dHalf", 1.0/2)
	f64("dOne", 1)
	f64("dExpMin", -708)
	f64("dLnEps", 1e-5)
	GLOBL("qLow6", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(63))
	}
}

// ptr is the memory a pointer register points at.
func ptr(r Register) Mem { return Mem{Base: r} }

// noescape declares the kernel //go:noescape: the pointers it gets are
// neither kept nor returned.
func noescape(doc ...string) {
	Doc(doc...)
	Pragma("noescape")
}

// Comparison predicates of VCMPPS/VCMPPD (ordered, quiet: false for NaN).
const (
	cmpLT = 0x11 // _CMP_LT_OQ
	cmpGE = 0x1d // _CMP_GE_OQ
	cmpGT = 0x1e // _CMP_GT_OQ
)

func geluTab() {
	TEXT("geluTabAVX2", NOSPLIT, "func(y, x, b *float32, tab *[4]float64, n int)")
	noescape(
		"geluTabAVX2 sets y[i] = geluFast(x[i] + b[i]) (the cubic Hermite table",
		"tab, geluTab); n is a positive multiple of 4. y may be x.")
	y := Load(Param("y"), RDI)
	x := Load(Param("x"), RSI)
	b := Load(Param("b"), RDX)
	tab := Load(Param("tab"), R8)
	n := Load(Param("n"), RCX)
	VMOVUPD(dGeluLo, Y12)
	VMOVUPD(dGeluStep, Y13)
	VMOVUPS(fGeluLo.Offset(0), X14)
	VMOVUPS(fGeluHi.Offset(0), X15)

	Label("geluTabLoop")
	VMOVUPS(ptr(x), X0)
	VADDPS(ptr(b), X0, X0) // u = x + b (float32)
	VCVTPS2PD(X0, Y1)      // xf
	VSUBPD(Y12, Y1, Y2)    // xf − geluLo
	VMULPD(Y13, Y2, Y2)    // v
	VCVTTPD2DQY(Y2, X3)    // i = int(v)
	VCVTDQ2PD(X3, Y4)
	VSUBPD(Y4, Y2, Y2) // s = v − i
	// i & 511, times 4 float64 per entry. Out-of-range lanes (blended
	// away below) read some entry, never outside the table.
	VPSLLD(U8(23), X3, X3)
	VPSRLD(U8(21), X3, X3)
	// The four entries (c0…c3 each), loaded whole and transposed into
	// Y5 = c0, Y6 = c1, Y7 = c2, Y8 = c3 of the four lanes: cheaper than
	// four gathers.
	idx := []Register{RAX, RBX, R9, R10}
	VMOVD(X3, EAX)
	VPEXTRD(U8(1), X3, EBX)
	VPEXTRD(U8(2), X3, R9L)
	VPEXTRD(U8(3), X3, R10L)
	entry := func(lane, half int) Mem { return Mem{Base: tab, Index: idx[lane], Scale: 8, Disp: 16 * half} }
	VMOVUPD(entry(0, 0), X5) // lanes 0, 2: c0 c1 | lanes 0, 2
	VINSERTF128(U8(1), entry(2, 0), Y5, Y5)
	VMOVUPD(entry(1, 0), X6)
	VINSERTF128(U8(1), entry(3, 0), Y6, Y6)
	VMOVUPD(entry(0, 1), X7) // c2 c3
	VINSERTF128(U8(1), entry(2, 1), Y7, Y7)
	VMOVUPD(entry(1, 1), X8)
	VINSERTF128(U8(1), entry(3, 1), Y8, Y8)
	VUNPCKHPD(Y6, Y5, Y9)  // c1
	VUNPCKLPD(Y6, Y5, Y5)  // c0
	VUNPCKHPD(Y8, Y7, Y10) // c3
	VUNPCKLPD(Y8, Y7, Y7)  // c2
	VMOVAPD(Y9, Y6)
	VMOVAPD(Y10, Y8)
	// c0 + s·(c1 + s·(c2 + s·c3)), then xf·that.
	VMULPD(Y8, Y2, Y8)
	VADDPD(Y8, Y7, Y7)
	VMULPD(Y7, Y2, Y7)
	VADDPD(Y7, Y6, Y6)
	VMULPD(Y6, Y2, Y6)
	VADDPD(Y6, Y5, Y5)
	VMULPD(Y5, Y1, Y5)
	VCVTPD2PSY(Y5, X5)
	// The tail: u where u ≥ 8, else u·0; taken unless −8 ≤ u < 8.
	VXORPS(X6, X6, X6)
	VMULPS(X6, X0, X6)
	VCMPPS(U8(cmpGE), X15, X0, X7)
	VBLENDVPS(X7, X0, X6, X6)
	VCMPPS(U8(cmpGE), X14, X0, X7)
	VCMPPS(U8(cmpLT), X15, X0, X8)
	VANDPS(X8, X7, X7)
	VBLENDVPS(X7, X5, X6, X6)
	VMOVUPS(X6, ptr(y))
	for _, p := range []Register{y, x, b} {
		ADDQ(U8(16), p)
	}
	SUBQ(U8(4), n)
	JNZ(LabelRef("geluTabLoop"))
	VZEROUPPER()
	RET()
}

func softmaxMax() {
	TEXT("maxScaledAVX2", NOSPLIT, "func(s *float32, n int, scale float64) float64")
	noescape(
		"maxScaledAVX2 returns the largest float64(s[i])·scale, ignoring NaN,",
		"−Inf if none; n is a positive multiple of 4.")
	s := Load(Param("s"), RSI)
	n := Load(Param("n"), RCX)
	VBROADCASTSD(NewParamAddr("scale", 16), Y1)
	VMOVUPD(dNegInf, Y0)
	Label("maxLoop")
	VCVTPS2PD(ptr(s), Y2)
	VMULPD(Y1, Y2, Y2)
	// mx = z > mx ? z : mx, lane by lane, as the scalar loop does.
	VCMPPD(U8(cmpGT), Y0, Y2, Y3)
	VBLENDVPD(Y3, Y2, Y0, Y0)
	ADDQ(U8(16), s)
	SUBQ(U8(4), n)
	JNZ(LabelRef("maxLoop"))
	VEXTRACTF128(U8(1), Y0, X1)
	maxLane(X0, X1, X3)
	VPERMILPD(U8(1), X0, X1)
	maxLane(X0, X1, X3)
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

// maxLane sets m = b > m ? b : m lane by lane (t scratch).
func maxLane(m, b, t VecPhysical) {
	VCMPPD(U8(cmpGT), m, b, t)
	VBLENDVPD(t, b, m, m)
}

func softmaxExp() {
	TEXT("expSumAVX2", NOSPLIT, "func(s *float32, n int, scale, mx float64, tab *uint64) float64")
	noescape(
		"expSumAVX2 sets s[i] = float32(expNeg(float64(s[i])·scale − mx)) and",
		"returns the sum of the float64 exponentials, added in ascending i;",
		"tab is exp2Frac and n a positive multiple of 4.")
	s := Load(Param("s"), RSI)
	n := Load(Param("n"), RCX)
	tab := Load(Param("tab"), R8)
	expLoop("expSum", s, n, tab, func() {
		VCVTPD2PSY(Y4, X5)
		VMOVUPS(X5, ptr(s))
	})
	TEXT("expProbsAVX2", NOSPLIT, "func(s *float32, probs *float64, n int, scale, mx float64, tab *uint64) float64")
	noescape(
		"expProbsAVX2 sets probs[i] = expNeg(float64(s[i])·scale − mx) and returns",
		"their sum, added in ascending i; tab is exp2Frac and n a positive",
		"multiple of 4.")
	s = Load(Param("s"), RSI)
	probs := Load(Param("probs"), RDI)
	n = Load(Param("n"), RCX)
	tab = Load(Param("tab"), R8)
	expLoop("expProbs", s, n, tab, func() {
		VMOVUPD(Y4, ptr(probs))
		ADDQ(U8(32), probs)
	})
}

// expLoop is the body of the exponential kernels: for 4 values of s at a
// time, e = expNeg(float64(s)·scale − mx) into Y4, store(), then the sum
// (returned) += e_0, e_1, e_2, e_3 in turn. scale and mx are the frame's
// parameters of those names.
func expLoop(name string, s, n, tab Register, store func()) {
	VBROADCASTSD(param("scale"), Y14)
	VBROADCASTSD(param("mx"), Y15)
	VMOVUPD(dExpShift, Y13)
	VMOVUPD(dExpScale, Y12)
	VMOVUPD(dExpLn2, Y11)
	VMOVUPD(dOne, Y10)
	VXORPD(X0, X0, X0) // the sum
	Label(name + "Loop")
	VCVTPS2PD(ptr(s), Y1)
	VMULPD(Y14, Y1, Y1)
	VSUBPD(Y15, Y1, Y1) // x
	VMULPD(Y12, Y1, Y2)
	VADDPD(Y13, Y2, Y2) // t
	VSUBPD(Y13, Y2, Y3) // kf
	VMULPD(Y11, Y3, Y3)
	VSUBPD(Y3, Y1, Y3) // r
	// p = 1 + r·(1 + r·(1/2 + r·(1/6)))
	VMULPD(dSixth, Y3, Y4)
	VADDPD(dHalf, Y4, Y4)
	VMULPD(Y4, Y3, Y4)
	VADDPD(Y10, Y4, Y4)
	VMULPD(Y4, Y3, Y4)
	VADDPD(Y10, Y4, Y4)
	// 2^(k/64): exp2Frac[t & 63] plus floor(k/64) in the exponent field.
	VANDPD(qLow6, Y2, Y5)
	VPCMPEQD(Y6, Y6, Y6)
	VGATHERQPD(Y6, Mem{Base: tab, Index: Y5, Scale: 8}, Y7)
	VPSRLQ(U8(6), Y2, Y2)
	VPSLLQ(U8(52), Y2, Y2)
	VPADDQ(Y2, Y7, Y7)
	VMULPD(Y7, Y4, Y4)
	// 0 where x < −708.
	VCMPPD(U8(cmpLT), dExpMin, Y1, Y5)
	VANDNPD(Y4, Y5, Y4)
	store()
	VADDSD(X4, X0, X0)
	VPERMILPD(U8(1), X4, X5)
	VADDSD(X5, X0, X0)
	VEXTRACTF128(U8(1), Y4, X4)
	VADDSD(X4, X0, X0)
	VPERMILPD(U8(1), X4, X5)
	VADDSD(X5, X0, X0)
	ADDQ(U8(16), s)
	SUBQ(U8(4), n)
	JNZ(LabelRef(name + "Loop"))
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

// param is the frame address of the current function's parameter.
func param(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func scaleF32() {
	TEXT("scaleF32AVX2", NOSPLIT, "func(s *float32, n int, inv float64)")
	noescape("scaleF32AVX2 sets s[i] = float32(float64(s[i])·inv); n is a positive multiple of 4.")
	s := Load(Param("s"), RSI)
	n := Load(Param("n"), RCX)
	VBROADCASTSD(NewParamAddr("inv", 16), Y1)
	Label("scaleLoop")
	VCVTPS2PD(ptr(s), Y0)
	VMULPD(Y1, Y0, Y0)
	VCVTPD2PSY(Y0, X0)
	VMOVUPS(X0, ptr(s))
	ADDQ(U8(16), s)
	SUBQ(U8(4), n)
	JNZ(LabelRef("scaleLoop"))
	VZEROUPPER()
	RET()
}

func layerNorm() {
	TEXT("layerNormRowAVX2", NOSPLIT, "func(y, x, gain, bias *float32, n int)")
	noescape(
		"layerNormRowAVX2 is layerNormRowsFast on one row: y = float32((x−μ)·rstd)·g",
		"+ b with μ and the variance summed in float64 over four lanes, lane t",
		"taking the elements i ≡ t (mod 4); n is a positive multiple of 4.")
	y := Load(Param("y"), RDI)
	x := Load(Param("x"), RSI)
	g := Load(Param("gain"), RDX)
	b := Load(Param("bias"), R8)
	n := Load(Param("n"), RCX)
	VXORPD(X6, X6, X6)
	VCVTSI2SDQ(n, X6, X6) // float64(n)
	MOVQ(x, R9)
	MOVQ(n, R10)
	VXORPD(Y0, Y0, Y0)
	Label("lnSum")
	VCVTPS2PD(ptr(R9), Y1)
	VADDPD(Y1, Y0, Y0)
	ADDQ(U8(16), R9)
	SUBQ(U8(4), R10)
	JNZ(LabelRef("lnSum"))
	laneSum(Y0, X3)
	VDIVSD(X6, X3, X3) // μ
	VBROADCASTSD(X3, Y7)
	MOVQ(x, R9)
	MOVQ(n, R10)
	VXORPD(Y0, Y0, Y0)
	Label("lnVar")
	VCVTPS2PD(ptr(R9), Y1)
	VSUBPD(Y7, Y1, Y1)
	VMULPD(Y1, Y1, Y1)
	VADDPD(Y1, Y0, Y0)
	ADDQ(U8(16), R9)
	SUBQ(U8(4), R10)
	JNZ(LabelRef("lnVar"))
	laneSum(Y0, X3)
	VDIVSD(X6, X3, X3)
	VADDSD(dLnEps.Offset(0), X3, X3)
	VSQRTSD(X3, X3, X3)
	VMOVSD(dOne.Offset(0), X4)
	VDIVSD(X3, X4, X4) // rstd
	VBROADCASTSD(X4, Y8)
	Label("lnOut")
	VCVTPS2PD(ptr(x), Y1)
	VSUBPD(Y7, Y1, Y1)
	VMULPD(Y8, Y1, Y1)
	VCVTPD2PSY(Y1, X1)
	VMULPS(ptr(g), X1, X1)
	VADDPS(ptr(b), X1, X1)
	VMOVUPS(X1, ptr(y))
	for _, p := range []Register{y, x, g, b} {
		ADDQ(U8(16), p)
	}
	SUBQ(U8(4), n)
	JNZ(LabelRef("lnOut"))
	VZEROUPPER()
	RET()
}

// laneSum sets the low lane of dst to (s0 + s1) + (s2 + s3) for the lanes
// of s (clobbers X1, X2, X4, X5).
func laneSum(s VecPhysical, dst VecPhysical) {
	lo := s.AsX()
	VEXTRACTF128(U8(1), s, X1)
	VPERMILPD(U8(1), lo, X2)
	VADDSD(X2, lo, dst)
	VPERMILPD(U8(1), X1, X4)
	VADDSD(X4, X1, X5)
	VADDSD(X5, dst, dst)
}
