package sampling

import (
	"math"

	"github.com/rlpipe/rlpipe/data"
)

// Observe updates the statistics of every prompt in groups from its scored
// rollouts. Groups of the same prompt within one call are pooled (in the
// given order) into one observation. For each observed prompt:
//
//	P = mean(Correct);  history ← append(history, P) (the newest HistoryLen kept)
//	reward moments  ← Welford update with each finite reward
//	OVS = P(1−P);  TDS = tds(Completions) when completions are given and β > 0
//	VPS = α·OVS + β·TDS
//
// It checks all groups before changing anything (ErrUnknownPrompt,
// ErrOutcome). Weights are recomputed at the next Next.
//
// In RefreshFull mode P, its history, OVS, TDS and VPS come from the
// refresh rollouts alone (ObserveRefresh), as in MMR1: training groups only
// count (times and samples seen, reward moments, last step) and never move
// the weights. The exception is a prompt without any statistics yet (its
// refresh rollouts were all lost by a remote generator), whose first
// training groups stand in until a refresh covers it. Cost: dominated by
// TDS, O(G²·L) per group for self-BLEU.
func (v *VAS) Observe(step int64, groups []GroupOutcome) error {
	idx, err := v.pool.resolve(groups)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	forEachPrompt(groups, idx, func(i, nGroups int, pooled *GroupOutcome) {
		v.update(&v.stats[i], step, nGroups, pooled)
	})
	if len(groups) > 0 && v.cfg.Refresh != RefreshFull {
		v.stale = true
	}
	return nil
}

// forEachPrompt calls fn once per distinct pool index of idx (groups[k] is
// at pool index idx[k]), in pool order, with that prompt's groups pooled in
// their given order. The pooled outcome is reused between calls.
func forEachPrompt(groups []GroupOutcome, idx []int, fn func(i, nGroups int, pooled *GroupOutcome)) {
	order := byPrompt(idx)
	var pooled GroupOutcome
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && idx[order[end]] == idx[order[start]] {
			end++
		}
		pooled = pooled.reset()
		for _, k := range order[start:end] {
			g := &groups[k]
			pooled.Correct = append(pooled.Correct, g.Correct...)
			pooled.Rewards = append(pooled.Rewards, g.Rewards...)
			pooled.Completions = append(pooled.Completions, g.Completions...)
		}
		fn(idx[order[start]], end-start, &pooled)
		start = end
	}
}

// reset empties g's slices, keeping their storage for the next prompt.
func (g GroupOutcome) reset() GroupOutcome {
	return GroupOutcome{Correct: g.Correct[:0], Rewards: g.Rewards[:0], Completions: g.Completions[:0]}
}

// update applies one pooled training observation of nGroups groups to st.
func (v *VAS) update(st *data.SamplerStats, step int64, nGroups int, g *GroupOutcome) {
	fresh := st.TimesSeen == 0
	v.count(st, step, nGroups, g)
	if v.cfg.Refresh != RefreshFull || fresh {
		v.score(st, g)
	}
}

// count adds one pooled observation to st's counters and reward moments.
// LastStep takes the maximum because a refresh for a later step may run
// before the training groups of an earlier one (pick-ahead).
func (v *VAS) count(st *data.SamplerStats, step int64, nGroups int, g *GroupOutcome) {
	st.TimesSeen += int64(nGroups)
	st.SamplesSeen += int64(len(g.Correct))
	st.LastStep = max(st.LastStep, step)
	for _, r := range g.Rewards {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			continue
		}
		st.RewardCount++
		d := r - st.RewardMean
		st.RewardMean += d / float64(st.RewardCount)
		st.RewardM2 += d * (r - st.RewardMean)
	}
}

// score sets st's pass rate (appending it to the history), OVS, TDS and
// VPS from one pooled observation.
func (v *VAS) score(st *data.SamplerStats, g *GroupOutcome) {
	pass := 0
	for _, c := range g.Correct {
		if c {
			pass++
		}
	}
	p := float64(pass) / float64(len(g.Correct))
	st.PassRate = p
	if h := v.cfg.HistoryLen; h > 0 {
		if len(st.PassRateHistory) >= h {
			drop := len(st.PassRateHistory) - h + 1
			st.PassRateHistory = append(st.PassRateHistory[:0], st.PassRateHistory[drop:]...)
		}
		st.PassRateHistory = append(st.PassRateHistory, float32(p))
	}
	st.OVS = OVS(p)
	if len(g.Completions) > 0 && v.cfg.Beta > 0 {
		st.TDS = v.tds(g.Completions)
	}
	st.VPS = v.cfg.Alpha*st.OVS + v.cfg.Beta*st.TDS
}
