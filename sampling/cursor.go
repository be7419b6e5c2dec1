package sampling

import "github.com/rlpipe/rlpipe/data/rng"

// epochCursor walks the prompt pool in epochs: each epoch is a permutation
// of 0..n−1 drawn from rng.Key(seed, purposeEpoch, epoch), consumed
// without replacement. Its whole state is (epoch, offset); the permutation
// is a cache rebuilt on demand, so a loaded cursor continues exactly, also
// when a batch straddles an epoch boundary.
type epochCursor struct {
	n      int
	seed   uint64
	epoch  uint64
	offset int   // next position in perm; n means the epoch is used up
	perm   []int // permutation of epoch, or nil when not built yet
}

func newEpochCursor(seed uint64, n int) epochCursor {
	return epochCursor{n: n, seed: seed}
}

// take appends the next k indices to dst, starting new epochs as needed.
func (c *epochCursor) take(dst []int, k int) []int {
	for k > 0 {
		if c.offset >= c.n {
			c.epoch++
			c.offset = 0
			c.perm = nil
		}
		if c.perm == nil {
			c.perm = permutation(c.perm, c.seed, c.epoch, c.n)
		}
		m := min(k, c.n-c.offset)
		dst = append(dst, c.perm[c.offset:c.offset+m]...)
		c.offset += m
		k -= m
	}
	return dst
}

// setState moves the cursor to (epoch, offset), dropping the cached
// permutation.
func (c *epochCursor) setState(epoch uint64, offset int) {
	c.epoch, c.offset, c.perm = epoch, offset, nil
}

// permutation returns a uniformly random permutation of 0..n−1 for (seed,
// epoch) by Fisher–Yates, reusing dst's storage.
func permutation(dst []int, seed, epoch uint64, n int) []int {
	dst = dst[:0]
	for i := 0; i < n; i++ {
		dst = append(dst, i)
	}
	s := rng.NewStream(rng.Key(seed, purposeEpoch, epoch))
	for i := n - 1; i > 0; i-- {
		j := s.Intn(i + 1)
		dst[i], dst[j] = dst[j], dst[i]
	}
	return dst
}
