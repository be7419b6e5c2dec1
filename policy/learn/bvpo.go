package learn

import (
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
)

func init() {
	Register(NameBVPO, Algorithm{New: NewBVPO, Reference: func(c Config) bool { return c.BVPO.Base == BVPOBaseDPO || grpoReference(c) },
		Check: bvpoCheck})
}

// bvpoCheck refuses the GRPO family's epoch and mini-batch keys: BVPO makes
// one optimizer step per RL step from its own micro-batches
// (algorithm.bvpo.micro_batches), so those keys would do nothing.
func bvpoCheck(c Config) error {
	if c.Epochs > 1 || c.MiniBatches > 1 {
		return fmt.Errorf("one update per step: algorithm.epochs and mini_batches must be 1, not %d and %d (BVPO splits with algorithm.bvpo.micro_batches)", c.Epochs, c.MiniBatches)
	}
	return nil
}

// bvpo applies BVPO updates to a causal policy: α·L(trace) + (1−α)·L(empty)
// with L a DPO loss on each mode's group pairs or the GRPO loss, α fixed or
// estimated each step from micro-batch gradients (ALGORITHMS §4).
type bvpo struct {
	*grpo
	cfg BVPOConfig
	est *objective.AlphaEstimator // nil unless alpha is auto
}

// NewBVPO builds the BVPO learner (algorithm.name bvpo): it needs a
// policy.Causal policy.
func NewBVPO(env Env) (Learner, error) { return asLearner(newBVPOLearner(env)) }

// newBVPOLearner is NewBVPO with the concrete type.
func newBVPOLearner(env Env) (*bvpo, error) {
	g, err := newGRPOLearner(env)
	if err != nil {
		return nil, err
	}
	cfg := env.Algo.BVPO
	b := &bvpo{grpo: g, cfg: cfg}
	if cfg.Alpha.IsAuto {
		b.est = objective.NewAlphaEstimator(cfg.Mixing())
	}
	return b, nil
}

// Update fills the advantages as the GRPO family does and runs one BVPO
// step: fixed α in one backward pass over the modes that carry weight, or
// alpha auto from K micro-batch gradients per mode.
func (b *bvpo) Update(batch Batch) (Stats, error) { return b.withAdvantages(batch, b.update) }

// modeRows returns the kept rows of one mode, by row index.
func modeRows(rows []data.TrainRow, mode uint8) []int {
	var out []int
	for i := range rows {
		if rows[i].Keep && rows[i].Mode == mode && len(rows[i].CompletionTokens) > 0 {
			out = append(out, i)
		}
	}
	return out
}

// update is Update after the advantages.
func (b *bvpo) update(rows []data.TrainRow, step int) (Stats, error) {
	st := Stats{LR: b.sched.LR(step), Algo: map[string]float64{}}
	trace, empty := modeRows(rows, data.ModeTrace), modeRows(rows, data.ModeEmpty)
	st.TrainRows = len(trace) + len(empty)
	if st.TrainRows == 0 {
		return st, nil
	}
	params := b.pol.Params()
	var alpha float64
	var err error
	if b.est != nil {
		alpha, err = b.autoGradient(rows, trace, empty, params, &st)
	} else {
		alpha = b.cfg.Alpha.Value
		b.pol.ZeroGrad()
		st.Loss, err = b.mixedBackward(rows, trace, empty, alpha, &st)
	}
	if err != nil {
		return st, fmt.Errorf("learn: bvpo step %d: %w", step, err)
	}
	st.Algo["bvpo/alpha"] = alpha
	st.GradNorm = optim.ClipGradNorm(params, b.clipNorm)
	b.opt.Step(params, st.LR)
	return st, nil
}

// mixedBackward accumulates the gradient of α·L(trace) + (1−α)·L(empty);
// a mode with zero weight is left out of the batch entirely, so α = 1 and
// α = 0 give exactly the single-mode gradients.
func (b *bvpo) mixedBackward(rows []data.TrainRow, trace, empty []int, alpha float64, st *Stats) (float64, error) {
	var idx []int
	var weights []float64
	var parts [][]int
	if alpha != 0 && len(trace) > 0 {
		idx, weights, parts = append(idx, trace...), append(weights, alpha), append(parts, trace)
	}
	if alpha != 1 && len(empty) > 0 {
		idx, weights, parts = append(idx, empty...), append(weights, 1-alpha), append(parts, empty)
	}
	if len(idx) == 0 {
		return 0, nil
	}
	batch, ref, refTok, err := b.batchWithRef(rows, idx)
	if err != nil {
		return 0, err
	}
	mix := func(logp, ent [][]float64) (float64, [][]float64, [][]float64, error) {
		grad := make([][]float64, len(logp))
		var dent [][]float64
		if ent != nil {
			dent = make([][]float64, len(logp))
		}
		total, off := 0.0, 0
		for p, part := range parts {
			rs := modeRowSpan{rows: part, logp: logp[off : off+len(part)], ref: ref[off : off+len(part)]}
			if ent != nil {
				rs.ent = ent[off : off+len(part)]
			}
			if refTok != nil {
				rs.refTok = refTok[off : off+len(part)]
			}
			loss, g, gh, err := b.modeLoss(rows, rs, st, modeName(rows[part[0]].Mode))
			if err != nil {
				return 0, nil, nil, err
			}
			objective.ScaleGrad(g, weights[p])
			copy(grad[off:], g)
			if dent != nil {
				objective.ScaleGrad(gh, weights[p])
				copy(dent[off:], gh)
			}
			if weights[p] != 0 {
				total += weights[p] * loss
			}
			off += len(part)
		}
		return total, grad, dent, nil
	}
	if b.algo.Loss.EntropyCoef == 0 {
		return b.model.Accumulate(batch, b.temperature, func(logp [][]float64) (float64, [][]float64, error) {
			loss, g, _, err := mix(logp, nil)
			return loss, g, err
		})
	}
	// Only base grpo gets here (validation refuses the bonus with dpo).
	return b.model.AccumulateWithEntropy(batch, b.temperature, mix)
}

// modeName is the metric suffix of a rollout mode.
func modeName(mode uint8) string {
	if mode == data.ModeEmpty {
		return "empty"
	}
	return "trace"
}

// batchWithRef builds the sequence batch of rows[idx] and the reference
// policy's log-probs its base loss reads: per sequence for DPO, per token
// for GRPO with a KL term (loss.beta > 0); nil per-token log-probs
// otherwise.
func (b *bvpo) batchWithRef(rows []data.TrainRow, idx []int) (policy.SeqBatch, []float64, [][]float64, error) {
	batch := seqBatch(rows, idx)
	ref := make([]float64, len(idx))
	perToken := b.cfg.Base == BVPOBaseGRPO && b.algo.Loss.Beta > 0
	if b.cfg.Base != BVPOBaseDPO && !perToken {
		return batch, ref, nil, nil
	}
	lp, _, err := b.ref.LogProbs(batch, b.temperature)
	if err != nil {
		return batch, nil, nil, err
	}
	if perToken {
		tok := make([][]float64, len(lp))
		for j := range lp {
			tok[j] = widen(lp[j])
		}
		return batch, ref, tok, nil
	}
	for j, row := range lp {
		for _, v := range row {
			ref[j] += float64(v)
		}
	}
	return batch, ref, nil, nil
}

// modeRowSpan is one mode's slice of a mixed batch: its row indices and
// the matching log-probs, entropies (nil without an entropy bonus),
// reference sequence log-probs (DPO) and reference token log-probs (GRPO
// with a KL term; nil otherwise).
type modeRowSpan struct {
	rows      []int
	logp, ent [][]float64
	ref       []float64
	refTok    [][]float64
}

// modeLoss is one mode's base loss (DPO on group pairs, or GRPO with its
// entropy bonus) and its gradients with respect to logp and, when rs.ent
// is set, the entropies.
func (b *bvpo) modeLoss(rows []data.TrainRow, rs modeRowSpan, st *Stats, mode string) (float64, [][]float64, [][]float64, error) {
	idx, logp, refSeq := rs.rows, rs.logp, rs.ref
	mask := make([][]float64, len(idx))
	for j, i := range idx {
		mask[j] = ones(len(rows[i].CompletionTokens))
	}
	if b.cfg.Base == BVPOBaseGRPO {
		in := &objective.LossInput{Logp: logp, OldLogp: make([][]float64, len(idx)), Mask: mask, Adv: make([]float64, len(idx)), Entropy: rs.ent, RefLogp: rs.refTok}
		for j, i := range idx {
			in.OldLogp[j], in.Adv[j] = widen(rows[i].Logprobs), float64(rows[i].Advantage)
		}
		res, err := objective.PolicyLoss(nil, in, b.algo.Loss)
		if err != nil {
			return 0, nil, nil, err
		}
		loss := res.Loss
		if rs.ent != nil {
			// Not Total() without a bonus: −0 + 0 would turn a logged −0 into 0.
			loss = res.Total()
		}
		st.Algo["bvpo/loss_"+mode] = loss
		return loss, res.DLogp, res.DEntropy, nil
	}
	rewards := make([]float64, len(idx))
	groups := make([]int, len(idx))
	label := map[uint64]int{} // within one mode, the prompt identifies the group
	for j, i := range idx {
		rewards[j] = rows[i].Reward
		g, ok := label[rows[i].PromptID]
		if !ok {
			g = len(label)
			label[rows[i].PromptID] = g
		}
		groups[j] = g
	}
	in := &objective.DPOInput{Logp: logp, Mask: mask, RefSeq: refSeq, Pairs: objective.GroupPairs(nil, rewards, groups)}
	if b.cfg.Normalize == BVPONormalizeGroups {
		in.Groups = len(label)
	}
	loss, grad, m, err := objective.DPOLoss(nil, in, b.cfg.BetaDPO)
	if err != nil {
		return 0, nil, nil, err
	}
	st.Algo["bvpo/loss_"+mode] = loss
	st.Algo["dpo/pairs_"+mode] = float64(m.Pairs)
	st.Algo["dpo/accuracy_"+mode] = m.Accuracy
	st.Algo["dpo/margin_"+mode] = m.Margin
	return loss, grad, nil, nil
}

// ModeGradient returns the gradient of one mode's base loss (α = 1 on
// mode's kept rows: the single-mode gradient BVPO mixes), flattened in
// Params order, for measurements such as rlpipe bench bvpo. It leaves the
// gradient in the policy's buffers and does not step the optimizer. l must
// come from New with Algo.Name bvpo.
func ModeGradient(l Learner, rows []data.TrainRow, mode uint8) ([]float64, error) {
	b, ok := l.(*bvpo)
	if !ok {
		return nil, fmt.Errorf("%w: ModeGradient needs a bvpo learner, not %T", ErrConfig, l)
	}
	b.pol.ZeroGrad()
	st := Stats{Algo: map[string]float64{}}
	if _, err := b.mixedBackward(rows, modeRows(rows, mode), nil, 1, &st); err != nil {
		return nil, err
	}
	return flattenGrads(b.pol.Params()), nil
}
