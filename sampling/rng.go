package sampling

// Purposes separate the random streams of the sampler's different draws, so
// that equal (seed, step) keys never give correlated numbers. Keys are
// rng.Key(seed, purpose, ...), the same definition as policy/objective's.
const (
	purposeEpoch    uint64 = 0x65706f63 // "epoc": the permutation of one epoch
	purposeWeighted uint64 = 0x76707377 // "vpsw": the VPS-weighted draws of one Next call
)
