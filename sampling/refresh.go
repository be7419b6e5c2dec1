package sampling

import (
	"errors"
	"fmt"
)

// ErrRefresh reports a refresh call out of order: no refresh under way for
// the step, a chunk other than the one RefreshChunk returned, or a sampler
// not in RefreshFull mode.
var ErrRefresh = errors.New("sampling: refresh out of order")

// refreshState is the progress of VAS's full refresh (RefreshFull mode). It
// is part of the saved sampler state, so that a run stopped mid-refresh
// resumes at the next unfinished chunk: each chunk's rollouts depend only on
// (seed, step, prompt, sample) and the weights of the refresh's policy
// version, so the finished refresh equals an uninterrupted one.
type refreshState struct {
	Step      int64   `json:"step"`      // the step the refresh is (or was) run for
	Done      int     `json:"done"`      // pool prompts covered so far, in pool order
	Complete  bool    `json:"complete"`  // Done reached the pool and the weights were recomputed
	Count     int64   `json:"count"`     // refreshes completed, this one included once Complete
	Missing   int     `json:"missing"`   // covered prompts without any rollout (kept their statistics)
	Samples   int64   `json:"samples"`   // rollouts observed by this refresh
	PassSum   float64 `json:"pass_sum"`  // sum of the re-rolled prompts' pass rates
	Learnable int     `json:"learnable"` // re-rolled prompts with 0 < P < 1
}

func (r *refreshState) clone() *refreshState {
	if r == nil {
		return nil
	}
	c := *r
	return &c
}

// check validates a loaded refresh state for a pool of n prompts; full
// tells whether this sampler is in RefreshFull mode.
func (r *refreshState) check(full bool, n int) error {
	switch {
	case r == nil:
		return nil
	case !full:
		return fmt.Errorf("%w: written by a sampler with vas.refresh %q", ErrState, RefreshFull)
	case r.Step < 0 || r.Count < 0 || r.Samples < 0 || r.Done < 0 || r.Done > n:
		return fmt.Errorf("%w: refresh progress %+v out of range for %d prompts", ErrState, *r, n)
	case r.Complete != (r.Done == n) || r.Missing+r.Learnable > r.Done:
		return fmt.Errorf("%w: refresh progress %+v inconsistent for %d prompts", ErrState, *r, n)
	}
	return nil
}

// RefreshStats summarises VAS's latest complete full refresh.
type RefreshStats struct {
	Step      int64   `json:"step"`      // the step it ran for (before that step's pick)
	Count     int64   `json:"count"`     // refreshes completed so far
	Prompts   int     `json:"prompts"`   // prompts re-rolled (the pool less Missing)
	Missing   int     `json:"missing"`   // prompts without rollouts, which kept their statistics
	Samples   int64   `json:"samples"`   // rollouts observed
	MeanPass  float64 `json:"mean_pass"` // mean pass rate of the re-rolled prompts
	Learnable float64 `json:"learnable"` // share of the re-rolled prompts with 0 < P < 1
}

// Metrics returns the numbers under "vas_refresh/…" keys for metrics.jsonl.
func (s RefreshStats) Metrics() map[string]float64 {
	return map[string]float64{
		"vas_refresh/step":      float64(s.Step),
		"vas_refresh/count":     float64(s.Count),
		"vas_refresh/prompts":   float64(s.Prompts),
		"vas_refresh/missing":   float64(s.Missing),
		"vas_refresh/rollouts":  float64(s.Samples),
		"vas_refresh/mean_pass": s.MeanPass,
		"vas_refresh/learnable": s.Learnable,
	}
}

func (r *refreshState) stats() *RefreshStats {
	if r == nil || !r.Complete {
		return nil
	}
	s := &RefreshStats{Step: r.Step, Count: r.Count, Prompts: r.Done - r.Missing, Missing: r.Missing, Samples: r.Samples}
	if s.Prompts > 0 {
		s.MeanPass, s.Learnable = r.PassSum/float64(s.Prompts), float64(r.Learnable)/float64(s.Prompts)
	}
	return s
}

// NeedsRefresh reports whether the pipeline must complete a full refresh
// (RefreshChunk, ObserveRefresh) before calling Next at step: in
// RefreshFull mode at multiples of RefreshEvery (step 0 included), until the
// refresh for step is complete. A restored state that holds the complete
// refresh of step needs none (MMR1 skips its initial computation when
// restored from a checkpoint). See Refresher.
func (v *VAS) NeedsRefresh(step int64) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.refreshDue(step)
}

func (v *VAS) refreshDue(step int64) bool {
	if v.cfg.Refresh != RefreshFull || step%v.cfg.RefreshEvery != 0 {
		return false
	}
	return v.rf == nil || v.rf.Step != step || !v.rf.Complete
}

// RefreshSamples returns N, the rollouts per prompt (and rollout mode) of a
// full refresh.
func (v *VAS) RefreshSamples() int { return v.cfg.RefreshSamples }

// RefreshChunk returns the pool indices of the next at most n prompts to
// re-roll for step's refresh, in pool order, or nil when none is due
// (NeedsRefresh false). The first call for step starts the refresh; a
// refresh left unfinished for another step is abandoned (the statistics it
// already applied stay). It panics if n < 1. Cost O(n).
func (v *VAS) RefreshChunk(step int64, n int) []int {
	if n < 1 {
		panic(fmt.Sprintf("sampling: RefreshChunk(step %d, n %d): n < 1", step, n))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.refreshDue(step) {
		return nil
	}
	if v.rf == nil || v.rf.Step != step {
		count := int64(0)
		if v.rf != nil {
			count = v.rf.Count
		}
		v.rf = &refreshState{Step: step, Count: count}
	}
	lo := v.rf.Done
	hi := min(lo+n, len(v.pool.ids))
	chunk := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		chunk = append(chunk, i)
	}
	return chunk
}

// ObserveRefresh applies the refresh rollouts of chunk, the indices the
// latest RefreshChunk(step, ·) returned. groups may hold several groups per
// prompt (rollout modes), pooled as in Observe; each prompt of chunk with
// groups gets fresh statistics:
//
//	P = mean(Correct);  history ← append(history, P);  OVS = P(1−P)
//	TDS = tds(Completions) when β > 0;  VPS = α·OVS + β·TDS
//	times and samples seen counted; Rewards, if given, join the moments
//
// Prompts of chunk without groups (all their rollouts lost by a remote
// generator) keep their previous statistics and are counted as missing.
// When chunk completes the pool, every weight is recomputed from the VPS of
// all prompts (min-max, then the EMA μ; see Next): the only place weights
// change in RefreshFull mode. It returns whether the refresh is complete,
// and checks everything before changing anything (ErrRefresh,
// ErrUnknownPrompt, ErrOutcome).
func (v *VAS) ObserveRefresh(step int64, chunk []int, groups []GroupOutcome) (complete bool, err error) {
	idx, err := v.pool.resolve(groups)
	if err != nil {
		return false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.checkChunk(step, chunk); err != nil {
		return false, err
	}
	lo, hi := chunk[0], chunk[0]+len(chunk)
	for k, i := range idx {
		if i < lo || i >= hi {
			return false, fmt.Errorf("%w: group %d: prompt ID %d is not in the refresh chunk [%d, %d)",
				ErrOutcome, k, groups[k].PromptID, lo, hi)
		}
	}
	rf := v.rf
	covered := 0
	forEachPrompt(groups, idx, func(i, nGroups int, pooled *GroupOutcome) {
		st := &v.stats[i]
		v.count(st, step, nGroups, pooled)
		v.score(st, pooled)
		covered++
		rf.Samples += int64(len(pooled.Correct))
		rf.PassSum += st.PassRate
		if st.PassRate > 0 && st.PassRate < 1 {
			rf.Learnable++
		}
	})
	rf.Missing += len(chunk) - covered
	rf.Done = hi
	if hi < len(v.pool.ids) {
		return false, nil
	}
	v.reweight()
	v.stale, v.cumOK = false, false
	rf.Complete = true
	rf.Count++
	return true, nil
}

// checkChunk reports whether chunk is the next unfinished range of step's
// refresh.
func (v *VAS) checkChunk(step int64, chunk []int) error {
	rf := v.rf
	switch {
	case v.cfg.Refresh != RefreshFull:
		return fmt.Errorf("%w: vas.refresh is %q, not %q", ErrRefresh, v.cfg.Refresh, RefreshFull)
	case rf == nil || rf.Step != step || rf.Complete:
		return fmt.Errorf("%w: no refresh under way for step %d", ErrRefresh, step)
	case len(chunk) == 0:
		return fmt.Errorf("%w: empty chunk", ErrRefresh)
	}
	for k, i := range chunk {
		if i != rf.Done+k || i >= len(v.pool.ids) {
			return fmt.Errorf("%w: step %d: chunk entry %d is %d, want the next %d prompts from pool index %d",
				ErrRefresh, step, k, i, len(chunk), rf.Done)
		}
	}
	return nil
}
