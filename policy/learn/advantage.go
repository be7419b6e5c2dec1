package learn

import (
	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// computeAdvantages fills the train rows' advantage columns (advantage,
// group_mean, group_std) from the groups' rewards with
// objective.GroupAdvantages and returns the number of groups whose
// rewards are all equal. rows are ordered by group (group numbers in
// groups).
func computeAdvantages(rows []data.TrainRow, groups []int, cfg objective.AdvantageConfig) (zeroStd int, err error) {
	rewards := make([]float64, len(rows))
	for i := range rows {
		rewards[i] = rows[i].Reward
	}
	return advantagesOf(rows, rewards, groups, cfg)
}

// advantagesOf is computeAdvantages from rewards[i] in place of the rows' rewards
// (e.g. with a KL penalty folded in).
func advantagesOf(rows []data.TrainRow, rewards []float64, groups []int, cfg objective.AdvantageConfig) (zeroStd int, err error) {
	var adv objective.Advantages
	if err := objective.GroupAdvantages(&adv, rewards, groups, cfg); err != nil {
		return 0, err
	}
	seen := map[int]bool{}
	for i := range rows {
		rows[i].Advantage = float32(adv.Adv[i])
		rows[i].GroupMean = float32(adv.Mean[i])
		rows[i].GroupStd = float32(adv.Std[i])
		if !seen[groups[i]] {
			seen[groups[i]] = true
			if groupRewardsEqual(rewards, groups, groups[i]) {
				zeroStd++
			}
		}
	}
	return zeroStd, nil
}

// groupRewardsEqual reports whether every reward of group g is the same.
func groupRewardsEqual(rewards []float64, groups []int, g int) bool {
	first, have := 0.0, false
	for i, gi := range groups {
		if gi != g {
			continue
		}
		if !have {
			first, have = rewards[i], true
		} else if rewards[i] != first {
			return false
		}
	}
	return true
}
