package sampling

import (
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Uniform samples prompts by epochs of shuffling without replacement; its
// state is the data cursor (epoch, offset). It keeps no per-prompt
// statistics. Safe for concurrent use.
type Uniform struct {
	mu     sync.Mutex
	seed   uint64
	pool   pool
	cur    epochCursor
	picked int
}

// NewUniform returns a uniform sampler over ids with the given seed. It
// refuses an empty pool and duplicate IDs (ErrConfig). Cost O(len(ids)).
func NewUniform(seed uint64, ids []uint64) (*Uniform, error) {
	p, err := newPool(ids)
	if err != nil {
		return nil, err
	}
	return &Uniform{seed: seed, pool: p, cur: newEpochCursor(seed, len(ids))}, nil
}

// Next returns the next n pool indices of the epoch order; step is unused,
// the cursor alone decides. Cost O(n), plus O(pool) per epoch started.
func (u *Uniform) Next(step int64, n int) ([]int, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: Next(step %d, n %d): negative n", ErrConfig, step, n)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.picked = n
	return u.cur.take(make([]int, 0, n), n), nil
}

// Observe checks groups (unknown IDs, malformed outcomes) and otherwise
// ignores them: the uniform sampler does not learn.
func (u *Uniform) Observe(step int64, groups []GroupOutcome) error {
	_, err := u.pool.resolve(groups)
	return err
}

// Stats returns the cursor position and the size of the latest pick.
func (u *Uniform) Stats() Stats {
	u.mu.Lock()
	defer u.mu.Unlock()
	return Stats{
		Kind: KindUniform, Prompts: len(u.pool.ids), Picked: u.picked,
		Epoch: u.cur.epoch, EpochOffset: u.cur.offset,
	}
}

// SaveState writes an empty statistics table whose metadata holds the
// cursor. See Checkpointer.
func (u *Uniform) SaveState(w io.Writer, mem memory.Allocator) error {
	u.mu.Lock()
	st := u.scalar()
	u.mu.Unlock()
	return writeState(w, mem, st, nil)
}

// LoadState restores the cursor. See Checkpointer.
func (u *Uniform) LoadState(r io.Reader, mem memory.Allocator) error {
	st, _, err := readState(r, mem)
	if err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := st.check(u.scalar(), len(u.pool.ids)); err != nil {
		return err
	}
	u.cur.setState(st.Epoch, st.Offset)
	return nil
}

func (u *Uniform) scalar() scalarState {
	return scalarState{
		Format: stateFormat, Kind: KindUniform, Seed: u.seed, Prompts: len(u.pool.ids), PoolHash: u.pool.hash,
		Epoch: u.cur.epoch, Offset: u.cur.offset,
	}
}
