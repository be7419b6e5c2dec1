package objective

import (
	"fmt"
	"math"
)

// DefaultDPOBeta is β_dpo of rlpipe's BVPO base objective (ALGORITHMS §7).
const DefaultDPOBeta = 0.1

// Pair names the chosen and rejected rows of one preference pair.
type Pair struct{ Chosen, Rejected int }

// GroupPairs appends one pair per group to dst (ALGORITHMS §7, BVPO base):
// chosen = the row with the highest reward, rejected = the lowest, and only
// when the two rewards differ. Ties go to the smallest row index for both
// roles. Groups are visited in order of first appearance of their label;
// NaN rewards are ignored. It panics if the lengths differ.
func GroupPairs(dst []Pair, rewards []float64, groups []int) []Pair {
	if len(rewards) != len(groups) {
		panic("objective: GroupPairs with mismatched lengths")
	}
	for _, rows := range groupMembers(groups) {
		hi, lo := -1, -1
		for _, i := range rows {
			r := rewards[i]
			if math.IsNaN(r) {
				continue
			}
			if hi < 0 || r > rewards[hi] {
				hi = i
			}
			if lo < 0 || r < rewards[lo] {
				lo = i
			}
		}
		if hi >= 0 && rewards[hi] != rewards[lo] {
			dst = append(dst, Pair{Chosen: hi, Rejected: lo})
		}
	}
	return dst
}

// SeqLogp fills dst[i] = Σ_t mask[i][t]·logp[i][t], the sequence log-prob of
// each row, reusing dst. It panics on ragged mismatches.
func SeqLogp(dst []float64, logp, mask [][]float64) []float64 {
	dst = resizeFloats(dst, len(mask))
	for i, m := range mask {
		var s float64
		for t, v := range m {
			s += v * logp[i][t]
		}
		dst[i] = s
	}
	return dst
}

// DPOInput is a batch of rows scored for [DPOLoss]; pairs index its rows.
type DPOInput struct {
	// Logp and Mask are the current per-token log-probs and the token mask.
	Logp, Mask [][]float64
	// RefSeq is the reference sequence log-prob Σ_t m·ℓ_ref of each row.
	RefSeq []float64
	// Pairs are (chosen, rejected) row indices, e.g. from [GroupPairs].
	Pairs []Pair
	// Groups, when > 0, is the divisor of the summed pair losses: the
	// number of groups (prompts) the pairs were drawn from, counting the
	// groups that yielded no pair. Σ_pairs ℓ / Groups estimates the
	// per-prompt expected loss E_x[ℓ(x)·1(x has a pair)] without bias, while
	// the mean over pairs (Groups = 0, standard DPO over a pair dataset) is
	// a ratio of two random counts whose variance grows when few groups
	// yield a pair. Groups smaller than the number of pairs is accepted (it
	// is only a scale), but it must not be negative.
	Groups int
}

// DPOMetrics summarise one [DPOLoss] call. The means are over pairs
// whatever the loss's normaliser, so that they describe the pairs
// themselves.
type DPOMetrics struct {
	Pairs          int
	Accuracy       float64 // fraction of pairs with positive margin
	Margin         float64 // mean β((ℓc−ℓc_ref) − (ℓr−ℓr_ref))
	ChosenReward   float64 // mean β(ℓc − ℓc_ref)
	RejectedReward float64 // mean β(ℓr − ℓr_ref)
}

// DPOLoss computes the DPO loss summed over pairs and divided by N,
//
//	loss = (1/N) Σ_p −log σ(β((ℓc−ℓc_ref) − (ℓr−ℓr_ref)))
//
// where N is in.Groups when it is > 0 and otherwise the number of pairs P
// (the mean over pairs), with ℓ the masked sequence sums, and its gradient
// with respect to every per-token log-prob: dLoss/dℓ[c][t] = −σ(−z)·β·m/N
// and +σ(−z)·β·m/N on the rejected row (rows in several pairs accumulate).
// Rows in no pair get zero gradient. dLogp is reused when its shape
// matches. With no pairs the loss and gradient are 0. Cost O(Σ row
// lengths).
func DPOLoss(dLogp [][]float64, in *DPOInput, beta float64) (float64, [][]float64, DPOMetrics, error) {
	if !(beta > 0) || math.IsInf(beta, 0) {
		return 0, nil, DPOMetrics{}, fmt.Errorf("%w: dpo beta %v: want > 0", ErrInvalid, beta)
	}
	if err := sameShape("logp", in.Logp, in.Mask); err != nil {
		return 0, nil, DPOMetrics{}, err
	}
	if len(in.RefSeq) != len(in.Mask) {
		return 0, nil, DPOMetrics{}, fmt.Errorf("%w: dpo: %d ref sums for %d rows", ErrInvalid, len(in.RefSeq), len(in.Mask))
	}
	if in.Groups < 0 {
		return 0, nil, DPOMetrics{}, fmt.Errorf("%w: dpo groups %d: want >= 0 (0 = number of pairs)", ErrInvalid, in.Groups)
	}
	for k, p := range in.Pairs {
		if p.Chosen < 0 || p.Chosen >= len(in.Mask) || p.Rejected < 0 || p.Rejected >= len(in.Mask) {
			return 0, nil, DPOMetrics{}, fmt.Errorf("%w: dpo pair %d %v out of range [0,%d)", ErrInvalid, k, p, len(in.Mask))
		}
	}
	dLogp = shapeLike(dLogp, in.Mask)
	// rowCoef[i] accumulates dLoss/dS_i, the derivative wrt the row's sum.
	rowCoef := make([]float64, len(in.Mask))
	var m DPOMetrics
	var loss float64
	np := float64(len(in.Pairs))
	norm := np // the loss's divisor N
	if in.Groups > 0 {
		norm = float64(in.Groups)
	}
	for _, p := range in.Pairs {
		rc := beta * (seqSum(in.Logp[p.Chosen], in.Mask[p.Chosen]) - in.RefSeq[p.Chosen])
		rr := beta * (seqSum(in.Logp[p.Rejected], in.Mask[p.Rejected]) - in.RefSeq[p.Rejected])
		z := rc - rr
		loss += softplus(-z) / norm
		g := -sigmoid(-z) * beta / norm
		rowCoef[p.Chosen] += g
		rowCoef[p.Rejected] -= g
		m.Margin += z / np
		m.ChosenReward += rc / np
		m.RejectedReward += rr / np
		if z > 0 {
			m.Accuracy += 1 / np
		}
	}
	m.Pairs = len(in.Pairs)
	for i, mrow := range in.Mask {
		for t, w := range mrow {
			if w == 0 {
				dLogp[i][t] = 0 // not −0 when rowCoef < 0
				continue
			}
			dLogp[i][t] = rowCoef[i] * w
		}
	}
	return loss, dLogp, m, nil
}

func seqSum(logp, mask []float64) float64 {
	var s float64
	for t, m := range mask {
		s += m * logp[t]
	}
	return s
}

// softplus is log(1+e^x) without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// sigmoid is 1/(1+e^−x) without overflow.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
