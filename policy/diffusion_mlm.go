package policy

import (
	"github.com/rlpipe/rlpipe/policy/objective"
)

// Purposes of the diffusion model's random streams (objective.Key ids), so
// that equal (seed, row) pairs of different uses never share draws.
const (
	purposeMaskedLM uint64 = 0x646d6c6d // "dmlm"
	purposeGenerate uint64 = 0x6467656e // "dgen"
	purposeBench    uint64 = 0x6462656e // "dben"
)

// maskedLMEps is LLaDA's floor on the masking rate: t = ε + (1 − ε)·u with
// u ~ U[0,1), so the 1/t weight stays below 1000.
const maskedLMEps = 1e-3

// maskedLMDraw returns the masking rate t and the masked completion
// positions (ascending) of row `row` of a masked-LM batch with completion
// length l: every position is masked independently with probability t, and
// if none is, one uniformly chosen position is. The draws come from
// objective.NewStream(objective.Key(seed, row, "dmlm")).
func maskedLMDraw(seed uint64, row, l int) (t float64, masked []int) {
	s := objective.NewStream(objective.Key(seed, uint64(row), purposeMaskedLM))
	t = maskedLMEps + (1-maskedLMEps)*s.Float64()
	for j := range l {
		if s.Float64() < t {
			masked = append(masked, j)
		}
	}
	if len(masked) == 0 {
		masked = append(masked, s.Intn(l))
	}
	return t, masked
}

// AccumulateMaskedLM runs LLaDA's supervised masked-diffusion objective on
// (prompt, completion) pairs and ADDS its gradient into the gradient
// buffers (call ZeroGrad between optimizer steps). Row i draws
// t_i = 0.001 + 0.999·u (u ~ U[0,1)) and masks each completion token with
// probability t_i (at least one), keyed by (seed, i) only — so pass a seed
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
func (m *DiffusionModel) AccumulateMaskedLM(prompts, completions [][]int32, seed uint64) (float64, error) {
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
		g, weight := m.maskedLMGrid(prompts[lo:hi], completions[lo:hi], seed, lo, width)
		loss, err := m.trainGrid(g, maskedLMObjective(g, weight, n))
		if err != nil {
			return 0, err
		}
		total += loss
	}
	return total, nil
}

// maskedLMGrid builds the canvases of rows first..first+len(prompts)−1 of a
// masked-LM batch and returns each row's loss weight 1/(t_i·L_i).
func (m *DiffusionModel) maskedLMGrid(prompts, comps [][]int32, seed uint64, first, width int) (*canvasGrid, []float64) {
	g := newCanvasGrid(len(prompts), width)
	weight := make([]float64, len(prompts))
	for i, p := range prompts {
		t, masked := maskedLMDraw(seed, first+i, len(comps[i]))
		g.fill(i, p, comps[i], masked, nil)
		weight[i] = 1 / (t * float64(len(comps[i])))
	}
	return g, weight
}

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
