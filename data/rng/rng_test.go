package rng_test

import (
	"fmt"
	"math/bits"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng"
	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// unfinalize inverts rng.Finalize: each xorshift is undone by repeating it
// until the shifted bits run out, each odd multiplier by its inverse mod
// 2⁶⁴. It exists to prove Finalize a bijection, which is what makes keys
// of distinct inputs distinct.
func unfinalize(z uint64) uint64 {
	z = unxorshift(z, 31)
	z *= inverse(0x94d049bb133111eb)
	z = unxorshift(z, 27)
	z *= inverse(0xbf58476d1ce4e5b9)
	return unxorshift(z, 30)
}

func unxorshift(z uint64, k uint) uint64 {
	x := z
	for s := k; s < 64; s += k {
		x = z ^ x>>k
	}
	return x
}

// inverse returns a⁻¹ mod 2⁶⁴ for odd a by Newton's iteration, which
// doubles the number of correct low bits each step.
func inverse(a uint64) uint64 {
	x := a // correct to 3 bits for odd a
	for range 5 {
		x *= 2 - a*x
	}
	return x
}

func TestFinalizeIsABijection(t *testing.T) {
	for _, x := range rngtest.Words(1000) {
		if got := unfinalize(rng.Finalize(x)); got != x {
			t.Fatalf("unfinalize(Finalize(%#x)) = %#x", x, got)
		}
	}
}

func FuzzFinalizeIsABijection(f *testing.F) {
	for _, x := range rngtest.Words(16) {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x uint64) {
		if got := unfinalize(rng.Finalize(x)); got != x {
			t.Fatalf("unfinalize(Finalize(%#x)) = %#x", x, got)
		}
	})
}

// FuzzStreamIsRandomAccess checks the identities the package documents:
// draw n of NewStream(key) is Finalize(key + n·Gamma), the first draw is
// SplitMix64(key), Intn stays in range and Float64 in [0, 1).
func FuzzStreamIsRandomAccess(f *testing.F) {
	f.Add(uint64(0), uint8(0), 1)
	f.Add(^uint64(0), uint8(40), 7)
	f.Add(rng.Gamma, uint8(255), 1<<40)
	f.Fuzz(func(t *testing.T, key uint64, n uint8, bound int) {
		s := rng.NewStream(key)
		if first := s; first.Uint64() != rng.SplitMix64(key) {
			t.Fatalf("first draw of NewStream(%#x) is not SplitMix64(key)", key)
		}
		for range n {
			s.Uint64()
		}
		probe := s
		if got, want := probe.Uint64(), rng.Finalize(key+(uint64(n)+1)*rng.Gamma); got != want {
			t.Fatalf("draw %d of NewStream(%#x) = %#x, want %#x", int(n)+1, key, got, want)
		}
		if bound > 0 {
			if v := s.Intn(bound); v < 0 || v >= bound {
				t.Fatalf("Intn(%d) = %d", bound, v)
			}
		}
		if u := s.Float64(); u < 0 || u >= 1 {
			t.Fatalf("Float64() = %v", u)
		}
	})
}

func TestKey(t *testing.T) {
	t.Run("the position of each id matters", func(t *testing.T) {
		w := rngtest.Words(32)
		for i := 0; i+2 < len(w); i++ {
			a, b := w[i+1], w[i+2]
			if rng.Key(w[i], a, b) == rng.Key(w[i], b, a) {
				t.Errorf("Key(%#x, a, b) == Key(%#x, b, a) for a=%#x b=%#x", w[i], w[i], a, b)
			}
		}
	})
	t.Run("a key of no ids is the finalised seed", func(t *testing.T) {
		if rng.Key(7) != rng.SplitMix64(7) {
			t.Error("Key(7) != SplitMix64(7)")
		}
	})
	t.Run("a trailing zero id still changes the key", func(t *testing.T) {
		if rng.Key(7, 1) == rng.Key(7, 1, 0) {
			t.Error("Key(7, 1) == Key(7, 1, 0)")
		}
	})
}

func TestIntn(t *testing.T) {
	t.Run("small bounds are close to uniform", func(t *testing.T) {
		s := rng.NewStream(rng.Key(1))
		const n, draws = 6, 60000
		var counts [n]int
		for range draws {
			counts[s.Intn(n)]++
		}
		// Each count is Binomial(60000, 1/6): sd ≈ 91, so 5 sd is ±456.
		for v, c := range counts {
			if c < draws/n-456 || c > draws/n+456 {
				t.Errorf("value %d drawn %d times of %d", v, c, draws)
			}
		}
	})
	t.Run("a bound of zero panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("Intn(0) did not panic")
			}
		}()
		s := rng.NewStream(0)
		s.Intn(0)
	})
}

func TestUnitFloatUsesTheTop53Bits(t *testing.T) {
	if got := rng.UnitFloat(^uint64(0)); got != 1-0x1p-53 {
		t.Errorf("UnitFloat(max) = %v, want 1 − 2⁻⁵³", got)
	}
	if got := rng.UnitFloat(1<<11 - 1); got != 0 {
		t.Errorf("UnitFloat(2¹¹ − 1) = %v, want 0", got)
	}
}

func TestGammaIsOddAndGolden(t *testing.T) {
	if rng.Gamma&1 == 0 || bits.OnesCount64(rng.Gamma) < 24 {
		t.Errorf("Gamma %#x is not an odd, well-mixed increment", rng.Gamma)
	}
}

// Example shows the documented way to draw: derive a key from the run seed
// and the ids that make the draw unique, then read a stream.
func Example() {
	const seed, step, promptID, purpose = 42, 3, 1001, 0x6d61736b // "mask"
	s := rng.NewStream(rng.Key(seed, purpose, step, promptID))
	fmt.Println(s.Intn(10), s.Intn(10), s.Float64() < 1)
	// Output: 3 0 true
}
