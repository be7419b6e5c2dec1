package objective

import (
	"fmt"
	"math"
)

// StdMode selects the divisor of group-relative advantages (ALGORITHMS §1.2).
type StdMode string

// Std modes. StdGroup is verl's norm_adv_by_std_in_grpo=True and TRL's
// scale_rewards="group"; StdBatch is TRL's "batch" (mean per group, std over
// the batch); StdNone is Dr. GRPO, d1 diffu-GRPO and GDPO (no division).
const (
	StdGroup StdMode = "group"
	StdBatch StdMode = "batch"
	StdNone  StdMode = "none"
)

// DefaultAdvantageEps is verl's and EasyR1's ε added to the std (TRL uses 1e-4).
const DefaultAdvantageEps = 1e-6

// AdvantageConfig configures [GroupAdvantages]. The zero value is rlpipe's
// default (§7): per-group unbiased std, ε = 1e-6.
type AdvantageConfig struct {
	// Std is the divisor mode; "" means StdGroup.
	Std StdMode `yaml:"std"`
	// Eps is added to the std (not inside the sqrt); 0 means 1e-6. TRL: 1e-4.
	Eps float64 `yaml:"eps"`
	// Biased uses the population (N) std instead of the unbiased (N−1) one.
	// No reference implementation does this (pitfall §1.10.1); it exists for
	// comparisons only.
	Biased bool `yaml:"biased"`
}

// Validate reports an unknown mode or a negative ε.
func (c AdvantageConfig) Validate() error {
	switch c.Std {
	case "", StdGroup, StdBatch, StdNone:
	default:
		return fmt.Errorf("%w: advantage.std %q: want group, batch or none", ErrInvalid, c.Std)
	}
	if c.Eps < 0 || math.IsNaN(c.Eps) {
		return fmt.Errorf("%w: advantage.eps %v: want >= 0", ErrInvalid, c.Eps)
	}
	return nil
}

func (c AdvantageConfig) mode() StdMode {
	if c.Std == "" {
		return StdGroup
	}
	return c.Std
}

func (c AdvantageConfig) eps() float64 {
	if c.Eps == 0 {
		return DefaultAdvantageEps
	}
	return c.Eps
}

// Advantages holds per-row results of [GroupAdvantages]. Mean and Std are the
// statistics of the row's group, repeated on every row of the group.
type Advantages struct {
	// Adv is the scalar advantage A_i of each row (the same on all its tokens).
	Adv []float64
	// Mean is the subtracted mean (0 for singleton groups, as verl).
	Mean []float64
	// Std is the divisor before ε: the group std (StdGroup, also reported under
	// StdNone for zero-variance metrics) or the batch std (StdBatch); 1 for
	// singleton groups.
	Std []float64
}

// ContiguousGroups returns group labels for n rows laid out as consecutive
// groups of g rows (row i belongs to group i/g), reusing dst. It panics if
// g <= 0.
func ContiguousGroups(dst []int, n, g int) []int {
	if g <= 0 {
		panic("objective: ContiguousGroups with g <= 0")
	}
	dst = resizeInts(dst, n)
	for i := range dst {
		dst[i] = i / g
	}
	return dst
}

// GroupAdvantages computes group-relative advantages (ALGORITHMS §1.2):
//
//	A_i = (R_i − mean_g) / (std + ε)   (StdGroup: std of the group; StdBatch: of the batch)
//	A_i =  R_i − mean_g                (StdNone: Dr. GRPO)
//
// rewards[i] is the summed reward of row i and groups[i] its group label (any
// ints; rows of a group need not be adjacent). std is unbiased (N−1). A group
// with one valid row has mean 0 and std 1, as verl, so A = R/(1+ε). NaN
// rewards (TRL: every reward function returned None) are excluded from all
// statistics and get A = 0; a group with no valid row reports NaN mean and
// std. The slices of dst are reused when large enough. Cost O(B).
func GroupAdvantages(dst *Advantages, rewards []float64, groups []int, cfg AdvantageConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if len(groups) != len(rewards) {
		return fmt.Errorf("%w: advantages: %d rewards but %d group labels", ErrInvalid, len(rewards), len(groups))
	}
	n := len(rewards)
	dst.Adv = resizeFloats(dst.Adv, n)
	dst.Mean = resizeFloats(dst.Mean, n)
	dst.Std = resizeFloats(dst.Std, n)
	members := groupMembers(groups)
	for _, rows := range members {
		m, s, cnt := meanStd(rewards, rows, cfg.Biased)
		if cnt == 1 {
			m, s = 0, 1
		}
		for _, i := range rows {
			dst.Mean[i], dst.Std[i] = m, s
		}
	}
	mode := cfg.mode()
	if mode == StdBatch {
		_, s, cnt := meanStd(rewards, nil, cfg.Biased)
		if cnt <= 1 {
			s = 1
		}
		for i := range dst.Std {
			dst.Std[i] = s
		}
	}
	eps := cfg.eps()
	for i, r := range rewards {
		switch {
		case math.IsNaN(r):
			dst.Adv[i] = 0
		case mode == StdNone:
			dst.Adv[i] = r - dst.Mean[i]
		default:
			dst.Adv[i] = (r - dst.Mean[i]) / (dst.Std[i] + eps)
		}
	}
	return nil
}

// groupMembers lists the rows of each label in order of first appearance.
func groupMembers(groups []int) [][]int {
	index := make(map[int]int, len(groups)/4+1)
	var members [][]int
	for i, g := range groups {
		k, ok := index[g]
		if !ok {
			k = len(members)
			index[g] = k
			members = append(members, nil)
		}
		members[k] = append(members[k], i)
	}
	return members
}

// meanStd returns the mean and std of the non-NaN values of x at rows (all
// rows when rows is nil), and their count. The std is NaN when count < 2.
func meanStd(x []float64, rows []int, biased bool) (mean, std float64, count int) {
	at := func(j int) float64 {
		if rows == nil {
			return x[j]
		}
		return x[rows[j]]
	}
	n := len(x)
	if rows != nil {
		n = len(rows)
	}
	var sum float64
	for j := 0; j < n; j++ {
		if v := at(j); !math.IsNaN(v) {
			sum += v
			count++
		}
	}
	if count == 0 {
		return math.NaN(), math.NaN(), 0
	}
	mean = sum / float64(count)
	var ss float64
	for j := 0; j < n; j++ {
		if v := at(j); !math.IsNaN(v) {
			ss += (v - mean) * (v - mean)
		}
	}
	den := float64(count - 1)
	if biased {
		den = float64(count)
	}
	if count < 2 {
		return mean, math.NaN(), count
	}
	return mean, math.Sqrt(ss / den), count
}

func resizeFloats(s []float64, n int) []float64 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float64, n)
}

func resizeInts(s []int, n int) []int {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]int, n)
}
