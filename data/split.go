package data

import (
	"fmt"
	"strings"
)

// Split names a dataset split.
type Split string

// Splits. SplitAll is every row; SplitTrain and SplitTest partition rows
// either by the dataset's shipped files or by IsHeldOut.
const (
	SplitAll   Split = "all"
	SplitTrain Split = "train"
	SplitTest  Split = "test"
)

// ParseSplit accepts "", "all", "train", "test" (also "eval", "heldout" for
// test); "" yields def.
func ParseSplit(s string, def Split) (Split, error) {
	switch strings.ToLower(s) {
	case "":
		return def, nil
	case "all":
		return SplitAll, nil
	case "train":
		return SplitTrain, nil
	case "test", "eval", "heldout":
		return SplitTest, nil
	}
	return "", fmt.Errorf("data: unknown split %q (want train, test or all)", s)
}

// IsHeldOut reports whether the prompt with id belongs to the held-out split
// of a dataset split by hashing: a SplitMix64 finalizer of id mapped to
// [0,1) and compared with frac. It depends on the id only — not on seeds,
// order or worker count — so rows with equal ids (for generated tasks:
// equal prompt text) always land on the same side and the splits never
// overlap.
func IsHeldOut(id uint64, frac float64) bool {
	return unitFloat(mix64(id^0x5bd1e9955bd1e995)) < frac
}

// inSplit reports whether id belongs to split s.
func inSplit(id uint64, s Split, frac float64) bool {
	switch s {
	case SplitTrain:
		return !IsHeldOut(id, frac)
	case SplitTest:
		return IsHeldOut(id, frac)
	}
	return true
}

// mix64 is the SplitMix64 finalizer.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func unitFloat(u uint64) float64 { return float64(u>>11) / (1 << 53) }

// rng is a SplitMix64 stream; each generated example gets its own stream
// derived from (seed, task, index), so examples do not depend on each other.
type rng struct{ s uint64 }

func newRNG(seed uint64, purpose string, index uint64) *rng {
	return &rng{s: mix64(seed^PromptID(purpose, "")) ^ mix64(index+0x9e3779b97f4a7c15)}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// intn returns a uniform int in [0, n); n must be > 0.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a uniform int in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }
