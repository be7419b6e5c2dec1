package safetensors

import (
	"fmt"
	"math"
)

// Dtype is a safetensors element type as spelled in the header ("F32",
// "BF16", ...).
type Dtype string

// The element types rlpipe converts to and from float32.
const (
	F32  Dtype = "F32"
	F16  Dtype = "F16"
	BF16 Dtype = "BF16"
	F64  Dtype = "F64"
)

// Integer and boolean element types that checkpoints carry next to the
// weights (position ids, masks, quantisation tables); Open accepts them,
// ReadFloat32 refuses them.
const (
	I64  Dtype = "I64"
	I32  Dtype = "I32"
	U8   Dtype = "U8"
	BOOL Dtype = "BOOL"
)

// dtypeBits holds the width in bits of every dtype the reference
// implementation defines, so a header using one of them parses (and
// errors can name it) even when rlpipe cannot convert its values.
var dtypeBits = map[Dtype]int64{
	"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
	"I16": 16, "U16": 16, F16: 16, BF16: 16,
	"I32": 32, "U32": 32, F32: 32,
	F64: 64, "I64": 64, "U64": 64, "C64": 64,
	"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

// Bits returns the width of one element in bits and whether d is a dtype
// of the safetensors format at all.
func (d Dtype) Bits() (int64, bool) {
	b, ok := dtypeBits[d]
	return b, ok
}

// IsFloat reports whether ReadFloat32 converts d (F32, F16, BF16, F64).
func (d Dtype) IsFloat() bool {
	switch d {
	case F32, F16, BF16, F64:
		return true
	}
	return false
}

// byteSize returns the number of bytes a tensor of dtype d and the given
// shape occupies, refusing negative dimensions, overflow and sub-byte
// tensors that do not end on a byte boundary.
func byteSize(d Dtype, shape []int) (int64, error) {
	bits, ok := d.Bits()
	if !ok {
		return 0, fmt.Errorf("unknown dtype %q", string(d))
	}
	n, err := numel(shape)
	if err != nil {
		return 0, err
	}
	if int64(n) > math.MaxInt64/bits {
		return 0, fmt.Errorf("shape %v of %s overflows", shape, d)
	}
	if int64(n)*bits%8 != 0 {
		return 0, fmt.Errorf("shape %v of %s does not fill whole bytes", shape, d)
	}
	return int64(n) * bits / 8, nil
}

// BF16ToFloat32 widens a bfloat16 bit pattern exactly: bfloat16 is the top
// half of a float32, so this is a shift (NaN payloads are kept as is, like
// torch's .float()).
func BF16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// Float32ToBF16 rounds f to the nearest bfloat16, ties to even, as torch
// does; infinities stay infinite, values past the largest bfloat16 round to
// infinity, and every NaN becomes the quiet NaN 0x7FC0.
func Float32ToBF16(f float32) uint16 {
	if f != f {
		return 0x7FC0
	}
	u := math.Float32bits(f)
	return uint16((u + 0x7FFF + (u>>16)&1) >> 16)
}

// F16ToFloat32 widens an IEEE half-precision bit pattern exactly, including
// subnormals, signed zeros and infinities. NaNs keep their sign and payload
// and come out quiet, as the hardware conversion torch uses makes them.
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1F
	mant := uint32(h & 0x3FF)
	switch {
	case exp == 0x1F && mant == 0:
		return math.Float32frombits(sign | 0x7F800000)
	case exp == 0x1F:
		return math.Float32frombits(sign | 0x7FC00000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// Subnormal: mant * 2^-24. Normalise so the leading one becomes
		// the implicit bit of a float32.
		e := uint32(113)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3FF)<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// Float32ToF16 rounds f to the nearest IEEE half, ties to even: values past
// the largest half (65504, plus half an ulp) become infinity, tiny values
// underflow gradually through the subnormals to signed zero, and NaNs
// become the quiet NaN 0x7E00 with f's sign, as torch does.
func Float32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xFF
	mant := b & 0x7FFFFF
	if exp == 0xFF {
		if mant != 0 {
			return sign | 0x7E00
		}
		return sign | 0x7C00
	}
	e := exp - 127 + 15 // biased half exponent
	switch {
	case e >= 0x1F:
		return sign | 0x7C00
	case e <= 0:
		if e < -10 {
			return sign // below half the smallest subnormal
		}
		// The result counts units of 2^-24; the full significand m is
		// worth m * 2^(exp-150), so it is shifted right by 14-e.
		m := mant | 0x800000
		shift := uint32(14 - e)
		return sign | uint16(roundShift(m, shift))
	}
	// A carry out of the mantissa bumps the exponent, which is exactly
	// right, including the overflow of 65520 and above into infinity.
	return sign | uint16(roundShift(uint32(e)<<23|mant, 13))
}

// roundShift returns v >> s rounded to nearest, ties to even (0 < s < 32).
func roundShift(v, s uint32) uint32 {
	q := v >> s
	rem := v & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}
