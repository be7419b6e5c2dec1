package policy

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"github.com/rlpipe/rlpipe/data"
)

// probIdx is one token's probability, for sorting.
type probIdx struct {
	p float64
	j int
}

// byProbDesc orders by decreasing probability, ties by increasing token:
// the order a stable sort of the vocabulary by decreasing probability
// gives, as a total order, so an unstable sort of flat pairs (several times
// faster than a stable sort through an index) yields it exactly.
func byProbDesc(a, b probIdx) int {
	switch {
	case a.p > b.p:
		return -1
	case a.p < b.p:
		return 1
	}
	return cmp.Compare(a.j, b.j)
}

// drawCut draws from the v weights in sp.probs (total sum) cut to the TopK
// most likely, then to the smallest prefix (in that order) whose mass
// reaches TopP, renormalised.
func (sp *sampler) drawCut(v int, sum float64, p data.GenParams, rng *rand.Rand) int {
	inv := 1 / sum
	for j := range v {
		sp.probs[j] *= inv
	}
	keep := v
	if p.TopK > 0 {
		keep = min(keep, p.TopK)
	}
	// Only tokens that can be kept need sorting: under a top-p cut the
	// tokens of probability ≥ (1−TopP)/v hold at least TopP of the mass
	// (the rest holds less than v·(1−TopP)/v), so the cut falls among
	// them, and they are the head of the full order, so the running mass
	// is the same. If rounding defeats that, all tokens are sorted.
	tau := 0.0
	if p.TopP < 1 {
		tau = (1 - p.TopP) / float64(v)
	}
	order := sp.sorted(v, tau, keep)
	n, ok := cutTopP(order, keep, p.TopP)
	if !ok {
		order = sp.sorted(v, 0, keep)
		n, _ = cutTopP(order, keep, p.TopP)
	}
	var mass float64
	for _, o := range order[:n] {
		mass += o.p
	}
	u := rng.Float64() * mass
	tok := order[0].j
	for _, o := range order[:n] {
		if o.p > 0 {
			tok = o.j
		}
		if u -= o.p; u < 0 {
			break
		}
	}
	return tok
}

// sorted returns the first keep, in byProbDesc order, of the tokens of
// probability ≥ tau (all of them if fewer). A top-k cut sorts only its k:
// selection first puts them in front (the order is total, so the set is
// the same whatever the pivots).
func (sp *sampler) sorted(v int, tau float64, keep int) []probIdx {
	order := sp.order[:0]
	for j, q := range sp.probs[:v] {
		if q >= tau || tau == 0 {
			order = append(order, probIdx{q, j})
		}
	}
	if keep < len(order) {
		selectFirst(order, keep)
		order = order[:keep]
	}
	slices.SortFunc(order, byProbDesc)
	return order
}

// selectFirst reorders s so that its first k elements are the k first in
// byProbDesc order (in any order), by quickselect.
func selectFirst(s []probIdx, k int) {
	lo, hi := 0, len(s) // the k-th boundary lies in s[lo:hi]
	for hi-lo > 1 {
		// Median of three as the pivot, then a Lomuto partition.
		mid := lo + (hi-lo)/2
		if byProbDesc(s[mid], s[lo]) < 0 {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if byProbDesc(s[hi-1], s[lo]) < 0 {
			s[hi-1], s[lo] = s[lo], s[hi-1]
		}
		if byProbDesc(s[hi-1], s[mid]) < 0 {
			s[hi-1], s[mid] = s[mid], s[hi-1]
		}
		s[mid], s[hi-1] = s[hi-1], s[mid]
		pivot, store := s[hi-1], lo
		for i := lo; i < hi-1; i++ {
			if byProbDesc(s[i], pivot) < 0 {
				s[i], s[store] = s[store], s[i]
				store++
			}
		}
		s[store], s[hi-1] = s[hi-1], s[store]
		switch {
		case store == k, store == k-1:
			return
		case store > k:
			hi = store
		default:
			lo = store + 1
		}
	}
}

// cutTopP returns how many of order to keep: the first keep, cut to the
// smallest prefix whose running mass reaches topP (when topP < 1). It
// reports false if order is shorter than the answer may be.
func cutTopP(order []probIdx, keep int, topP float64) (int, bool) {
	k := min(keep, len(order))
	if topP < 1 {
		var cum float64
		for i, o := range order[:k] {
			if cum += o.p; cum >= topP {
				return i + 1, true
			}
		}
	}
	return k, k == keep
}
