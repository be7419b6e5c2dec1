package data

import (
	"fmt"
	"strings"

	"github.com/rlpipe/rlpipe/data/rng"
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
// of a dataset split by hashing: rng.HeldOutUnit(id), a hash of id mapped
// to [0,1), compared with frac. It depends on the id only — not on seeds,
// order or worker count — so rows with equal ids (for generated tasks:
// equal prompt text) always land on the same side and the splits never
// overlap.
func IsHeldOut(id uint64, frac float64) bool {
	return rng.HeldOutUnit(id) < frac
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

// taskRNG is a SplitMix64 stream; each generated example gets its own stream
// derived from (seed, task, index), so examples do not depend on each other.
type taskRNG struct{ s rng.Stream }

func newRNG(seed uint64, purpose string, index uint64) *taskRNG {
	return &taskRNG{s: rng.NewStream(rng.TaskKey(seed, PromptID(purpose, ""), index))}
}

func (r *taskRNG) next() uint64 { return r.s.Uint64() }

// intn returns an int in [0, n); n must be > 0. It reduces modulo n, not
// by rng.Stream.Intn's rejection, because every built-in task's examples
// were generated this way (the bias is below n/2⁶⁴).
func (r *taskRNG) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a uniform int in [lo, hi].
func (r *taskRNG) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }
