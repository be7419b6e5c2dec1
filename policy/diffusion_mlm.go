package policy

import (
	"fmt"
	"math"

	"github.com/rlpipe/rlpipe/policy/objective"
)

// Purposes of the diffusion model's random streams (objective.Key ids), so
// that equal (seed, row) pairs of different uses never share draws.
const (
	purposeMaskedLM uint64 = 0x646d6c6d // "dmlm"
	purposeGenerate uint64 = 0x6467656e // "dgen"
)

// Masking schemes of the masked-diffusion SFT objective
// (AccumulateMaskedLMWith).
const (
	// MaskingDiscrete masks exactly k ~ U{1..L} tokens with weight L/k (see
	// maskedLMDraw). Default.
	MaskingDiscrete = "discrete"
	// MaskingContinuous is the continuous-time form as LLaDA's pre-training
	// states it: t ~ U(ε, 1) with ε = 10⁻³, each completion token masked
	// independently with probability t, weight 1/t (see
	// maskedLMDrawContinuous).
	MaskingContinuous = "continuous"
)

// maskedLMMinT is LLaDA's floor on the continuous masking time.
const maskedLMMinT = 1e-3

// maskedLMDraw returns the masking rate t = k/l and the masked completion
// positions (ascending) of row `row` of a masked-LM batch of `rows` rows
// with completion length l.
//
// It uses the discrete form of the masked-diffusion bound that LLaDA uses
// for likelihoods (its lower-variance Eq. 6, the same count scheme as the
// double_mc estimator): k ~ U{1..l} positions masked exactly, weight l/k,
//
//	−log p(y|q) ≤ E_k E_mask[ (l/k) Σ_{masked} −log p_θ(y_i | y_masked, q) ],
//
// rather than t ~ U(0,1) with Bernoulli(t) masking and weight 1/t, whose
// weight reaches 1000 at LLaDA's floor t = 10⁻³, so that a rare small-t row
// can dominate the clipped gradient of a step. The counts of a batch are
// stratified (MDLM's low-discrepancy sampler): u_i = frac(u₀ + i/rows) with
// one shared u₀ and k = 1 + ⌊u_i·l⌋, so each row's k is still uniform but
// every batch covers all masking levels evenly. The draws come from
// objective.NewStream(objective.Key(seed, ·, "dmlm")).
func maskedLMDraw(seed uint64, row, rows, l int) (t float64, masked []int) {
	batch := objective.NewStream(objective.Key(seed, purposeMaskedLM))
	u := batch.Float64() + float64(row)/float64(rows)
	u -= math.Floor(u)
	k := min(1+int(u*float64(l)), l)
	masked = objective.SelectMask(nil, nil, l, k, objective.Key(seed, uint64(row), purposeMaskedLM))
	return float64(k) / float64(l), masked
}

// maskedLMDrawContinuous returns t and the masked positions of row `row`
// under MaskingContinuous: t = ε + (1−ε)·u with u stratified across the
// batch as in maskedLMDraw, and each of the l positions masked with
// probability t. A row may mask nothing; it then contributes 0.
func maskedLMDrawContinuous(seed uint64, row, rows, l int) (t float64, masked []int) {
	batch := objective.NewStream(objective.Key(seed, purposeMaskedLM, 1))
	u := batch.Float64() + float64(row)/float64(rows)
	u -= math.Floor(u)
	t = maskedLMMinT + (1-maskedLMMinT)*u
	s := objective.NewStream(objective.Key(seed, uint64(row), purposeMaskedLM, 1))
	for j := range l {
		if s.Float64() < t {
			masked = append(masked, j)
		}
	}
	return t, masked
}

// AccumulateMaskedLM is AccumulateMaskedLMWith(…, MaskingDiscrete).
func (m *DiffusionModel) AccumulateMaskedLM(prompts, completions [][]int32, seed uint64) (float64, error) {
	return m.AccumulateMaskedLMWith(prompts, completions, seed, MaskingDiscrete)
}

// AccumulateMaskedLMWith runs LLaDA's supervised masked-diffusion objective on
// (prompt, completion) pairs and ADDS its gradient into the gradient
// buffers (call ZeroGrad between optimizer steps). Row i of B masks
// exactly k_i of its L_i completion tokens, k_i uniform on {1..L_i} and
// stratified across the batch (see maskedLMDraw; t_i = k_i/L_i), or with
// MaskingContinuous each token with probability t_i ~ U(10⁻³, 1) (see
// maskedLMDrawContinuous); keyed by (seed, i) only — so pass a seed
// that already mixes the run seed, the step and the micro-batch. The prompt
// stays clean. The loss, returned, is LLaDA's SFT normalisation: per
// sequence the 1/t-weighted masked cross-entropy divided by the completion
// length, averaged over the batch,
//
//	loss = (1/B) Σ_i (1/L_i) Σ_{j masked} −log p_θ(y_ij | masked canvas) / t_i,
//
// an upper bound on the per-token negative log-likelihood (ALGORITHMS §3.1).
// Cost: one forward and backward pass over the canvases, in graphs of at
// most 128 canvases. Serialises with ELBO and AccumulateELBO.
func (m *DiffusionModel) AccumulateMaskedLMWith(prompts, completions [][]int32, seed uint64, masking string) (float64, error) {
	draw := maskedLMDraw
	switch masking {
	case MaskingDiscrete, "":
	case MaskingContinuous:
		draw = maskedLMDrawContinuous
	default:
		return 0, fmt.Errorf("%w: masked-LM masking %q: want %s or %s", ErrInput, masking, MaskingDiscrete, MaskingContinuous)
	}
	width, err := m.checkBatch(prompts, completions)
	if err != nil {
		return 0, err
	}
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	n := len(prompts)
	var total float64
	for lo := 0; lo < n; lo += m.chunk() {
		hi := min(lo+m.chunk(), n)
		g, weight := m.maskedLMGrid(prompts[lo:hi], completions[lo:hi], draw, seed, lo, n, width)
		loss, err := m.trainGrid(g, maskedLMObjective(g, weight, n))
		if err != nil {
			return 0, err
		}
		total += loss
	}
	return total, nil
}

// maskedLMGrid builds the canvases of rows first..first+len(prompts)−1 of a
// masked-LM batch of rows rows and returns each row's loss weight
// 1/(t_i·L_i).
func (m *DiffusionModel) maskedLMGrid(prompts, comps [][]int32, draw maskedLMDrawFunc, seed uint64, first, rows, width int) (*canvasGrid, []float64) {
	g := newCanvasGrid(len(prompts), width)
	weight := make([]float64, len(prompts))
	for i, p := range prompts {
		t, masked := draw(seed, first+i, rows, len(comps[i]))
		g.fill(i, p, comps[i], masked, nil)
		weight[i] = 1 / (t * float64(len(comps[i])))
	}
	return g, weight
}

// maskedLMDrawFunc is maskedLMDraw or maskedLMDrawContinuous.
type maskedLMDrawFunc func(seed uint64, row, rows, l int) (t float64, masked []int)

// maskedLMObjective is the graph hook of AccumulateMaskedLM on grid g whose
// canvas r carries loss weight weight[r]/n: loss = −Σ_r Σ_masked
// weight[r]·log p / n.
func maskedLMObjective(g *canvasGrid, weight []float64, n int) func(flat []float64) (float64, []float64, error) {
	return func(flat []float64) (float64, []float64, error) {
		d := make([]float64, len(flat))
		var loss float64
		for j, t := range g.targets {
			if t >= 0 {
				w := weight[j/g.T] / float64(n)
				loss -= w * flat[j]
				d[j] = -w
			}
		}
		return loss, d, nil
	}
}
