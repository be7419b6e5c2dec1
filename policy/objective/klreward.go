package objective

import (
	"fmt"
	"math"
)

// KLInReward applies verl's use_kl_in_reward (ALGORITHMS §1.4) to outcome
// rewards before advantages: each token's reward becomes r_t − β·(ℓ^old_t
// − ℓ^ref_t) (the k1 estimator of the behaviour policy against the frozen
// reference), and since the outcome reward sits on the last token and
// advantages sum the token-level rewards (§1.2), row i's reward becomes
//
//	R_i ← R_i − β·Σ_t m_{i,t}·(ℓ^old_{i,t} − ℓ^ref_{i,t})
//
// rewards is updated in place (NaN rewards stay NaN); the per-row penalty
// β·Σ_t m·(ℓ^old − ℓ^ref) is written to dst (reused when long enough) and
// returned. old, ref and mask have one row per reward, of equal lengths.
// The penalty is not differentiated: it only shapes the advantages. Cost
// O(Σ row lengths).
func KLInReward(dst, rewards []float64, old, ref, mask [][]float64, beta float64) ([]float64, error) {
	if math.IsNaN(beta) || math.IsInf(beta, 0) || beta < 0 {
		return dst, fmt.Errorf("%w: kl_in_reward coefficient %v: want >= 0", ErrInvalid, beta)
	}
	if len(mask) != len(rewards) {
		return dst, fmt.Errorf("%w: kl_in_reward: %d rewards but %d mask rows", ErrInvalid, len(rewards), len(mask))
	}
	for _, mt := range []struct {
		name string
		x    [][]float64
	}{{"old_logp", old}, {"ref_logp", ref}} {
		if err := sameShape(mt.name, mt.x, mask); err != nil {
			return dst, err
		}
	}
	dst = resizeFloats(dst, len(rewards))
	for i, mrow := range mask {
		var kl float64
		for t, m := range mrow {
			kl += m * (old[i][t] - ref[i][t])
		}
		dst[i] = beta * kl
		rewards[i] -= dst[i]
	}
	return dst, nil
}
