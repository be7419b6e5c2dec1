package policy

import (
	"fmt"

	"github.com/rlpipe/rlpipe/policy/objective"
)

// elboPlan is the masking plan of a batch under an ELBOConfig: one canvas
// per plan evaluation with K > 0 (an evaluation masking nothing contributes
// 0 and costs no pass), in sequence order.
type elboPlan struct {
	b     SeqBatch
	width int
	n     int       // sequences
	seq   []int     // sequence of each canvas
	coef  []float64 // Eval.Coef of each canvas
	masks [][]int   // masked completion positions of each canvas
	pmask [][]bool  // masked prompt positions (one_step with prompt masking), else nil
}

// planELBO validates the inputs and draws every mask of the batch from
// (seed, rolloutKeys[i]) through ELBOConfig.Plan, Mask and PromptMask, so
// that any model evaluated on the same arguments sees the same canvases.
func (m *DiffusionModel) planELBO(b SeqBatch, cfg objective.ELBOConfig, seed uint64, keys []uint64) (*elboPlan, error) {
	width, err := m.checkBatch(b.Prompts, b.Completions)
	if err != nil {
		return nil, err
	}
	if len(keys) != len(b.Prompts) {
		return nil, fmt.Errorf("%w: %d rollout keys for %d sequences", ErrInput, len(keys), len(b.Prompts))
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if b.Rows != nil && len(b.Rows) != len(b.Prompts) {
		return nil, fmt.Errorf("%w: %d batch rows for %d sequences", ErrInput, len(b.Rows), len(b.Prompts))
	}
	p := &elboPlan{b: b, width: width, n: len(b.Prompts)}
	var evals []objective.Eval
	var scratch []int
	for i, prompt := range b.Prompts {
		l := len(b.Completions[i])
		row := objective.BatchRow{Index: i, Size: len(b.Prompts)}
		if b.Rows != nil {
			row = objective.BatchRow{Index: b.Rows[i], Size: b.BatchSize}
		}
		if evals, err = cfg.PlanRow(evals[:0], l, seed, keys[i], row); err != nil {
			return nil, fmt.Errorf("%w: sequence %d: %w", ErrInput, i, err)
		}
		var pm []bool
		if cfg.Estimator == objective.EstOneStep && cfg.PromptMaskProb > 0 {
			pm = objective.PromptMask(nil, len(prompt), cfg.PromptMaskProb, seed, keys[i])
		}
		for _, e := range evals {
			if e.K == 0 {
				continue
			}
			if scratch == nil || len(scratch) < l {
				scratch = make([]int, l)
			}
			p.seq = append(p.seq, i)
			p.coef = append(p.coef, e.Coef)
			p.masks = append(p.masks, cfg.Mask(nil, scratch, l, seed, keys[i], e))
			p.pmask = append(p.pmask, pm)
		}
	}
	return p, nil
}

// grid builds canvases lo..hi−1 of the plan.
func (p *elboPlan) grid(lo, hi int) *canvasGrid {
	g := newCanvasGrid(hi-lo, p.width)
	for r := lo; r < hi; r++ {
		i := p.seq[r]
		g.fill(r-lo, p.b.Prompts[i], p.b.Completions[i], p.masks[r], p.pmask[r])
	}
	return g
}

// scoreFunc returns the flat masked log-probs of a grid (0 at unscored
// positions): the model's forward pass, or a test double.
type scoreFunc func(g *canvasGrid) ([]float64, error)

// elbo evaluates the plan in chunks of at most chunk canvases and returns
// ELBO_i = Σ_{canvases r of i} coef_r · Σ_{masked} log p (a sum over
// tokens, as objective.CombineELBO).
func (p *elboPlan) elbo(chunk int, score scoreFunc) ([]float64, error) {
	return evalPlan(p, elboValues, chunk, score)
}

// planValues is what an objective of a plan sees, V per sequence (ELBOs
// []float64, or one-step token log-probs [][]float64): alloc makes it
// for the plan's sequences, gather adds to it from the flat masked
// log-probs of a grid of the plan's canvases from lo, and spread is
// gather's transpose, dLoss/dflat of that grid from dLoss/dV.
type planValues[V any] struct {
	alloc  func(p *elboPlan) V
	gather func(p *elboPlan, dst V, g *canvasGrid, lo int, flat []float64)
	spread func(p *elboPlan, g *canvasGrid, lo int, d V) []float64
}

// elboValues are the sequences' ELBOs.
var elboValues = planValues[[]float64]{
	alloc: func(p *elboPlan) []float64 { return make([]float64, p.n) },
	gather: func(p *elboPlan, elbo []float64, g *canvasGrid, lo int, flat []float64) {
		p.combine(elbo, lo, g.rowSums(flat))
	},
	spread: (*elboPlan).spread,
}

// evalPlan evaluates the plan in chunks of at most chunk canvases and
// returns its values.
func evalPlan[V any](p *elboPlan, pv planValues[V], chunk int, score scoreFunc) (V, error) {
	out := pv.alloc(p)
	for lo := 0; lo < len(p.seq); lo += chunk {
		g := p.grid(lo, min(lo+chunk, len(p.seq)))
		flat, err := score(g)
		if err != nil {
			var zero V
			return zero, err
		}
		pv.gather(p, out, g, lo, flat)
	}
	return out, nil
}

// gridObjective is the graph hook of a single-pass accumulatePlan over the
// grid g of every canvas of the plan: masked log-probs → values → call →
// dlogp.
func gridObjective[V any](p *elboPlan, pv planValues[V], g *canvasGrid, call func(V) (float64, V, error)) func(flat []float64) (float64, []float64, error) {
	return func(flat []float64) (float64, []float64, error) {
		v := pv.alloc(p)
		pv.gather(p, v, g, 0, flat)
		loss, d, err := call(v)
		if err != nil {
			return 0, nil, err
		}
		return loss, pv.spread(p, g, 0, d), nil
	}
}

// accumulatePlan calls call once with the plan's values, back-propagates
// its gradient through every canvas and ADDS the weight gradients into the
// gradient buffers, returning call's loss: one training pass when the
// canvases fit one graph, else a no-gradient pass over every chunk (the
// values are needed before any backward pass) and a training pass per
// chunk. The caller holds m.net.mu.
func accumulatePlan[V any](m *DiffusionModel, p *elboPlan, pv planValues[V], call func(V) (float64, V, error)) (float64, error) {
	rows := len(p.seq)
	if rows <= m.chunk() {
		g := p.grid(0, rows)
		return m.trainGrid(g, gridObjective(p, pv, g, call))
	}
	v, err := evalPlan(p, pv, m.chunk(), m.forwardGrid)
	if err != nil {
		return 0, err
	}
	loss, d, err := call(v)
	if err != nil {
		return 0, err
	}
	for lo := 0; lo < rows; lo += m.chunk() {
		g := p.grid(lo, min(lo+m.chunk(), rows))
		if _, err := m.trainGrid(g, func([]float64) (float64, []float64, error) {
			return 0, pv.spread(p, g, lo, d), nil
		}); err != nil {
			return 0, err
		}
	}
	return loss, nil
}

// combine adds coef_r·sums[r−lo] into elbo[seq_r] for the canvases from lo.
func (p *elboPlan) combine(elbo []float64, lo int, sums []float64) {
	for k, s := range sums {
		elbo[p.seq[lo+k]] += p.coef[lo+k] * s
	}
}

// spread returns dLoss/dlogp on a grid of canvases from lo: dELBO of the
// canvas's sequence times its coefficient at scored positions.
func (p *elboPlan) spread(g *canvasGrid, lo int, dELBO []float64) []float64 {
	d := make([]float64, g.R*g.T)
	for j, t := range g.targets {
		if t >= 0 {
			r := lo + j/g.T
			d[j] = dELBO[p.seq[r]] * p.coef[r]
		}
	}
	return d
}

// ELBOPasses returns the number of forward passes (canvases) the plan of
// cfg costs for one sequence with l completion tokens: the plan length
// minus evaluations masking nothing (possible with MaskMin 0). It does not
// depend on the seed. It returns 0 when cfg or l is invalid.
func ELBOPasses(cfg objective.ELBOConfig, l int) int {
	plan, err := cfg.Plan(nil, l, 0, 0)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range plan {
		if e.K > 0 {
			n++
		}
	}
	return n
}

// RolloutKey is the mask key of one rollout for ELBO and AccumulateELBO:
// objective.Key(promptID, sampleIdx, mode). The current, old and reference
// evaluations of a rollout must use the same key and seed (ALGORITHMS
// §3.6.2); the seed should mix the run seed and the step (and, for
// diffu-GRPO's μ inner iterations, the iteration).
func RolloutKey(promptID uint64, sampleIdx int32, mode uint8) uint64 {
	return objective.Key(promptID, uint64(uint32(sampleIdx)), uint64(mode))
}

// ELBO returns, per sequence of b, the estimate of log π(completion|prompt)
// of the estimator cfg (sdmc quadrature, double_mc, one_step; ALGORITHMS
// §3.2–3.4): Σ_e Coef_e · Σ_{masked i} log p_θ(y_i | canvas_e) over the
// evaluations of cfg.Plan, with masks from cfg.Mask (and PromptMask for
// one_step) keyed by (seed, rolloutKeys[i]). Any model (current, old,
// reference) called with the same b, cfg, seed and keys sees identical
// canvases. Log-probs are at temperature 1; no gradients. Completions must
// be non-empty; len(rolloutKeys) must equal the batch size.
// Cost: ELBOPasses(cfg, L_i) canvases per sequence, run in graphs of at
// most 128 canvases. Serialises with AccumulateELBO and AccumulateMaskedLM.
func (m *DiffusionModel) ELBO(b SeqBatch, cfg objective.ELBOConfig, seed uint64, rolloutKeys []uint64) ([]float64, error) {
	p, err := m.planELBO(b, cfg, seed, rolloutKeys)
	if err != nil {
		return nil, err
	}
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	return p.elbo(m.chunk(), m.forwardGrid)
}

// ELBOLossFunc is a sequence-level objective evaluated outside the graph:
// given the per-sequence ELBO estimates it returns the loss and
// dLoss/dELBO (one entry per sequence), e.g. objective.GDPOLoss's DELBO.
type ELBOLossFunc func(elbo []float64) (loss float64, dELBO []float64, err error)

// AccumulateELBO computes the ELBO estimates of b exactly as ELBO does
// (same canvases for the same seed and keys), calls lossGrad once with
// them, back-propagates dELBO_i·Coef_e into the masked-token log-probs of
// every canvas e of sequence i, and ADDS the weight gradients into the
// gradient buffers (call ZeroGrad between optimizer steps). It returns
// lossGrad's loss. With no canvas at all (every evaluation masks nothing)
// lossGrad sees zeros and no gradient is added.
// Cost: one forward and one backward pass per canvas when the batch's
// canvases fit one graph (128); beyond that an extra no-gradient forward
// pass (the ELBOs are needed before any backward pass). Serialises with
// ELBO and AccumulateMaskedLM.
func (m *DiffusionModel) AccumulateELBO(b SeqBatch, cfg objective.ELBOConfig, seed uint64, rolloutKeys []uint64, lossGrad ELBOLossFunc) (float64, error) {
	p, err := m.planELBO(b, cfg, seed, rolloutKeys)
	if err != nil {
		return 0, err
	}
	call := p.checked(lossGrad)
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	if len(p.seq) == 0 {
		loss, _, err := call(make([]float64, p.n))
		return loss, err
	}
	return accumulatePlan(m, p, elboValues, call)
}

// checked wraps lossGrad with error context and a length check.
func (p *elboPlan) checked(lossGrad ELBOLossFunc) ELBOLossFunc {
	return func(elbo []float64) (float64, []float64, error) {
		loss, d, err := lossGrad(elbo)
		if err != nil {
			return 0, nil, fmt.Errorf("objective: %w", err)
		}
		if len(d) != p.n {
			return 0, nil, fmt.Errorf("objective returned %d ELBO gradients for %d sequences", len(d), p.n)
		}
		return loss, d, nil
	}
}
