package sampling

import (
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng"
)

// VAS is Variance-Aware Sampling (MMR1, ALGORITHMS §2 with rlpipe's choices
// of §7). Each batch of B prompts holds floor(λ·B) prompts drawn with
// replacement with probability ∝ their weight, interleaved with B − floor(λ·B)
// prompts from the uniform epoch cursor. A prompt's weight comes from its
// Variance Promotion Score VPS = α·P(1−P) + β·TDS, min-max normalised over
// the prompts with statistics, smoothed by the EMA μ and floored at w_min;
// prompts never observed get the mean weight, and all-equal scores give
// uniform weights. Safe for concurrent use (one mutex).
type VAS struct {
	mu    sync.Mutex
	seed  uint64
	cfg   VASConfig
	tds   func([][]int32) float64
	pool  pool
	stats []data.SamplerStats // by pool index; TimesSeen 0 = never observed
	cur   epochCursor
	calls uint64        // Next calls so far; keys the weighted draws
	stale bool          // statistics changed since the last weighting (incremental mode)
	rf    *refreshState // RefreshFull mode: the latest refresh, nil before the first
	cum   []float64     // cumulative effective weights by pool index, valid when cumOK
	cumOK bool
	last  pickStats
}

// pickStats summarises the latest Next call for Stats.
type pickStats struct {
	n, weighted, withStats int
	vpsSum, passSum        float64
}

// NewVAS returns a VAS sampler over ids. It validates cfg and refuses an
// empty pool or duplicate IDs (ErrConfig). Cost O(len(ids)).
func NewVAS(seed uint64, cfg VASConfig, ids []uint64) (*VAS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tds, _ := tdsFunc(cfg.TDS)
	p, err := newPool(ids)
	if err != nil {
		return nil, err
	}
	v := &VAS{seed: seed, cfg: cfg, tds: tds, pool: p, cur: newEpochCursor(seed, len(ids))}
	v.stats = v.emptyStats()
	return v, nil
}

func (v *VAS) emptyStats() []data.SamplerStats {
	st := make([]data.SamplerStats, len(v.pool.ids))
	for i, id := range v.pool.ids {
		st[i].PromptID = id
	}
	return st
}

// OVS is the outcome variance score P(1−P) of pass rate p, the Bernoulli
// variance of the binary verifier outcome (MMR1 §3; max 0.25 at p = ½).
func OVS(p float64) float64 { return p * (1 - p) }

// BatchSplit returns how many of a batch of n prompts VAS draws by weight,
// floor(n·λ) as MMR1's int(B·λ), and how many come from the uniform cursor.
func BatchSplit(n int, lambda float64) (weighted, uniform int) {
	weighted = int(float64(n) * lambda)
	return weighted, n - weighted
}

// Next returns n pool indices for step: weighted and uniform picks
// interleaved (w₀, u₀, w₁, u₁, …, then the longer part's rest). Weighted
// draws come from rng.Key(seed, purposeWeighted, step, calls). In
// incremental mode it first re-weights if statistics changed; in
// RefreshFull mode only a completed refresh re-weights (ObserveRefresh), so
// that refill rounds after training groups pick from the same weights.
// Cost O(pool) when re-weighting, else O(n·log pool).
func (v *VAS) Next(step int64, n int) ([]int, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: Next(step %d, n %d): negative n", ErrConfig, step, n)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.stale && v.cfg.Refresh != RefreshFull {
		v.reweight()
		v.stale = false
		v.cumOK = false
	}
	if !v.cumOK {
		v.cum, v.cumOK = v.cumulative(v.cum), true
	}
	nw, nr := BatchSplit(n, v.cfg.Lambda)
	s := rng.NewStream(rng.Key(v.seed, purposeWeighted, uint64(step), v.calls))
	weighted := make([]int, nw)
	for k := range weighted {
		weighted[k] = v.draw(&s)
	}
	uniform := v.cur.take(make([]int, 0, nr), nr)
	v.calls++
	out := make([]int, 0, n)
	for k := 0; k < max(nw, nr); k++ {
		if k < nw {
			out = append(out, weighted[k])
		}
		if k < nr {
			out = append(out, uniform[k])
		}
	}
	v.notePicks(out, nw)
	return out, nil
}

// draw picks one pool index with probability ∝ its effective weight.
func (v *VAS) draw(s *rng.Stream) int {
	total := v.cum[len(v.cum)-1]
	if !(total > 0) {
		return s.Intn(len(v.cum))
	}
	u := s.Float64() * total
	i := sort.Search(len(v.cum), func(i int) bool { return v.cum[i] > u })
	return min(i, len(v.cum)-1)
}

func (v *VAS) notePicks(picks []int, weighted int) {
	v.last = pickStats{n: len(picks), weighted: weighted}
	for _, i := range picks {
		if st := &v.stats[i]; st.TimesSeen > 0 {
			v.last.withStats++
			v.last.vpsSum += st.VPS
			v.last.passSum += st.PassRate
		}
	}
}

// reweight recomputes every observed prompt's weight W from its VPS:
// W_new = (v − min)/(max − min + 1e-8) over the observed prompts (1 for all
// when every VPS is equal), W = μ·W_old + (1−μ)·W_new, or W_new the first
// time (MMR1 ray_trainer, ALGORITHMS §2.2).
func (v *VAS) reweight() {
	lo, hi, seen := 0.0, 0.0, false
	for i := range v.stats {
		if st := &v.stats[i]; st.TimesSeen > 0 {
			if !seen || st.VPS < lo {
				lo = st.VPS
			}
			if !seen || st.VPS > hi {
				hi = st.VPS
			}
			seen = true
		}
	}
	mu := v.cfg.EMA
	for i := range v.stats {
		st := &v.stats[i]
		if st.TimesSeen == 0 {
			continue
		}
		w := 1.0
		if hi != lo {
			w = minMax(st.VPS, lo, hi)
		}
		if st.HasWeight {
			w = mu*st.Weight + (1-mu)*w
		}
		st.Weight, st.HasWeight = w, true
	}
}

// minMax is MMR1's normalisation (x − lo)/(hi − lo + 1e-8).
func minMax(x, lo, hi float64) float64 { return (x - lo) / (hi - lo + 1e-8) }

// cumulative returns the running sums of the effective weights, reusing
// dst: max(W, w_min) for weighted prompts, their mean for the others (1
// when no prompt has a weight yet).
func (v *VAS) cumulative(dst []float64) []float64 {
	sum, count := 0.0, 0
	for i := range v.stats {
		if st := &v.stats[i]; st.HasWeight {
			sum += max(st.Weight, v.cfg.WMin)
			count++
		}
	}
	mean := 1.0
	if count > 0 {
		mean = sum / float64(count)
	}
	dst = dst[:0]
	run := 0.0
	for i := range v.stats {
		w := mean
		if st := &v.stats[i]; st.HasWeight {
			w = max(st.Weight, v.cfg.WMin)
		}
		run += w
		dst = append(dst, run)
	}
	return dst
}

// SaveState writes the statistics of every observed prompt, in pool order,
// and the scalar state. See Checkpointer.
func (v *VAS) SaveState(w io.Writer, mem memory.Allocator) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	rows := make([]data.SamplerStats, 0, len(v.stats))
	for i := range v.stats {
		if v.stats[i].TimesSeen > 0 {
			rows = append(rows, v.stats[i])
		}
	}
	return writeState(w, mem, v.scalar(), rows)
}

// LoadState restores statistics, cursor and counters. See Checkpointer.
func (v *VAS) LoadState(r io.Reader, mem memory.Allocator) error {
	st, rows, err := readState(r, mem)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := st.check(v.scalar(), len(v.pool.ids)); err != nil {
		return err
	}
	if err := st.Refresh.check(v.cfg.Refresh == RefreshFull, len(v.pool.ids)); err != nil {
		return err
	}
	stats := v.emptyStats()
	for k, row := range rows {
		i, ok := v.pool.index[row.PromptID]
		switch {
		case !ok:
			return fmt.Errorf("%w: row %d: prompt ID %d not in the pool", ErrState, k, row.PromptID)
		case stats[i].TimesSeen > 0:
			return fmt.Errorf("%w: row %d: prompt ID %d repeated", ErrState, k, row.PromptID)
		case row.TimesSeen <= 0:
			return fmt.Errorf("%w: row %d: prompt ID %d never seen", ErrState, k, row.PromptID)
		case len(row.PassRateHistory) > v.cfg.HistoryLen:
			return fmt.Errorf("%w: row %d: %d history entries, history_len is %d",
				ErrState, k, len(row.PassRateHistory), v.cfg.HistoryLen)
		}
		stats[i] = row
	}
	v.stats = stats
	v.cur.setState(st.Epoch, st.Offset)
	v.calls, v.stale, v.cumOK, v.last = st.Calls, st.Stale, false, pickStats{}
	v.rf = st.Refresh
	return nil
}

func (v *VAS) scalar() scalarState {
	return scalarState{
		Format: stateFormat, Kind: KindVAS, Seed: v.seed, Prompts: len(v.pool.ids), PoolHash: v.pool.hash,
		Epoch: v.cur.epoch, Offset: v.cur.offset, Calls: v.calls, Stale: v.stale, Refresh: v.rf.clone(),
	}
}
