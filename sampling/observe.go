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
// ErrOutcome). Weights are recomputed at the next Next. In RefreshFull mode
// the pipeline also passes the refresh rollouts here. Cost: dominated by
// TDS, O(G²·L) per group for self-BLEU.
func (v *VAS) Observe(step int64, groups []GroupOutcome) error {
	idx, err := v.pool.resolve(groups)
	if err != nil {
		return err
	}
	order := byPrompt(idx)
	v.mu.Lock()
	defer v.mu.Unlock()
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
		v.update(&v.stats[idx[order[start]]], step, end-start, &pooled)
		start = end
	}
	if len(groups) > 0 {
		v.stale = true
	}
	return nil
}

// reset empties g's slices, keeping their storage for the next prompt.
func (g GroupOutcome) reset() GroupOutcome {
	return GroupOutcome{Correct: g.Correct[:0], Rewards: g.Rewards[:0], Completions: g.Completions[:0]}
}

// update applies one pooled observation of nGroups groups to st.
func (v *VAS) update(st *data.SamplerStats, step int64, nGroups int, g *GroupOutcome) {
	pass := 0
	for _, c := range g.Correct {
		if c {
			pass++
		}
	}
	p := float64(pass) / float64(len(g.Correct))
	st.TimesSeen += int64(nGroups)
	st.SamplesSeen += int64(len(g.Correct))
	st.LastStep = step
	st.PassRate = p
	if h := v.cfg.HistoryLen; h > 0 {
		if len(st.PassRateHistory) >= h {
			drop := len(st.PassRateHistory) - h + 1
			st.PassRateHistory = append(st.PassRateHistory[:0], st.PassRateHistory[drop:]...)
		}
		st.PassRateHistory = append(st.PassRateHistory, float32(p))
	}
	for _, r := range g.Rewards {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			continue
		}
		st.RewardCount++
		d := r - st.RewardMean
		st.RewardMean += d / float64(st.RewardCount)
		st.RewardM2 += d * (r - st.RewardMean)
	}
	st.OVS = OVS(p)
	if len(g.Completions) > 0 && v.cfg.Beta > 0 {
		st.TDS = v.tds(g.Completions)
	}
	st.VPS = v.cfg.Alpha*st.OVS + v.cfg.Beta*st.TDS
}
