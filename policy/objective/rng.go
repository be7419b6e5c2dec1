package objective

import "math/bits"

// Purposes separate the random streams of different uses of the same ids, so
// that e.g. a mini-batch shuffle and a mask draw keyed by equal numbers never
// coincide.
const (
	purposeMask       uint64 = 0x6d61736b // "mask"
	purposeStratified uint64 = 0x73747261 // "stra"
	purposePrompt     uint64 = 0x70726f6d // "prom"
	purposeCycle      uint64 = 0x6379636c // "cycl"
	purposeShuffle    uint64 = 0x73687566 // "shuf"
)

const golden64 = 0x9e3779b97f4a7c15

// mix64 is the SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective
// avalanche of a 64-bit word.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// Key hashes a seed and a list of ids into a stream key:
//
//	h₀ = mix64(seed + γ);  h_{j+1} = mix64(h_j ⊕ (id_j + (j+1)·γ))
//
// with γ = 0x9e3779b97f4a7c15. Adding (j+1)·γ makes the position of each id
// matter, so Key(s, 1, 2) ≠ Key(s, 2, 1). Key is the documented, stable
// definition every random draw of this package derives from; changing it
// changes every mask and shuffle.
func Key(seed uint64, ids ...uint64) uint64 {
	h := mix64(seed + golden64)
	for j, id := range ids {
		h = mix64(h ^ (id + uint64(j+1)*golden64))
	}
	return h
}

// Stream is a SplitMix64 generator. The zero value is a valid stream with
// key 0. It is a value type: copying it forks the sequence. Not safe for
// concurrent use.
type Stream struct{ state uint64 }

// NewStream returns the stream whose state starts at key (usually a [Key]).
func NewStream(key uint64) Stream { return Stream{state: key} }

// Uint64 returns the next 64 random bits.
func (s *Stream) Uint64() uint64 {
	s.state += golden64
	return mix64(s.state)
}

// Intn returns a uniform integer in [0, n) without modulo bias (Lemire's
// multiply-shift with rejection). It panics if n <= 0.
func (s *Stream) Intn(n int) int {
	if n <= 0 {
		panic("objective: Stream.Intn with n <= 0")
	}
	bound := uint64(n)
	threshold := -bound % bound
	for {
		hi, lo := bits.Mul64(s.Uint64(), bound)
		if lo >= threshold {
			return int(hi)
		}
	}
}

// Float64 returns a uniform float64 in [0, 1) with 53 random bits.
func (s *Stream) Float64() float64 {
	return float64(s.Uint64()>>11) / (1 << 53)
}
