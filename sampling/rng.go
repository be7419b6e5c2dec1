package sampling

import "math/bits"

// Purposes separate the random streams of the sampler's different draws, so
// that equal (seed, step) keys never give correlated numbers.
const (
	purposeEpoch    uint64 = 0x65706f63 // "epoc": the permutation of one epoch
	purposeWeighted uint64 = 0x76707377 // "vpsw": the VPS-weighted draws of one Next call
)

const golden64 = 0x9e3779b97f4a7c15

// mix64 is the SplitMix64 finaliser (Steele, Lea, Flood 2014), a bijective
// avalanche of a 64-bit word.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// streamKey hashes a seed and ids into a stream key:
//
//	h₀ = mix64(seed + γ);  h_{j+1} = mix64(h_j ⊕ (id_j + (j+1)·γ)),  γ = 0x9e3779b97f4a7c15
//
// It is the same definition as policy/objective.Key, so the project has one
// documented splittable RNG. Changing it changes every pick of every run.
func streamKey(seed uint64, ids ...uint64) uint64 {
	h := mix64(seed + golden64)
	for j, id := range ids {
		h = mix64(h ^ (id + uint64(j+1)*golden64))
	}
	return h
}

// stream is a SplitMix64 generator started at a streamKey. Not safe for
// concurrent use; copying forks it.
type stream struct{ state uint64 }

func (s *stream) uint64() uint64 {
	s.state += golden64
	return mix64(s.state)
}

// intn returns a uniform integer in [0, n), n > 0, without modulo bias
// (Lemire's multiply-shift with rejection).
func (s *stream) intn(n int) int {
	bound := uint64(n)
	threshold := -bound % bound
	for {
		hi, lo := bits.Mul64(s.uint64(), bound)
		if lo >= threshold {
			return int(hi)
		}
	}
}

// float64 returns a uniform float64 in [0, 1) with 53 random bits.
func (s *stream) float64() float64 {
	return float64(s.uint64()>>11) / (1 << 53)
}
