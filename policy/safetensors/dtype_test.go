package safetensors

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHalfWideningRoundTrips checks, for every 16-bit pattern, that
// widening to float32 and rounding back is the identity (NaNs stay NaN),
// so both directions agree on all subnormals, zeros, infinities and
// finite values.
func TestHalfWideningRoundTrips(t *testing.T) {
	tests := []struct {
		name   string
		widen  func(uint16) float32
		narrow func(float32) uint16
		isNaN  func(uint16) bool
	}{
		{"F16", F16ToFloat32, Float32ToF16, func(h uint16) bool { return h&0x7C00 == 0x7C00 && h&0x3FF != 0 }},
		{"BF16", BF16ToFloat32, Float32ToBF16, func(h uint16) bool { return h&0x7F80 == 0x7F80 && h&0x7F != 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" widens and narrows every pattern back to itself", func(t *testing.T) {
			for i := range 1 << 16 {
				h := uint16(i)
				f := tt.widen(h)
				if tt.isNaN(h) {
					if f == f || !tt.isNaN(tt.narrow(f)) {
						t.Fatalf("NaN %#04x widened to %v, narrowed to %#04x", h, f, tt.narrow(f))
					}
					continue
				}
				if back := tt.narrow(f); back != h {
					t.Fatalf("%#04x -> %v (%#08x) -> %#04x", h, f, math.Float32bits(f), back)
				}
			}
		})
	}
}

func TestF16KnownValues(t *testing.T) {
	tests := []struct {
		h    uint16
		want float64
	}{
		{0x0001, math.Ldexp(1, -24)}, // smallest subnormal
		{0x03FF, math.Ldexp(1023, -24)},
		{0x0400, math.Ldexp(1, -14)}, // smallest normal
		{0x3C00, 1},
		{0xC000, -2},
		{0x7BFF, 65504},
		{0x3555, 0.333251953125},
		{0x7C00, math.Inf(1)},
		{0xFC00, math.Inf(-1)},
	}
	for _, tt := range tests {
		if got := F16ToFloat32(tt.h); float64(got) != tt.want {
			t.Errorf("F16ToFloat32(%#04x) = %v, want %v", tt.h, got, tt.want)
		}
	}
	if got := math.Float32bits(F16ToFloat32(0x8000)); got != 0x80000000 {
		t.Errorf("F16ToFloat32(-0) = %#08x, want -0", got)
	}
}

// TestNarrowingRoundsToNearestEven checks, on random float32 bit patterns,
// that each narrowed value is the nearest representable one, ties going to
// the even pattern, by comparing distances in float64 with its
// neighbours; out-of-range values must give infinity.
func TestNarrowingRoundsToNearestEven(t *testing.T) {
	tests := []struct {
		name   string
		widen  func(uint16) float32
		narrow func(float32) uint16
		max    float64 // largest finite value
		inf    uint16
	}{
		{"F16", F16ToFloat32, Float32ToF16, 65504, 0x7C00},
		{"BF16", BF16ToFloat32, Float32ToBF16, float64(math.Float32frombits(0x7F7F0000)), 0x7F80},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 200_000 {
				x := math.Float32frombits(r.Uint32())
				if x != x {
					continue
				}
				// Bias towards the F16 range half of the time.
				if r.IntN(2) == 0 {
					x = float32(math.Ldexp(float64(x)/math.Pow(2, float64(math.Ilogb(float64(x)))), r.IntN(44)-28))
				}
				if x != x {
					continue // an infinity scaled by itself
				}
				checkNearest(t, x, tt.narrow(x), tt.widen, tt.inf)
			}
		})
	}
}

// checkNearest fails unless h is x rounded to nearest even among the
// patterns of the format widen decodes.
func checkNearest(t *testing.T, x float32, h uint16, widen func(uint16) float32, inf uint16) {
	t.Helper()
	sign := h & 0x8000
	mag := h &^ 0x8000
	if (x < 0) != (sign != 0) && x != 0 {
		t.Fatalf("%v narrowed to %#04x with the wrong sign", x, h)
	}
	got := math.Abs(float64(widen(h)))
	ax := math.Abs(float64(x))
	d := math.Abs(got - ax)
	// The magnitude below (mag-1) and above (mag+1) must be no closer, and
	// on a tie mag must be even. Infinity stands for the overflow step.
	for _, n := range []uint16{mag - 1, mag + 1} {
		if mag == 0 && n == mag-1 || n > inf {
			continue
		}
		other := math.Abs(float64(widen(n)))
		if n == inf {
			// The step past the largest finite value acts as the next
			// grid point: max + ulp(max).
			prev := math.Abs(float64(widen(inf - 1)))
			other = prev + (prev - math.Abs(float64(widen(inf-2))))
		}
		od := math.Abs(other - ax)
		if mag == inf {
			// Infinity is right only when x is at or past the midpoint.
			prev := math.Abs(float64(widen(inf - 1)))
			mid := prev + (prev-math.Abs(float64(widen(inf-2))))/2
			if ax < mid {
				t.Fatalf("%v (%#08x) narrowed to infinity below the midpoint %v", x, math.Float32bits(x), mid)
			}
			return
		}
		if od < d || (od == d && mag&1 == 1) {
			t.Fatalf("%v (%#08x) narrowed to %#04x (%v), but %#04x (%v) is nearer or an even tie", x, math.Float32bits(x), h, widen(h), n, other)
		}
	}
}
