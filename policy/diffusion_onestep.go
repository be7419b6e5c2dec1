package policy

import (
	"fmt"

	"github.com/rlpipe/rlpipe/policy/objective"
)

// TokenLossFunc is a per-token objective evaluated outside the graph: given
// log-probs with one row per sequence and one entry per completion position,
// it returns the loss and dLoss/dlogp of the same shape, e.g.
// objective.GDPOTokenLoss's DLogp.
type TokenLossFunc func(logp [][]float64) (loss float64, dLogp [][]float64, err error)

// planOneStep is planELBO restricted to the one_step estimator, whose plan
// has exactly one canvas per sequence (every completion position masked),
// so canvas r is sequence r and its scored positions are the completion.
func (m *DiffusionModel) planOneStep(b SeqBatch, cfg objective.ELBOConfig, seed uint64, keys []uint64) (*elboPlan, error) {
	if cfg.Estimator != objective.EstOneStep {
		return nil, fmt.Errorf("%w: per-token log-probs need the one_step estimator, not %q", ErrInput, cfg.Estimator)
	}
	return m.planELBO(b, cfg, seed, keys)
}

// tokenLogp copies the completion log-probs of the grid's canvases (the
// plan's canvases lo, lo+1, …) from flat into dst's rows.
func (p *elboPlan) tokenLogp(dst [][]float64, g *canvasGrid, lo int, flat []float64) {
	for j := range g.R {
		i := p.seq[lo+j]
		base := j*g.T + len(p.b.Prompts[i])
		dst[i] = append(dst[i][:0], flat[base:base+len(p.b.Completions[i])]...)
	}
}

// spreadTokens is tokenLogp's transpose: dLoss/dflat of the grid from the
// per-token gradient d.
func (p *elboPlan) spreadTokens(g *canvasGrid, lo int, d [][]float64) []float64 {
	out := make([]float64, g.R*g.T)
	for j := range g.R {
		i := p.seq[lo+j]
		copy(out[j*g.T+len(p.b.Prompts[i]):], d[i])
	}
	return out
}

// tokenValues are the sequences' one-step token log-probs.
var tokenValues = planValues[[][]float64]{
	alloc:  func(p *elboPlan) [][]float64 { return make([][]float64, p.n) },
	gather: (*elboPlan).tokenLogp,
	spread: (*elboPlan).spreadTokens,
}

// checkedTokens wraps lossGrad with error context and a shape check.
func (p *elboPlan) checkedTokens(lossGrad TokenLossFunc) TokenLossFunc {
	return func(logp [][]float64) (float64, [][]float64, error) {
		loss, d, err := lossGrad(logp)
		if err != nil {
			return 0, nil, fmt.Errorf("objective: %w", err)
		}
		if len(d) != len(logp) {
			return 0, nil, fmt.Errorf("objective returned %d gradient rows for %d sequences", len(d), len(logp))
		}
		for i := range d {
			if len(d[i]) != len(logp[i]) {
				return 0, nil, fmt.Errorf("objective returned %d gradients for the %d tokens of sequence %d", len(d[i]), len(logp[i]), i)
			}
		}
		return loss, d, nil
	}
}

// OneStepLogProbs returns diffu-GRPO's one-step log-probs (d1, ALGORITHMS
// §3.4): ℓ̂[i][k] = log p_θ(y_k | canvas_i) at every completion position k,
// where canvas_i masks the whole completion and the prompt positions drawn
// by objective.PromptMask from (seed, rolloutKeys[i]) with
// cfg.PromptMaskProb. Row i sums to ELBO's one_step estimate. Any model
// (current, old, reference) called with the same b, cfg, seed and keys sees
// identical canvases. cfg.Estimator must be one_step. Temperature 1, no
// gradients. Cost: one canvas per sequence, in graphs of at most 128.
// Serialises with the other forward and training passes.
func (m *DiffusionModel) OneStepLogProbs(b SeqBatch, cfg objective.ELBOConfig, seed uint64, rolloutKeys []uint64) ([][]float64, error) {
	p, err := m.planOneStep(b, cfg, seed, rolloutKeys)
	if err != nil {
		return nil, err
	}
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	return evalPlan(p, tokenValues, m.chunk(), m.forwardGrid)
}

// AccumulateOneStep computes the one-step log-probs of b exactly as
// OneStepLogProbs does (same canvases for the same seed and keys), calls
// lossGrad once with them, back-propagates its per-token gradient and ADDS
// the weight gradients into the gradient buffers (call ZeroGrad between
// optimizer steps). It returns lossGrad's loss. Cost: one forward and one
// backward pass per canvas when the batch fits one graph (128 canvases);
// beyond that an extra no-gradient forward pass, as AccumulateELBO.
func (m *DiffusionModel) AccumulateOneStep(b SeqBatch, cfg objective.ELBOConfig, seed uint64, rolloutKeys []uint64, lossGrad TokenLossFunc) (float64, error) {
	p, err := m.planOneStep(b, cfg, seed, rolloutKeys)
	if err != nil {
		return 0, err
	}
	call := p.checkedTokens(lossGrad)
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	return accumulatePlan(m, p, tokenValues, call)
}
