package sampling

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data/rng"
)

// Errors wrapped by this package's errors.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("sampling: invalid config")
	// ErrUnknownPrompt reports an observed prompt ID outside the sampler's pool.
	ErrUnknownPrompt = errors.New("sampling: unknown prompt")
	// ErrOutcome reports a malformed GroupOutcome.
	ErrOutcome = errors.New("sampling: malformed group outcome")
	// ErrState reports sampler state that cannot be loaded: damaged, or
	// written by a sampler of another kind, seed or prompt pool.
	ErrState = errors.New("sampling: bad sampler state")
)

// Sampler chooses the prompts of each rollout batch and learns from their
// scored groups. Implementations are safe for concurrent use, but their
// results depend on the order of calls, so the pipeline calls them from one
// goroutine in step order; given the same calls they return the same picks
// however many workers generate or score.
type Sampler interface {
	// Next returns n indices into the prompt pool given at construction
	// (duplicates possible) for step. Calling Next twice in one step (DAPO
	// refill) returns fresh picks.
	Next(step int64, n int) ([]int, error)
	// Observe feeds the scored groups of step back; it must see every scored
	// group, including those a filter dropped. The slices are not retained.
	Observe(step int64, groups []GroupOutcome) error
	// Stats returns the metrics of the latest Next and of the statistics.
	Stats() Stats
	Checkpointer
}

// Checkpointer saves and restores a sampler's whole state so that a resumed
// run picks exactly what the uninterrupted run would have picked.
type Checkpointer interface {
	// SaveState writes the state as one Arrow IPC stream: the per-prompt
	// statistics table (data.SamplerStatsSchema) with the scalar state as
	// JSON in its metadata. mem allocates the temporary record.
	SaveState(w io.Writer, mem memory.Allocator) error
	// LoadState replaces the state with one written by SaveState of a sampler
	// built with the same kind, seed and prompt pool. On error (wrapping
	// ErrState) the sampler is unchanged. It never panics on bad input.
	LoadState(r io.Reader, mem memory.Allocator) error
}

// Refresher is implemented by samplers that need whole-dataset rollouts
// (VAS with refresh: full, MMR1's Alg. 1). Before calling Next at a step
// where NeedsRefresh is true, the pipeline re-rolls the pool chunk by chunk
// with the policy that generates that step's rollouts:
//
//	for chunk := RefreshChunk(step, n); chunk != nil; chunk = RefreshChunk(step, n) {
//		roll out RefreshSamples samples of each prompt in chunk, verify them,
//		ObserveRefresh(step, chunk, groups)
//	}
//
// The progress is part of the saved state, so the loop may stop after any
// chunk and continue in a restored sampler.
type Refresher interface {
	// NeedsRefresh reports whether a refresh must complete before Next(step).
	NeedsRefresh(step int64) bool
	// RefreshSamples is the number of rollouts per prompt and mode.
	RefreshSamples() int
	// RefreshChunk returns the next at most n pool indices to re-roll, or nil.
	RefreshChunk(step int64, n int) []int
	// ObserveRefresh applies the verified rollouts of the chunk just returned.
	ObserveRefresh(step int64, chunk []int, groups []GroupOutcome) (complete bool, err error)
}

// GroupOutcome is what the sampler learns from one prompt's scored group.
type GroupOutcome struct {
	// PromptID identifies the prompt; it must be in the sampler's pool.
	PromptID uint64
	// Correct is the binary verifier outcome of each sample (not the shaped
	// reward); it must hold at least one sample.
	Correct []bool
	// Rewards are the scalar rewards, one per sample, or empty. Non-finite
	// values (reward errors) are left out of the running moments.
	Rewards []float64
	// Completions are the completion tokens of each sample with padding
	// stripped, or empty (then the prompt's TDS is left as it was).
	Completions [][]int32
}

func (g *GroupOutcome) check() error {
	n := len(g.Correct)
	switch {
	case n == 0:
		return fmt.Errorf("%w: prompt %d: no samples", ErrOutcome, g.PromptID)
	case len(g.Rewards) != 0 && len(g.Rewards) != n:
		return fmt.Errorf("%w: prompt %d: %d rewards for %d samples", ErrOutcome, g.PromptID, len(g.Rewards), n)
	case len(g.Completions) != 0 && len(g.Completions) != n:
		return fmt.Errorf("%w: prompt %d: %d completions for %d samples", ErrOutcome, g.PromptID, len(g.Completions), n)
	}
	return nil
}

// New builds the sampler cfg.Kind names over the prompt pool ids (Next
// returns indices into ids). It validates cfg and refuses an empty pool or a
// duplicate ID.
func New(cfg Config, ids []uint64) (Sampler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Kind == KindVAS {
		return NewVAS(cfg.Seed, cfg.VAS, ids)
	}
	return NewUniform(cfg.Seed, ids)
}

// pool is the prompt pool shared by the samplers: IDs in construction order
// and the reverse index.
type pool struct {
	ids   []uint64
	index map[uint64]int
	hash  uint64 // fingerprint of ids, checked when loading state
}

func newPool(ids []uint64) (pool, error) {
	if len(ids) == 0 {
		return pool{}, fmt.Errorf("%w: empty prompt pool", ErrConfig)
	}
	p := pool{ids: append([]uint64(nil), ids...), index: make(map[uint64]int, len(ids))}
	for i, id := range ids {
		if j, dup := p.index[id]; dup {
			return pool{}, fmt.Errorf("%w: prompt ID %d at positions %d and %d", ErrConfig, id, j, i)
		}
		p.index[id] = i
	}
	p.hash = rng.PoolFingerprint(p.ids)
	return p, nil
}

// resolve maps every group to its pool index after checking it, so that
// Observe either applies all groups or none.
func (p *pool) resolve(groups []GroupOutcome) ([]int, error) {
	idx := make([]int, len(groups))
	for i := range groups {
		g := &groups[i]
		j, ok := p.index[g.PromptID]
		if !ok {
			return nil, fmt.Errorf("%w: group %d: prompt ID %d", ErrUnknownPrompt, i, g.PromptID)
		}
		if err := g.check(); err != nil {
			return nil, fmt.Errorf("group %d: %w", i, err)
		}
		idx[i] = j
	}
	return idx, nil
}

// byPrompt returns the group positions ordered by pool index, keeping the
// given order among groups of the same prompt.
func byPrompt(idx []int) []int {
	order := make([]int, len(idx))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return idx[order[a]] < idx[order[b]] })
	return order
}
