package objective

import "github.com/rlpipe/rlpipe/data/rng"

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

// Key hashes a seed and a list of ids into a stream key; it is [rng.Key],
// the documented, stable definition every random draw of this package
// derives from (changing it changes every mask and shuffle). It stays in
// this package's API so that callers keying masks and ELBO draws need no
// second import.
func Key(seed uint64, ids ...uint64) uint64 { return rng.Key(seed, ids...) }

// Stream is [rng.Stream], the project's one SplitMix64 generator: a value
// type (copying forks the sequence) whose zero value is a valid stream
// with key 0. Not safe for concurrent use.
type Stream = rng.Stream

// NewStream returns the stream whose state starts at key (usually a
// [Key]); it is [rng.NewStream].
func NewStream(key uint64) Stream { return rng.NewStream(key) }
