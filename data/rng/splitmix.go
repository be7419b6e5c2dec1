package rng

// Gamma is SplitMix64's increment, 2⁶⁴/φ rounded to odd: a stream's state
// advances by Gamma per draw, and the derivations add multiples of it to
// keep equal inputs in different roles apart.
const Gamma uint64 = 0x9e3779b97f4a7c15

// Finalize is SplitMix64's output function without the increment (David
// Stafford's Mix13 variant of MurmurHash3's fmix64): a bijective avalanche
// of a 64-bit word, so distinct inputs never collide.
// Finalize(0) = 0. It is what data, sampling and policy/objective called
// mix64.
func Finalize(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// SplitMix64 is one SplitMix64 step used as a stateless hash:
// Finalize(x + Gamma), the first value of NewStream(x). It is what rollout,
// rollouttest and openaiserver called mix, policy called splitMix and
// pipeline called mix64. It is a bijection; SplitMix64(0) ≠ 0.
func SplitMix64(x uint64) uint64 { return Finalize(x + Gamma) }

// Key hashes a seed and a list of ids into a stream key:
//
//	h₀ = Finalize(seed + γ);  h_{j+1} = Finalize(h_j ⊕ (id_j + (j+1)·γ)),  γ = Gamma
//
// Adding (j+1)·γ makes the position of each id matter, so Key(s, 1, 2) ≠
// Key(s, 2, 1). It was policy/objective.Key and sampling's streamKey; every
// mask, stratified count, mini-batch shuffle, epoch permutation and VAS
// draw derives from it, so changing it changes every run. Key does not
// allocate when its ids do not escape the caller (the usual literal list).
func Key(seed uint64, ids ...uint64) uint64 {
	h := Finalize(seed + Gamma)
	for j, id := range ids {
		h = Finalize(h ^ (id + uint64(j+1)*Gamma))
	}
	return h
}

// Derive hashes a child value into a parent seed:
// SplitMix64(parent ⊕ SplitMix64(child)). It is the combinator the older
// per-site derivations below were written with; new code should prefer
// [Key], whose ids are position-aware and which takes any number of them.
func Derive(parent, child uint64) uint64 { return SplitMix64(parent ^ SplitMix64(child)) }

// UnitFloat maps the top 53 bits of u to a float64 in [0, 1): every value
// is a multiple of 2⁻⁵³ and all are equally likely.
func UnitFloat(u uint64) float64 { return float64(u>>11) / (1 << 53) }
