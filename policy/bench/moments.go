package bench

import (
	"fmt"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// Count moments: the exact-k estimators with independent masks (sdmc,
// double_mc, double_mc_batch) are all weighted sums of single-pass values
// v_k = (L/k)·S_k, where S_k is the masked log-likelihood sum of a uniform
// k-subset, and they differ only in which counts they use with which
// coefficients. Measuring, per sequence, R independent v_k at every count k
// therefore gives the variance of each of them by the law of total
// variance, with the mask count integrated exactly rather than sampled.
// That matters for double MC: its variance is dominated by rare small
// counts (k = 1 is weighted L), which 32 Monte Carlo repeats sample badly,
// so its measured variance is heavy-tailed from run to run.

// countMoments holds vals[i][k−1][r]: the r-th single-pass value v_k of
// sequence i (L_i = len(vals[i])).
type countMoments struct {
	vals [][][]float64
}

// measureCountMoments evaluates reps masks at every count k ∈ [1, L_i] of
// every sequence of b, masks drawn from (seed, i, k, r).
// Cost: reps·Σ_i L_i forward passes.
func measureCountMoments(m elboModel, b policy.SeqBatch, reps int, seed uint64) (*countMoments, error) {
	type slot struct{ i, k, r int }
	var (
		slots []slot
		seq   []int
		masks [][]int
	)
	cm := &countMoments{vals: make([][][]float64, len(b.Prompts))}
	for i, c := range b.Completions {
		l := len(c)
		cm.vals[i] = make([][]float64, l)
		scratch := make([]int, l)
		for k := 1; k <= l; k++ {
			cm.vals[i][k-1] = make([]float64, reps)
			for r := range reps {
				seq = append(seq, i)
				masks = append(masks, objective.SelectMask(nil, scratch, l, k, objective.Key(seed, purposeBench, uint64(i), uint64(k), uint64(r))))
				slots = append(slots, slot{i, k, r})
			}
		}
	}
	sums, err := m.MaskedSums(b, seq, masks)
	if err != nil {
		return nil, err
	}
	for j, s := range sums {
		sl := slots[j]
		l := len(b.Completions[sl.i])
		cm.vals[sl.i][sl.k-1][sl.r] = float64(l) / float64(sl.k) * s
	}
	return cm, nil
}

// moments returns, for sequence i with the repeats idx (nil: all once), the
// mean μ_k and sample variance σ²_k (N−1) of v_k at each count.
func (cm *countMoments) moments(i int, idx []int) (mu, s2 []float64) {
	l := len(cm.vals[i])
	mu, s2 = make([]float64, l), make([]float64, l)
	for k, vs := range cm.vals[i] {
		n := len(vs)
		if idx != nil {
			n = len(idx)
		}
		at := func(r int) float64 {
			if idx != nil {
				return vs[idx[r]]
			}
			return vs[r]
		}
		for r := range n {
			mu[k] += at(r) / float64(n)
		}
		for r := range n {
			d := at(r) - mu[k]
			s2[k] += d * d / float64(n-1)
		}
	}
	return mu, s2
}

// scenario is one outcome of an estimator's count randomness, with
// probability prob: the estimate is then Σ coef_k·v_k summed over the
// scenario's evaluations, each with its own independent mask. terms holds,
// per count k (1-based, in first-use order — a slice, not a map, so that
// sums run in a fixed order and results are bit-reproducible), the summed
// coefficient of the evaluations at k and the sum of their squares.
type scenario struct {
	prob  float64
	terms []countTerm
}

// countTerm is the evaluations of a scenario at one count.
type countTerm struct {
	k        int
	coef, sq float64
}

// add adds an evaluation at count k with coefficient c.
func (s *scenario) add(k int, c float64) {
	for i := range s.terms {
		if s.terms[i].k == k {
			s.terms[i].coef += c
			s.terms[i].sq += c * c
			return
		}
	}
	s.terms = append(s.terms, countTerm{k: k, coef: c, sq: c * c})
}

// mixtureMoments returns the mean and variance of an estimator whose count
// randomness is the scenarios sc (probabilities summing to 1), from
// per-count moments measured with reps repeats each:
//
//	V = Σ_s π_s Σ_k sq_{s,k} σ²_k + Σ_s π_s (M_s − M̄)²,  M_s = Σ_k coef_{s,k} μ_k.
//
// The plug-in between-scenario term is corrected for the noise of the μ̂_k
// (which scenarios share): E[Σπ(M̂−M̂̄)²] exceeds the truth by
// Σ_s π_s Σ_k coef²_{s,k} σ²_k/R − Σ_k (Σ_s π_s coef_{s,k})² σ²_k/R.
func mixtureMoments(sc []scenario, mu, s2 []float64, reps int) (mean, variance float64) {
	ms := make([]float64, len(sc))
	avgCoef := make([]float64, len(mu)) // by count k−1
	var within, noise float64
	for j, s := range sc {
		for _, t := range s.terms {
			ms[j] += t.coef * mu[t.k-1]
			avgCoef[t.k-1] += s.prob * t.coef
			noise += s.prob * t.coef * t.coef * s2[t.k-1] / float64(reps)
			within += s.prob * t.sq * s2[t.k-1]
		}
		mean += s.prob * ms[j]
	}
	for k, a := range avgCoef {
		noise -= a * a * s2[k] / float64(reps)
	}
	var between float64
	for j, s := range sc {
		between += s.prob * (ms[j] - mean) * (ms[j] - mean)
	}
	return mean, within + between - noise
}

// momentScenarios returns the count scenarios of one estimate of cfg on a
// completion of l tokens, and the factor its variance is divided by:
// double_mc with StratifyBatch is computed as one pass (its passes are
// i.i.d. per rollout) with the variance divided by the number of passes.
// It fails for estimators whose masks are not independent given the
// counts (one_step with prompt masking, cyclic coupling).
func momentScenarios(cfg objective.ELBOConfig, l int) ([]scenario, float64, error) {
	if cfg.Coupling == objective.CouplingCyclic || cfg.Estimator == objective.EstOneStep {
		return nil, 0, fmt.Errorf("%w: count moments need independent exact-k masks, not %s/%s", policy.ErrInput, cfg.Estimator, cfg.Coupling)
	}
	if cfg.Estimator != objective.EstDoubleMC {
		plan, err := cfg.Plan(nil, l, 0, 0)
		if err != nil {
			return nil, 0, err
		}
		s := scenario{prob: 1}
		for _, e := range plan {
			if e.K > 0 {
				// Coef·S_K = Coef·(K/L)·v_K.
				s.add(e.K, e.Coef*float64(e.K)/float64(l))
			}
		}
		return []scenario{s}, 1, nil
	}
	passes := max(cfg.Draws, 1)
	if cfg.Stratify == objective.StratifyBatch {
		sc := make([]scenario, l)
		for k := 1; k <= l; k++ {
			sc[k-1] = scenario{prob: 1 / float64(l)}
			sc[k-1].add(k, 1)
		}
		return sc, float64(passes), nil
	}
	sc := make([]scenario, l)
	counts := make([]int, passes)
	for k0 := 1; k0 <= l; k0++ {
		sc[k0-1] = scenario{prob: 1 / float64(l)}
		for _, x := range objective.StratifiedCounts(counts, k0, l) {
			// Coef·S_x = L/(x·P)·(x/L)·v_x = v_x/P.
			sc[k0-1].add(x, 1/float64(passes))
		}
	}
	return sc, 1, nil
}

// momentRow returns the mean over sequences seqs (nil: all) of the
// per-sequence variance and bias (mean − ref) of cfg computed from the
// count moments with repeats idx (nil: all).
func (cm *countMoments) momentRow(cfg objective.ELBOConfig, ref []float64, reps int, idx, seqs []int) (variance, bias float64, err error) {
	if seqs == nil {
		seqs = make([]int, len(cm.vals))
		for i := range seqs {
			seqs[i] = i
		}
	}
	if idx != nil {
		reps = len(idx)
	}
	for _, i := range seqs {
		sc, div, err := momentScenarios(cfg, len(cm.vals[i]))
		if err != nil {
			return 0, 0, err
		}
		mu, s2 := cm.moments(i, idx)
		mean, v := mixtureMoments(sc, mu, s2, reps)
		variance += v / div
		bias += mean - ref[i]
	}
	return variance / float64(len(seqs)), bias / float64(len(seqs)), nil
}

// CountProfile is the ELBO integrand of a bench batch at one mask count:
// the single-pass value v_k = (L/k)·S_k averaged over the sequences with at
// least K completion tokens.
type CountProfile struct {
	// K is the mask count and T = K/L its masking time (L of the first
	// sequence long enough; the bench's canvases share one L).
	K int
	T float64
	// Mean is the mean over sequences of E[v_k]; MaskVariance the mean of
	// Var(v_k) over masks at this count. Summed over k and divided by L,
	// MaskVariance is the within-count part of one double-MC pass's
	// variance; the between-count part is the spread of the per-sequence
	// means.
	Mean, MaskVariance float64
	// Sequences is how many sequences have a count K.
	Sequences int
}

// profile returns the count profile of the measured moments.
func (cm *countMoments) profile() []CountProfile {
	var out []CountProfile
	for i := range cm.vals {
		mu, s2 := cm.moments(i, nil)
		for k := range mu {
			if k == len(out) {
				out = append(out, CountProfile{K: k + 1, T: float64(k+1) / float64(len(mu))})
			}
			out[k].Mean += mu[k]
			out[k].MaskVariance += s2[k]
			out[k].Sequences++
		}
	}
	for k := range out {
		out[k].Mean /= float64(out[k].Sequences)
		out[k].MaskVariance /= float64(out[k].Sequences)
	}
	return out
}
