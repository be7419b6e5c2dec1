package objective

import (
	"fmt"
	"math"
	"slices"
)

// Estimator names a sequence log-likelihood estimator for masked diffusion
// LMs (ALGORITHMS §3).
type Estimator string

// Estimators.
const (
	// EstSDMC is GDPO's semi-deterministic Monte Carlo: quadrature over t,
	// Draws exact-k masks per node (§3.2). rlpipe default.
	EstSDMC Estimator = "sdmc"
	// EstDoubleMC is LLaDA's stratified double Monte Carlo (MCEstimator):
	// Draws passes with exact-k masks whose counts are stratified over the
	// rollout's passes or over the batch (ELBOConfig.Stratify; §3.2).
	EstDoubleMC Estimator = "double_mc"
	// EstOneStep is diffu-GRPO's one-step estimate: every completion token
	// masked once, the sequence sum of the per-token log-probs (§3.4).
	EstOneStep Estimator = "one_step"
)

// Mask couplings (ELBOConfig.Coupling): how the masks of one rollout's
// evaluations are drawn relative to each other.
const (
	// CouplingIndependent draws every evaluation's mask on its own, as the
	// GDPO reference and LLaDA do (the zero value).
	CouplingIndependent = "independent"
	// CouplingCyclic (rlpipe's extension and default) draws one uniform permutation π of
	// the completion positions per rollout and lets the evaluations take
	// consecutive cyclic windows of it: eval e masks π[o_e .. o_e+K_e)
	// (mod L) with o_e = K_0 + … + K_{e−1}. Each mask is still a uniform
	// K_e-subset, so every evaluation — and the estimate — keeps its
	// expectation; but the masks avoid each other, so that, e.g., gauss-2's
	// two nodes (k = 13 and 50 of a 64-token canvas) cover 63 distinct
	// positions instead of overlapping at random. Which positions are
	// masked is the main noise of an ELBO estimate once the time integral
	// is done by quadrature (a canvas mixes hard answer tokens with easy
	// <eos> padding), and spreading the masks makes the nodes' errors
	// cancel.
	CouplingCyclic = "cyclic"
)

// Stratifications of double_mc's mask counts (ELBOConfig.Stratify). Both
// are LLaDA's forward process (one random start k₀, counts spread evenly
// over [1, L]); they differ in what the counts are spread over, which
// decides the variance of one rollout's estimate.
const (
	// StratifyRollout spreads the counts of one rollout's Draws passes from
	// one start, as LLaDA's likelihood evaluation does (it replicates one
	// sequence across its batch): at 2 passes one count falls in each half
	// of [1, L]. Default.
	StratifyRollout = "rollout"
	// StratifyBatch is the GDPO reference's MCEstimator as its trainer runs
	// it on a batch of different rollouts (mc_batch_size 1, num_batches =
	// Draws): each pass draws one start for the whole batch and spreads the
	// counts over the batch's rows. Per rollout, its passes' counts are
	// then independent and uniform on {1..L}: vanilla double Monte Carlo.
	StratifyBatch = "batch"
)

// ELBOConfig configures the masking plan. The zero value is valid and is
// the GDPO reference: sdmc, gauss-2, one draw, MaskMin 0 (unclamped k),
// independent masks. [DefaultELBOConfig] gives rlpipe's choices MaskMin = 1
// (NeMo, ALGORITHMS §7) and cyclic coupling.
type ELBOConfig struct {
	// Estimator is sdmc (default), double_mc or one_step.
	Estimator Estimator `yaml:"estimator"`
	// Rule is the sdmc quadrature; "" means gauss-2.
	Rule Rule `yaml:"rule"`
	// Draws is K: mask draws per node (sdmc) or stratified copies
	// (double_mc); 0 means 1.
	Draws int `yaml:"draws"`
	// MaskMin is the lower clamp of the sdmc mask count: 1 (rlpipe, NeMo)
	// or 0 (the reference; a node may then mask nothing and contribute 0).
	MaskMin int `yaml:"mask_min"`
	// PromptMaskProb is one_step's probability of masking each prompt token
	// (d1 p_mask_prompt; see [PromptMask]). Ignored by the other estimators.
	PromptMaskProb float64 `yaml:"prompt_mask_prob"`
	// Coupling is CouplingIndependent ("" too) or CouplingCyclic.
	Coupling string `yaml:"coupling"`
	// Stratify is double_mc's StratifyRollout ("" too) or StratifyBatch.
	// Ignored by the other estimators.
	Stratify string `yaml:"stratify"`
}

// DefaultELBOConfig returns sdmc, gauss-2, one draw, MaskMin 1, cyclic
// masks (and double_mc's rollout stratification, should the estimator be
// switched). Cyclic coupling is rlpipe's choice over the GDPO reference's
// independent masks: same expectation, and on the default diffusion
// checkpoint (64-token canvas) about half the variance at the default 2
// passes (bench elbo, 128 rollouts: 18.0 [10.4, 27.5] vs 33.7 [16.3, 55.2]).
// On the older 32-token checkpoint the two were equal at 2 passes and
// cyclic lower at 4 and 8, and default GDPO runs with either coupling
// gained the same (+1.5 ± 0.6 points greedy, +2.7 ± 0.4 / +2.8 ± 0.4
// sampled on 1329 problems).
func DefaultELBOConfig() ELBOConfig {
	return ELBOConfig{Estimator: EstSDMC, Rule: RuleGauss2, Draws: 1, MaskMin: 1,
		Coupling: CouplingCyclic, Stratify: StratifyRollout}
}

// Validate reports unknown names and out-of-range values.
func (c ELBOConfig) Validate() error {
	switch c.Estimator {
	case "", EstSDMC, EstDoubleMC, EstOneStep:
	default:
		return fmt.Errorf("%w: elbo.estimator %q: want sdmc, double_mc or one_step", ErrInvalid, c.Estimator)
	}
	if _, _, err := Quadrature(c.Rule); err != nil {
		return fmt.Errorf("elbo.rule: %w", err)
	}
	switch {
	case c.Draws < 0:
		return fmt.Errorf("%w: elbo.draws %d: want >= 0", ErrInvalid, c.Draws)
	case c.MaskMin != 0 && c.MaskMin != 1:
		return fmt.Errorf("%w: elbo.mask_min %d: want 0 or 1", ErrInvalid, c.MaskMin)
	case !(c.PromptMaskProb >= 0 && c.PromptMaskProb < 1):
		return fmt.Errorf("%w: elbo.prompt_mask_prob %v: want [0,1)", ErrInvalid, c.PromptMaskProb)
	case c.Coupling != "" && c.Coupling != CouplingIndependent && c.Coupling != CouplingCyclic:
		return fmt.Errorf("%w: elbo.coupling %q: want %s or %s", ErrInvalid, c.Coupling, CouplingIndependent, CouplingCyclic)
	case c.Stratify != "" && c.Stratify != StratifyRollout && c.Stratify != StratifyBatch:
		return fmt.Errorf("%w: elbo.stratify %q: want %s or %s", ErrInvalid, c.Stratify, StratifyRollout, StratifyBatch)
	}
	return nil
}

func (c ELBOConfig) draws() int { return max(c.Draws, 1) }

// Eval is one masked forward pass of a plan: mask K of the L completion
// positions (chosen by [ELBOConfig.Mask]), score the masked tokens, and let
// S = Σ_{masked} log p(y_i | y_t, q). The estimate is ELBO = Σ_e Coef_e·S_e,
// so dELBO/dℓ at a masked position of eval e is Coef_e.
type Eval struct {
	Node, Draw int     // mask key components
	T          float64 // masking time
	K          int     // masked completion positions (0 possible with MaskMin 0: skip the pass)
	Coef       float64 // w_n/(t_n·Draws) for sdmc; L/(K·Draws) for double_mc; 1 for one_step
	Offset     int     // start of the eval's window in the rollout's permutation (CouplingCyclic)
}

// MaskCount is the exact-k mask count k = clamp(floor(t·L), minK, L) (§3.2;
// minK 0 is the reference, 1 is NeMo/rlpipe).
func MaskCount(t float64, l, minK int) int {
	k := int(math.Floor(t * float64(l)))
	return max(minK, min(k, l))
}

// Plan appends the evaluations of one rollout with L completion positions to
// dst. seed should already mix the run seed and the step; rollout identifies
// the rollout, so the current, old and reference ELBOs of a rollout, computed
// with the same (seed, rollout), share every mask (pitfall §3.6.2). Plan
// treats the rollout as a batch of its own; see [ELBOConfig.PlanRow].
func (c ELBOConfig) Plan(dst []Eval, l int, seed, rollout uint64) ([]Eval, error) {
	return c.PlanRow(dst, l, seed, rollout, BatchRow{Index: 0, Size: 1})
}

// BatchRow is a rollout's row in the batch it is trained with: double_mc
// with StratifyBatch spreads each pass's mask counts over the batch's rows.
// Mini-batches must keep the rows of the full batch, so that the current
// and old ELBOs of a rollout share their masks.
type BatchRow struct{ Index, Size int }

// PlanRow is Plan for the rollout in row r of its batch. Only double_mc
// with StratifyBatch depends on r: pass d masks
// StratifiedCounts(r.Size copies, k₀_d, L)[r.Index] positions, with k₀_d
// drawn from (seed, d) alone, i.e. shared by the batch.
func (c ELBOConfig) PlanRow(dst []Eval, l int, seed, rollout uint64, r BatchRow) ([]Eval, error) {
	if err := c.Validate(); err != nil {
		return dst, err
	}
	if l <= 0 {
		return dst, fmt.Errorf("%w: elbo plan: completion length %d", ErrInvalid, l)
	}
	if r.Size < 1 || r.Index < 0 || r.Index >= r.Size {
		return dst, fmt.Errorf("%w: elbo plan: batch row %d of %d", ErrInvalid, r.Index, r.Size)
	}
	first := len(dst)
	k := c.draws()
	switch c.Estimator {
	case EstOneStep:
		return append(dst, Eval{T: 1, K: l, Coef: 1}), nil
	case EstDoubleMC:
		counts := make([]int, k)
		if c.Stratify == StratifyBatch {
			for d := range counts {
				s := NewStream(Key(seed, purposeStratified, uint64(d)))
				counts[d] = stratifiedCount(1+s.Intn(l), l, r.Index, r.Size)
			}
		} else {
			s := NewStream(Key(seed, rollout, purposeStratified))
			StratifiedCounts(counts, 1+s.Intn(l), l)
		}
		for i, x := range counts {
			dst = append(dst, Eval{Node: i, T: float64(x) / float64(l), K: x,
				Coef: float64(l) / (float64(x) * float64(k))})
		}
	default:
		ts, ws, _ := Quadrature(c.Rule)
		for n, t := range ts {
			for d := range k {
				dst = append(dst, Eval{Node: n, Draw: d, T: t, K: MaskCount(t, l, c.MaskMin),
					Coef: ws[n] / (t * float64(k))})
			}
		}
	}
	if c.Coupling == CouplingCyclic {
		o := 0
		for i := first; i < len(dst); i++ {
			dst[i].Offset = o
			o = (o + dst[i].K) % l
		}
	}
	return dst, nil
}

// StratifiedCounts fills dst (its length b = number of copies) with LLaDA's
// stratified mask counts for start k0 ∈ [1, L]:
//
//	x_i = roundHalfEven(k0 + i·L/b);  x_i = ((x_i − 1) mod L) + 1
//
// (torch.linspace then torch.round). It panics if L <= 0.
func StratifiedCounts(dst []int, k0, l int) []int {
	if l <= 0 {
		panic("objective: StratifiedCounts with L <= 0")
	}
	for i := range dst {
		dst[i] = stratifiedCount(k0, l, i, len(dst))
	}
	return dst
}

// stratifiedCount is entry i of StratifiedCounts with b copies.
func stratifiedCount(k0, l, i, b int) int {
	x := int(math.RoundToEven(float64(k0) + float64(i)*float64(l)/float64(b)))
	return (x-1)%l + 1
}

// Mask returns the sorted completion positions (0..L−1) that eval e masks
// for (seed, rollout), reusing dst and scratch (length ≥ L avoids
// allocation). Independent coupling draws from NewStream(Key(seed, rollout,
// Node, Draw, purpose)); cyclic coupling takes e's window of the rollout's
// permutation from NewStream(Key(seed, rollout, purpose)). The prompt is
// never masked here (one_step's prompt masking is [PromptMask]).
func (c ELBOConfig) Mask(dst, scratch []int, l int, seed, rollout uint64, e Eval) []int {
	if c.Coupling != CouplingCyclic || e.K == 0 || e.K == l {
		return SelectMask(dst, scratch, l, e.K, Key(seed, rollout, uint64(e.Node), uint64(e.Draw), purposeMask))
	}
	return cyclicWindow(dst, scratch, l, e, Key(seed, rollout, purposeCycle))
}

// cyclicWindow returns the sorted window π[Offset .. Offset+K) (mod L) of
// the uniform permutation π drawn from NewStream(key) by Fisher–Yates.
func cyclicWindow(dst, scratch []int, l int, e Eval, key uint64) []int {
	scratch = resizeInts(scratch, l)
	for i := range scratch {
		scratch[i] = i
	}
	s := NewStream(key)
	for i := 0; i < l-1; i++ {
		j := i + s.Intn(l-i)
		scratch[i], scratch[j] = scratch[j], scratch[i]
	}
	dst = resizeInts(dst, 0)
	for i := range e.K {
		dst = append(dst, scratch[(e.Offset+i)%l])
	}
	slices.Sort(dst)
	return dst
}

// SelectMask returns k distinct positions of [0, L), uniformly chosen by a
// partial Fisher–Yates shuffle driven by NewStream(key), sorted ascending.
// k = L returns every position without drawing. It panics if k is not in
// [0, L].
func SelectMask(dst, scratch []int, l, k int, key uint64) []int {
	if k < 0 || k > l {
		panic(fmt.Sprintf("objective: SelectMask k=%d outside [0,%d]", k, l))
	}
	scratch = resizeInts(scratch, l)
	for i := range scratch {
		scratch[i] = i
	}
	if k < l {
		s := NewStream(key)
		for i := range k {
			j := i + s.Intn(l-i)
			scratch[i], scratch[j] = scratch[j], scratch[i]
		}
	}
	dst = append(resizeInts(dst, 0), scratch[:k]...)
	slices.Sort(dst)
	return dst
}

// PromptMask sets dst[i] (length n, reused) to true with probability p for
// each of n prompt positions, from NewStream(Key(seed, rollout, purpose)):
// d1's one-step estimator masks the prompt this way; the current, old and
// reference passes must use the same (seed, rollout).
func PromptMask(dst []bool, n int, p float64, seed, rollout uint64) []bool {
	if cap(dst) >= n {
		dst = dst[:n]
	} else {
		dst = make([]bool, n)
	}
	s := NewStream(Key(seed, rollout, purposePrompt))
	for i := range dst {
		dst[i] = s.Float64() < p
	}
	return dst
}

// CombineELBO returns Σ_e plan[e].Coef·sums[e], the ELBO estimate from the
// per-evaluation masked log-likelihood sums (a sum over tokens, not
// length-normalised; §3.2). It panics if the lengths differ.
func CombineELBO(plan []Eval, sums []float64) float64 {
	if len(plan) != len(sums) {
		panic("objective: CombineELBO with mismatched lengths")
	}
	var elbo float64
	for e, ev := range plan {
		elbo += ev.Coef * sums[e]
	}
	return elbo
}
