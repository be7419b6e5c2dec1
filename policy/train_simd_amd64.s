//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA kernels of the float32 training graph (see train_simd_amd64.go):
// 8 lanes at a time, n a positive multiple of 8. Every lane runs the same
// instruction sequence, so a value never depends on its position.

// VEXP sets p = e^x on 8 lanes (Cephes expf: x clamped to [-87, 80], so
// the result is a normal float; n = round(x·log2 e); r = x − n·ln 2 in two
// steps; degree-7 polynomial; scaled by 2^n through the exponent bits).
// Clobbers x, n and z.
#define VEXP(x, n, p, z) \
	VMINPS       vexpHi<>(SB), x, x    \
	VMAXPS       vexpLo<>(SB), x, x    \
	VMULPS       vexpLog2e<>(SB), x, n \
	VROUNDPS     $0, n, n              \
	VFNMADD231PS vexpC1<>(SB), n, x    \
	VFNMADD231PS vexpC2<>(SB), n, x    \
	VMOVUPS      vexpP0<>(SB), p       \
	VFMADD213PS  vexpP1<>(SB), x, p    \
	VFMADD213PS  vexpP2<>(SB), x, p    \
	VFMADD213PS  vexpP3<>(SB), x, p    \
	VFMADD213PS  vexpP4<>(SB), x, p    \
	VFMADD213PS  vexpP5<>(SB), x, p    \
	VMULPS       x, x, z               \
	VFMADD213PS  x, z, p               \
	VADDPS       vone<>(SB), p, p      \
	VCVTPS2DQ    n, n                  \
	VPADDD       vbias127<>(SB), n, n  \
	VPSLLD       $23, n, n             \
	VMULPS       n, p, p

// VGELUARG sets a = −2·√(2/π)·(u + 0.044715u³) and u2 = u², the argument
// of the exponential in GELU(u) = u / (1 + e^a).
#define VGELUARG(u, u2, a) \
	VMULPS vgeluK<>(SB), u, a \
	VMULPS u, u, u2           \
	VMULPS u2, a, a           \
	VADDPS u, a, a            \
	VMULPS vgeluM2C<>(SB), a, a

// func geluAVX2(y, x, b *float32, n int)
// y[i] = GELU(x[i] + b[i]).
TEXT ·geluAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX

geluLoop:
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VGELUARG(Y0, Y5, Y1)
	VEXP(Y1, Y2, Y3, Y4)
	VADDPS  vone<>(SB), Y3, Y3
	VDIVPS  Y3, Y0, Y3
	VMOVUPS Y3, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JNZ     geluLoop
	VZEROUPPER
	RET

// func geluGradAVX2(dx, x, b, dy *float32, n int)
// dx[i] = dy[i]·GELU'(x[i] + b[i]) with s = 1/(1 + e^a):
// GELU'(u) = s + 2√(2/π)·u·s(1−s)(1 + 3·0.044715u²).
TEXT ·geluGradAVX2(SB), NOSPLIT, $0-40
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ dy+24(FP), R8
	MOVQ n+32(FP), CX
	VMOVUPS vone<>(SB), Y7

geluGradLoop:
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VGELUARG(Y0, Y6, Y1)
	VEXP(Y1, Y2, Y3, Y4)
	VADDPS  Y7, Y3, Y3
	VDIVPS  Y3, Y7, Y3           // s
	VSUBPS  Y3, Y7, Y8           // 1 − s
	VMULPS  vgeluK3<>(SB), Y6, Y6
	VADDPS  Y7, Y6, Y6           // 1 + 3k·u²
	VMULPS  Y3, Y0, Y0           // u·s
	VMULPS  Y8, Y0, Y0
	VMULPS  Y6, Y0, Y0
	VMULPS  vgeluC2<>(SB), Y0, Y0
	VADDPS  Y3, Y0, Y0
	VMULPS  (R8), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	SUBQ    $8, CX
	JNZ     geluGradLoop
	VZEROUPPER
	RET

// func geluKeepAVX2(y, s, x, b *float32, n int)
// geluAVX2 that also stores s[i] = 1/(1 + e^a), the sigmoid its gradient
// needs (see geluGradKeptAVX2). y is computed exactly as geluAVX2 does.
TEXT ·geluKeepAVX2(SB), NOSPLIT, $0-40
	MOVQ    y+0(FP), DI
	MOVQ    s+8(FP), R8
	MOVQ    x+16(FP), SI
	MOVQ    b+24(FP), DX
	MOVQ    n+32(FP), CX
	VMOVUPS vone<>(SB), Y7

geluKeepLoop:
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VGELUARG(Y0, Y5, Y1)
	VEXP(Y1, Y2, Y3, Y4)
	VADDPS  Y7, Y3, Y3
	VDIVPS  Y3, Y0, Y4
	VDIVPS  Y3, Y7, Y3
	VMOVUPS Y4, (DI)
	VMOVUPS Y3, (R8)
	ADDQ    $32, DI
	ADDQ    $32, R8
	ADDQ    $32, SI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JNZ     geluKeepLoop
	VZEROUPPER
	RET

// func geluGradKeptAVX2(dx, x, b, s, dy *float32, n int)
// geluGradAVX2 with the sigmoid s read from the forward pass instead of
// recomputed: the same values, so the same result.
TEXT ·geluGradKeptAVX2(SB), NOSPLIT, $0-48
	MOVQ    dx+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    s+24(FP), R9
	MOVQ    dy+32(FP), R8
	MOVQ    n+40(FP), CX
	VMOVUPS vone<>(SB), Y7

geluGradKeptLoop:
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VMULPS  Y0, Y0, Y6           // u²
	VMOVUPS (R9), Y3             // s
	VSUBPS  Y3, Y7, Y8           // 1 − s
	VMULPS  vgeluK3<>(SB), Y6, Y6
	VADDPS  Y7, Y6, Y6           // 1 + 3k·u²
	VMULPS  Y3, Y0, Y0           // u·s
	VMULPS  Y8, Y0, Y0
	VMULPS  Y6, Y0, Y0
	VMULPS  vgeluC2<>(SB), Y0, Y0
	VADDPS  Y3, Y0, Y0
	VMULPS  (R8), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R9
	ADDQ    $32, R8
	SUBQ    $8, CX
	JNZ     geluGradKeptLoop
	VZEROUPPER
	RET

// func expSubAVX2(p *float32, n int, m float32)
// p[i] = e^(p[i] − m) in place.
TEXT ·expSubAVX2(SB), NOSPLIT, $0-20
	MOVQ         p+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Y6

expSubLoop:
	VMOVUPS (DI), Y0
	VSUBPS  Y6, Y0, Y0
	VEXP(Y0, Y1, Y2, Y3)
	VMOVUPS Y2, (DI)
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     expSubLoop
	VZEROUPPER
	RET

// VLIVE sets live to all-ones in the lanes j of the 8 at mask with
// mask[j] ≠ 0 and j < hi (idx holds the lanes' j, hi broadcast, zero 0).
#define VLIVE(mask, idx, hi, zero, live, t) \
	VMOVUPS  (mask), t          \
	VCMPPS   $4, zero, t, live  \
	VPCMPGTD idx, hi, t         \
	VPAND    t, live, live

// func maxLiveAVX2(p, mask *float32, n, hi int) float32
// The largest p[j] over live lanes (see VLIVE), −Inf if there is none.
TEXT ·maxLiveAVX2(SB), NOSPLIT, $0-36
	MOVQ         p+0(FP), DI
	MOVQ         mask+8(FP), SI
	MOVQ         n+16(FP), CX
	VPBROADCASTD hi+24(FP), Y11
	VMOVUPS      vlane<>(SB), Y10
	VXORPS       Y13, Y13, Y13
	VMOVUPS      vnegInf<>(SB), Y9
	VMOVUPS      Y9, Y8

maxLoop:
	VLIVE(SI, Y10, Y11, Y13, Y2, Y3)
	VMOVUPS   (DI), Y0
	VBLENDVPS Y2, Y0, Y9, Y4
	VMAXPS    Y4, Y8, Y8
	VPADDD    veight<>(SB), Y10, Y10
	ADDQ      $32, DI
	ADDQ      $32, SI
	SUBQ      $8, CX
	JNZ       maxLoop
	VEXTRACTF128 $1, Y8, X0
	VMAXPS       X0, X8, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+32(FP)
	RET

// func expNormAVX2(p, mask *float32, n, hi int, m float32)
// p[j] = e^(p[j] − m) / Σ over live lanes, 0 in the others. The sum runs
// in 8 lane partials, folded in a fixed order.
TEXT ·expNormAVX2(SB), NOSPLIT, $0-36
	MOVQ         p+0(FP), DI
	MOVQ         mask+8(FP), SI
	MOVQ         n+16(FP), CX
	VPBROADCASTD hi+24(FP), Y11
	VBROADCASTSS m+32(FP), Y6
	VMOVUPS      vlane<>(SB), Y10
	VXORPS       Y13, Y13, Y13
	VXORPS       Y7, Y7, Y7
	MOVQ         DI, R8
	MOVQ         CX, R9

expNormLoop:
	VLIVE(SI, Y10, Y11, Y13, Y4, Y5)
	VMOVUPS (DI), Y0
	VSUBPS  Y6, Y0, Y0
	VEXP(Y0, Y1, Y2, Y3)
	VANDPS  Y4, Y2, Y2
	VMOVUPS Y2, (DI)
	VADDPS  Y2, Y7, Y7
	VPADDD  veight<>(SB), Y10, Y10
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     expNormLoop
	VEXTRACTF128 $1, Y7, X0
	VADDPS       X0, X7, X0
	VPERMILPS    $0x4e, X0, X1
	VADDPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VADDPS       X1, X0, X0
	VMOVSS       vone<>(SB), X1
	VDIVSS       X0, X1, X1
	VBROADCASTSS X1, Y0

scaleLoop:
	VMULPS  (R8), Y0, Y1
	VMOVUPS Y1, (R8)
	ADDQ    $32, R8
	SUBQ    $8, R9
	JNZ     scaleLoop
	VZEROUPPER
	RET

// func sumColsAVX2(dst *float64, src *float32, rows, ld, n int)
// dst[j] = Σ_r float64(src[r·ld + j]) for j < n (n a positive multiple of
// 16, rows ≥ 1), each column summed in ascending r by double adds, as the
// scalar loop does: bit-identical to it.
TEXT ·sumColsAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ ld+24(FP), R9
	SHLQ $2, R9
	MOVQ n+32(FP), CX

colLoop:
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	MOVQ   SI, AX
	MOVQ   R8, BX

rowLoop:
	VCVTPS2PD (AX), Y4
	VCVTPS2PD 16(AX), Y5
	VCVTPS2PD 32(AX), Y6
	VCVTPS2PD 48(AX), Y7
	VADDPD    Y4, Y0, Y0
	VADDPD    Y5, Y1, Y1
	VADDPD    Y6, Y2, Y2
	VADDPD    Y7, Y3, Y3
	ADDQ      R9, AX
	DECQ      BX
	JNZ       rowLoop
	VMOVUPD   Y0, (DI)
	VMOVUPD   Y1, 32(DI)
	VMOVUPD   Y2, 64(DI)
	VMOVUPD   Y3, 96(DI)
	ADDQ      $128, DI
	ADDQ      $64, SI
	SUBQ      $16, CX
	JNZ       colLoop
	VZEROUPPER
	RET

DATA vnegInf<>+0(SB)/4, $0xff800000
DATA vnegInf<>+4(SB)/4, $0xff800000
DATA vnegInf<>+8(SB)/4, $0xff800000
DATA vnegInf<>+12(SB)/4, $0xff800000
DATA vnegInf<>+16(SB)/4, $0xff800000
DATA vnegInf<>+20(SB)/4, $0xff800000
DATA vnegInf<>+24(SB)/4, $0xff800000
DATA vnegInf<>+28(SB)/4, $0xff800000
GLOBL vnegInf<>(SB), RODATA|NOPTR, $32

DATA veight<>+0(SB)/4, $0x00000008
DATA veight<>+4(SB)/4, $0x00000008
DATA veight<>+8(SB)/4, $0x00000008
DATA veight<>+12(SB)/4, $0x00000008
DATA veight<>+16(SB)/4, $0x00000008
DATA veight<>+20(SB)/4, $0x00000008
DATA veight<>+24(SB)/4, $0x00000008
DATA veight<>+28(SB)/4, $0x00000008
GLOBL veight<>(SB), RODATA|NOPTR, $32

DATA vlane<>+0(SB)/4, $0x00000000
DATA vlane<>+4(SB)/4, $0x00000001
DATA vlane<>+8(SB)/4, $0x00000002
DATA vlane<>+12(SB)/4, $0x00000003
DATA vlane<>+16(SB)/4, $0x00000004
DATA vlane<>+20(SB)/4, $0x00000005
DATA vlane<>+24(SB)/4, $0x00000006
DATA vlane<>+28(SB)/4, $0x00000007
GLOBL vlane<>(SB), RODATA|NOPTR, $32

DATA vexpHi<>+0(SB)/4, $0x42a00000
DATA vexpHi<>+4(SB)/4, $0x42a00000
DATA vexpHi<>+8(SB)/4, $0x42a00000
DATA vexpHi<>+12(SB)/4, $0x42a00000
DATA vexpHi<>+16(SB)/4, $0x42a00000
DATA vexpHi<>+20(SB)/4, $0x42a00000
DATA vexpHi<>+24(SB)/4, $0x42a00000
DATA vexpHi<>+28(SB)/4, $0x42a00000
GLOBL vexpHi<>(SB), RODATA|NOPTR, $32

DATA vexpLo<>+0(SB)/4, $0xc2ae0000
DATA vexpLo<>+4(SB)/4, $0xc2ae0000
DATA vexpLo<>+8(SB)/4, $0xc2ae0000
DATA vexpLo<>+12(SB)/4, $0xc2ae0000
DATA vexpLo<>+16(SB)/4, $0xc2ae0000
DATA vexpLo<>+20(SB)/4, $0xc2ae0000
DATA vexpLo<>+24(SB)/4, $0xc2ae0000
DATA vexpLo<>+28(SB)/4, $0xc2ae0000
GLOBL vexpLo<>(SB), RODATA|NOPTR, $32

DATA vexpLog2e<>+0(SB)/4, $0x3fb8aa3b
DATA vexpLog2e<>+4(SB)/4, $0x3fb8aa3b
DATA vexpLog2e<>+8(SB)/4, $0x3fb8aa3b
DATA vexpLog2e<>+12(SB)/4, $0x3fb8aa3b
DATA vexpLog2e<>+16(SB)/4, $0x3fb8aa3b
DATA vexpLog2e<>+20(SB)/4, $0x3fb8aa3b
DATA vexpLog2e<>+24(SB)/4, $0x3fb8aa3b
DATA vexpLog2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL vexpLog2e<>(SB), RODATA|NOPTR, $32

DATA vexpC1<>+0(SB)/4, $0x3f318000
DATA vexpC1<>+4(SB)/4, $0x3f318000
DATA vexpC1<>+8(SB)/4, $0x3f318000
DATA vexpC1<>+12(SB)/4, $0x3f318000
DATA vexpC1<>+16(SB)/4, $0x3f318000
DATA vexpC1<>+20(SB)/4, $0x3f318000
DATA vexpC1<>+24(SB)/4, $0x3f318000
DATA vexpC1<>+28(SB)/4, $0x3f318000
GLOBL vexpC1<>(SB), RODATA|NOPTR, $32

DATA vexpC2<>+0(SB)/4, $0xb95e8083
DATA vexpC2<>+4(SB)/4, $0xb95e8083
DATA vexpC2<>+8(SB)/4, $0xb95e8083
DATA vexpC2<>+12(SB)/4, $0xb95e8083
DATA vexpC2<>+16(SB)/4, $0xb95e8083
DATA vexpC2<>+20(SB)/4, $0xb95e8083
DATA vexpC2<>+24(SB)/4, $0xb95e8083
DATA vexpC2<>+28(SB)/4, $0xb95e8083
GLOBL vexpC2<>(SB), RODATA|NOPTR, $32

DATA vexpP0<>+0(SB)/4, $0x39506967
DATA vexpP0<>+4(SB)/4, $0x39506967
DATA vexpP0<>+8(SB)/4, $0x39506967
DATA vexpP0<>+12(SB)/4, $0x39506967
DATA vexpP0<>+16(SB)/4, $0x39506967
DATA vexpP0<>+20(SB)/4, $0x39506967
DATA vexpP0<>+24(SB)/4, $0x39506967
DATA vexpP0<>+28(SB)/4, $0x39506967
GLOBL vexpP0<>(SB), RODATA|NOPTR, $32

DATA vexpP1<>+0(SB)/4, $0x3ab743ce
DATA vexpP1<>+4(SB)/4, $0x3ab743ce
DATA vexpP1<>+8(SB)/4, $0x3ab743ce
DATA vexpP1<>+12(SB)/4, $0x3ab743ce
DATA vexpP1<>+16(SB)/4, $0x3ab743ce
DATA vexpP1<>+20(SB)/4, $0x3ab743ce
DATA vexpP1<>+24(SB)/4, $0x3ab743ce
DATA vexpP1<>+28(SB)/4, $0x3ab743ce
GLOBL vexpP1<>(SB), RODATA|NOPTR, $32

DATA vexpP2<>+0(SB)/4, $0x3c088908
DATA vexpP2<>+4(SB)/4, $0x3c088908
DATA vexpP2<>+8(SB)/4, $0x3c088908
DATA vexpP2<>+12(SB)/4, $0x3c088908
DATA vexpP2<>+16(SB)/4, $0x3c088908
DATA vexpP2<>+20(SB)/4, $0x3c088908
DATA vexpP2<>+24(SB)/4, $0x3c088908
DATA vexpP2<>+28(SB)/4, $0x3c088908
GLOBL vexpP2<>(SB), RODATA|NOPTR, $32

DATA vexpP3<>+0(SB)/4, $0x3d2aa9c1
DATA vexpP3<>+4(SB)/4, $0x3d2aa9c1
DATA vexpP3<>+8(SB)/4, $0x3d2aa9c1
DATA vexpP3<>+12(SB)/4, $0x3d2aa9c1
DATA vexpP3<>+16(SB)/4, $0x3d2aa9c1
DATA vexpP3<>+20(SB)/4, $0x3d2aa9c1
DATA vexpP3<>+24(SB)/4, $0x3d2aa9c1
DATA vexpP3<>+28(SB)/4, $0x3d2aa9c1
GLOBL vexpP3<>(SB), RODATA|NOPTR, $32

DATA vexpP4<>+0(SB)/4, $0x3e2aaaaa
DATA vexpP4<>+4(SB)/4, $0x3e2aaaaa
DATA vexpP4<>+8(SB)/4, $0x3e2aaaaa
DATA vexpP4<>+12(SB)/4, $0x3e2aaaaa
DATA vexpP4<>+16(SB)/4, $0x3e2aaaaa
DATA vexpP4<>+20(SB)/4, $0x3e2aaaaa
DATA vexpP4<>+24(SB)/4, $0x3e2aaaaa
DATA vexpP4<>+28(SB)/4, $0x3e2aaaaa
GLOBL vexpP4<>(SB), RODATA|NOPTR, $32

DATA vexpP5<>+0(SB)/4, $0x3f000000
DATA vexpP5<>+4(SB)/4, $0x3f000000
DATA vexpP5<>+8(SB)/4, $0x3f000000
DATA vexpP5<>+12(SB)/4, $0x3f000000
DATA vexpP5<>+16(SB)/4, $0x3f000000
DATA vexpP5<>+20(SB)/4, $0x3f000000
DATA vexpP5<>+24(SB)/4, $0x3f000000
DATA vexpP5<>+28(SB)/4, $0x3f000000
GLOBL vexpP5<>(SB), RODATA|NOPTR, $32

DATA vone<>+0(SB)/4, $0x3f800000
DATA vone<>+4(SB)/4, $0x3f800000
DATA vone<>+8(SB)/4, $0x3f800000
DATA vone<>+12(SB)/4, $0x3f800000
DATA vone<>+16(SB)/4, $0x3f800000
DATA vone<>+20(SB)/4, $0x3f800000
DATA vone<>+24(SB)/4, $0x3f800000
DATA vone<>+28(SB)/4, $0x3f800000
GLOBL vone<>(SB), RODATA|NOPTR, $32

DATA vbias127<>+0(SB)/4, $0x0000007f
DATA vbias127<>+4(SB)/4, $0x0000007f
DATA vbias127<>+8(SB)/4, $0x0000007f
DATA vbias127<>+12(SB)/4, $0x0000007f
DATA vbias127<>+16(SB)/4, $0x0000007f
DATA vbias127<>+20(SB)/4, $0x0000007f
DATA vbias127<>+24(SB)/4, $0x0000007f
DATA vbias127<>+28(SB)/4, $0x0000007f
GLOBL vbias127<>(SB), RODATA|NOPTR, $32

DATA vgeluK<>+0(SB)/4, $0x3d372713
DATA vgeluK<>+4(SB)/4, $0x3d372713
DATA vgeluK<>+8(SB)/4, $0x3d372713
DATA vgeluK<>+12(SB)/4, $0x3d372713
DATA vgeluK<>+16(SB)/4, $0x3d372713
DATA vgeluK<>+20(SB)/4, $0x3d372713
DATA vgeluK<>+24(SB)/4, $0x3d372713
DATA vgeluK<>+28(SB)/4, $0x3d372713
GLOBL vgeluK<>(SB), RODATA|NOPTR, $32

DATA vgeluK3<>+0(SB)/4, $0x3e095d4f
DATA vgeluK3<>+4(SB)/4, $0x3e095d4f
DATA vgeluK3<>+8(SB)/4, $0x3e095d4f
DATA vgeluK3<>+12(SB)/4, $0x3e095d4f
DATA vgeluK3<>+16(SB)/4, $0x3e095d4f
DATA vgeluK3<>+20(SB)/4, $0x3e095d4f
DATA vgeluK3<>+24(SB)/4, $0x3e095d4f
DATA vgeluK3<>+28(SB)/4, $0x3e095d4f
GLOBL vgeluK3<>(SB), RODATA|NOPTR, $32

DATA vgeluM2C<>+0(SB)/4, $0xbfcc422a
DATA vgeluM2C<>+4(SB)/4, $0xbfcc422a
DATA vgeluM2C<>+8(SB)/4, $0xbfcc422a
DATA vgeluM2C<>+12(SB)/4, $0xbfcc422a
DATA vgeluM2C<>+16(SB)/4, $0xbfcc422a
DATA vgeluM2C<>+20(SB)/4, $0xbfcc422a
DATA vgeluM2C<>+24(SB)/4, $0xbfcc422a
DATA vgeluM2C<>+28(SB)/4, $0xbfcc422a
GLOBL vgeluM2C<>(SB), RODATA|NOPTR, $32

DATA vgeluC2<>+0(SB)/4, $0x3fcc422a
DATA vgeluC2<>+4(SB)/4, $0x3fcc422a
DATA vgeluC2<>+8(SB)/4, $0x3fcc422a
DATA vgeluC2<>+12(SB)/4, $0x3fcc422a
DATA vgeluC2<>+16(SB)/4, $0x3fcc422a
DATA vgeluC2<>+20(SB)/4, $0x3fcc422a
DATA vgeluC2<>+24(SB)/4, $0x3fcc422a
DATA vgeluC2<>+28(SB)/4, $0x3fcc422a
GLOBL vgeluC2<>(SB), RODATA|NOPTR, $32
