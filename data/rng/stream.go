package rng

import "math/bits"

// Stream is a SplitMix64 generator. The zero value is a valid stream with
// key 0. It is a value type: copying it forks the sequence, and saving its
// key plus the number of draws is enough to resume it (draw n is
// Finalize(key + n·Gamma)). Not safe for concurrent use.
type Stream struct{ state uint64 }

// NewStream returns the stream whose state starts at key (usually a
// [Key]); its first value is SplitMix64(key).
func NewStream(key uint64) Stream { return Stream{state: key} }

// Uint64 returns the next 64 random bits.
func (s *Stream) Uint64() uint64 {
	s.state += Gamma
	return Finalize(s.state)
}

// Intn returns a uniform integer in [0, n) without modulo bias (Lemire's
// multiply-shift with rejection, "Fast random integer generation in an
// interval", 2019): one draw except with probability < n/2⁶⁴. It panics if
// n <= 0.
func (s *Stream) Intn(n int) int {
	if n <= 0 {
		panic("rng: Stream.Intn with n <= 0")
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
func (s *Stream) Float64() float64 { return UnitFloat(s.Uint64()) }
