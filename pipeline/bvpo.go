package pipeline

import (
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/config"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// BVPO bases (algorithm.bvpo.base).
const (
	// BVPOBaseDPO mixes DPO losses on on-policy pairs (the paper's setting).
	BVPOBaseDPO = "dpo"
	// BVPOBaseGRPO mixes the GRPO losses of the two rollout modes (rlpipe's
	// extension beyond the paper).
	BVPOBaseGRPO = "grpo"
)

// DPO normalisations (algorithm.bvpo.normalize): what each mode's summed
// pair losses are divided by.
const (
	// BVPONormalizeGroups divides by the number of groups (distinct prompts)
	// of the mode in the batch, counting groups that yielded no pair: an
	// unbiased estimate of the per-prompt loss E_x[ℓ(x)·1(x has a pair)].
	BVPONormalizeGroups = "groups"
	// BVPONormalizePairs divides by the number of pairs: standard DPO over a
	// pair dataset, a ratio estimator when pairs come from on-policy groups.
	BVPONormalizePairs = "pairs"
)

// BVPOConfig configures BVPO (algorithm.name: bvpo): the loss is
// α·L_trace + (1−α)·L_empty over trace and empty-trace rollouts of the same
// prompts (ALGORITHMS §4, §7).
type BVPOConfig struct {
	// Alpha is the fixed mixing weight in [0,1] (default 0.5) or "auto": the
	// MSE-optimal α* of ALGORITHMS §4.2 estimated each step from
	// micro-batch gradient statistics (rlpipe's extension). With auto, a
	// step where either mode has fewer than 4 kept groups, or the modes
	// have different numbers of micro-batches, trains with the previous α
	// (0.5 before the first estimate) and logs algo bvpo_alpha_fallback 1;
	// other auto steps log 0, so the column's sum counts the fallbacks.
	Alpha config.FloatOrAuto `yaml:"alpha"`
	// Base is "dpo" (default) or "grpo".
	Base string `yaml:"base"`
	// BetaDPO is DPO's β. Default 0.1.
	BetaDPO float64 `yaml:"beta_dpo"`
	// MicroBatches is K, the micro-batches per mode whose gradients feed
	// alpha: auto (>= 4, objective.MinAlphaMicroBatches). Default 4.
	MicroBatches int `yaml:"micro_batches"`
	// Smoothing μ in [0,1) smooths alpha auto's α itself: α ← μ·α +
	// (1−μ)·α* after each estimate (the first estimate is taken as is).
	// Default 0.9.
	Smoothing float64 `yaml:"smoothing"`
	// BiasMomentum μ_b in [0,1) is the momentum of the running means of the
	// two modes' step gradients behind alpha auto's bias proxy ‖b_e‖²
	// (M ← μ_b·M + (1−μ_b)·ḡ, see objective.AlphaEstimator): 0 compares
	// the current step's gradients only, whose difference is mostly noise;
	// larger values average over about 1/(1−μ_b) steps, at the price of
	// lagging a drifting bias. Unlike Smoothing it changes what α* is
	// estimated from, not how α follows it. Default 0.9.
	BiasMomentum float64 `yaml:"bias_momentum"`
	// Normalize is what each mode's summed DPO pair losses are divided by:
	// "groups" (default) or "pairs". On-policy pairs exist only for groups
	// whose rewards differ, so the number of pairs is itself random, and
	// for a mode with low accuracy (few groups with a correct sample) the
	// mean over a handful of pairs is a high-variance ratio estimator;
	// dividing by the fixed number of groups instead is unbiased for the
	// per-prompt loss and keeps a mode's weight proportional to how often
	// it yields a preference signal. "pairs" is the standard DPO mean over
	// a pair dataset. Only base dpo uses it.
	Normalize string `yaml:"normalize"`
}

// DefaultBVPOConfig returns the documented defaults.
func DefaultBVPOConfig() BVPOConfig {
	return BVPOConfig{Alpha: config.Fixed(0.5), Base: BVPOBaseDPO, BetaDPO: objective.DefaultDPOBeta, MicroBatches: objective.MinAlphaMicroBatches, Smoothing: 0.9,
		BiasMomentum: 0.9, Normalize: BVPONormalizeGroups}
}

// Validate reports the first invalid field.
func (c BVPOConfig) Validate() error {
	switch {
	case !c.Alpha.IsAuto && (c.Alpha.Value < 0 || c.Alpha.Value > 1):
		return fmt.Errorf("%w: alpha %v not in [0,1] (or \"auto\")", ErrConfig, c.Alpha.Value)
	case c.Base != BVPOBaseDPO && c.Base != BVPOBaseGRPO:
		return fmt.Errorf("%w: base %q (want %s or %s)", ErrConfig, c.Base, BVPOBaseDPO, BVPOBaseGRPO)
	case !(c.BetaDPO > 0):
		return fmt.Errorf("%w: beta_dpo %v must be > 0", ErrConfig, c.BetaDPO)
	case c.Alpha.IsAuto && c.MicroBatches < objective.MinAlphaMicroBatches:
		return fmt.Errorf("%w: micro_batches %d: alpha auto needs at least %d", ErrConfig, c.MicroBatches, objective.MinAlphaMicroBatches)
	case c.Smoothing < 0 || c.Smoothing >= 1:
		return fmt.Errorf("%w: smoothing %v not in [0,1)", ErrConfig, c.Smoothing)
	case !(c.BiasMomentum >= 0 && c.BiasMomentum < 1):
		return fmt.Errorf("%w: bias_momentum %v not in [0,1)", ErrConfig, c.BiasMomentum)
	case c.Normalize != BVPONormalizeGroups && c.Normalize != BVPONormalizePairs:
		return fmt.Errorf("%w: normalize %q (want %s or %s)", ErrConfig, c.Normalize, BVPONormalizeGroups, BVPONormalizePairs)
	}
	return nil
}

// bvpoLearner applies BVPO updates to a causal policy.
type bvpoLearner struct {
	*learner
	cfg BVPOConfig
	est *objective.AlphaEstimator // nil unless alpha is auto
}

func newBVPOLearner(l *learner, cfg BVPOConfig) *bvpoLearner {
	b := &bvpoLearner{learner: l, cfg: cfg}
	if cfg.Alpha.IsAuto {
		b.est = objective.NewAlphaEstimator(objective.BVPOConfig{Alpha: 0.5, Auto: true, Smoothing: cfg.Smoothing, BiasMomentum: cfg.BiasMomentum})
	}
	return b
}

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

// update runs one BVPO step: fixed α in one backward pass over the modes
// that carry weight, or alpha auto from K micro-batch gradients per mode.
func (b *bvpoLearner) update(rows []data.TrainRow, step int) (updateStats, error) {
	st := updateStats{LR: b.sched.LR(step), Algo: map[string]float64{}}
	trace, empty := modeRows(rows, data.ModeTrace), modeRows(rows, data.ModeEmpty)
	st.TrainRows = len(trace) + len(empty)
	if st.TrainRows == 0 {
		return st, nil
	}
	params := b.pol.Model.Params()
	var alpha float64
	var err error
	if b.est != nil {
		alpha, err = b.autoGradient(rows, trace, empty, params, &st)
	} else {
		alpha = b.cfg.Alpha.Value
		b.pol.Model.ZeroGrad()
		st.Loss, err = b.mixedBackward(rows, trace, empty, alpha, &st)
	}
	if err != nil {
		return st, fmt.Errorf("pipeline: bvpo step %d: %w", step, err)
	}
	st.Algo["bvpo/alpha"] = alpha
	st.GradNorm = optim.ClipGradNorm(params, b.clipNorm)
	b.opt.Step(params, st.LR)
	return st, nil
}

// mixedBackward accumulates the gradient of α·L(trace) + (1−α)·L(empty);
// a mode with zero weight is left out of the batch entirely, so α = 1 and
// α = 0 give exactly the single-mode gradients.
func (b *bvpoLearner) mixedBackward(rows []data.TrainRow, trace, empty []int, alpha float64, st *updateStats) (float64, error) {
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
	batch, ref, err := b.batchWithRef(rows, idx)
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
			loss, g, gh, err := b.modeLoss(rows, rs, st, modeOf(rows, part))
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
	model := b.pol.Model.(*policy.Model)
	if b.algo.Loss.EntropyCoef == 0 {
		return model.Accumulate(batch, b.temperature, func(logp [][]float64) (float64, [][]float64, error) {
			loss, g, _, err := mix(logp, nil)
			return loss, g, err
		})
	}
	// Only base grpo gets here (validation refuses the bonus with dpo).
	return model.AccumulateWithEntropy(batch, b.temperature, mix)
}

func modeOf(rows []data.TrainRow, idx []int) string { return modeName(rows[idx[0]].Mode) }

// batchWithRef builds the sequence batch of rows[idx] and, for DPO, the
// reference policy's sequence log-probs.
func (b *bvpoLearner) batchWithRef(rows []data.TrainRow, idx []int) (policy.SeqBatch, []float64, error) {
	batch := policy.SeqBatch{Prompts: make([][]int32, len(idx)), Completions: make([][]int32, len(idx))}
	for j, i := range idx {
		batch.Prompts[j], batch.Completions[j] = rows[i].PromptTokens, rows[i].CompletionTokens
	}
	ref := make([]float64, len(idx))
	if b.cfg.Base != BVPOBaseDPO {
		return batch, ref, nil
	}
	lp, _, err := b.ref.(*policy.Model).LogProbs(batch, b.temperature)
	if err != nil {
		return batch, nil, err
	}
	for j, row := range lp {
		for _, v := range row {
			ref[j] += float64(v)
		}
	}
	return batch, ref, nil
}

// modeRowSpan is one mode's slice of a mixed batch: its row indices and
// the matching log-probs, entropies (nil without an entropy bonus) and
// reference sequence log-probs.
type modeRowSpan struct {
	rows      []int
	logp, ent [][]float64
	ref       []float64
}

// modeLoss is one mode's base loss (DPO on group pairs, or GRPO with its
// entropy bonus) and its gradients with respect to logp and, when rs.ent
// is set, the entropies.
func (b *bvpoLearner) modeLoss(rows []data.TrainRow, rs modeRowSpan, st *updateStats, mode string) (float64, [][]float64, [][]float64, error) {
	idx, logp, refSeq := rs.rows, rs.logp, rs.ref
	mask := make([][]float64, len(idx))
	for j, i := range idx {
		mask[j] = ones(len(rows[i].CompletionTokens))
	}
	if b.cfg.Base == BVPOBaseGRPO {
		in := &objective.LossInput{Logp: logp, OldLogp: make([][]float64, len(idx)), Mask: mask, Adv: make([]float64, len(idx)), Entropy: rs.ent}
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

// autoGradient estimates α* from K micro-batch gradients per mode, then
// writes α·mean(g_trace) + (1−α)·mean(g_empty) into the parameters'
// gradient buffers. It returns the α used.
func (b *bvpoLearner) autoGradient(rows []data.TrainRow, trace, empty []int, params []optim.Param, st *updateStats) (float64, error) {
	k := b.cfg.MicroBatches
	gt, lt, err := b.microGradients(rows, trace, k, params, st)
	if err != nil {
		return 0, err
	}
	ge, le, err := b.microGradients(rows, empty, k, params, st)
	if err != nil {
		return 0, err
	}
	if len(gt) < objective.MinAlphaMicroBatches || len(ge) != len(gt) {
		// A mode has too few kept groups for the statistics (a small
		// prompts_per_step, groups dropped for reward errors, a refill
		// shortfall): one such step must not end the run, so it trains with
		// the last estimate (the initial α before any) and says so.
		st.Algo["bvpo_alpha_fallback"] = 1
		alpha := b.est.Alpha()
		st.Loss = objective.MixLoss(alpha, lt, le)
		return alpha, writeMixedGrad(params, gt, ge, alpha)
	}
	st.Algo["bvpo_alpha_fallback"] = 0
	stats, err := b.est.Update(gt, ge)
	if err != nil {
		return 0, err
	}
	alpha := b.est.Alpha()
	st.Algo["bvpo/var_trace"], st.Algo["bvpo/var_empty"], st.Algo["bvpo/cov"] = stats.VarTrace, stats.VarEmpty, stats.Cov
	st.Algo["bvpo/bias_empty2"] = stats.BiasEmpty2
	st.Loss = objective.MixLoss(alpha, lt, le)
	return alpha, writeMixedGrad(params, gt, ge, alpha)
}

// microGradients splits idx into up to k chunks of whole groups and returns
// each chunk's flattened gradient and the mean chunk loss.
func (b *bvpoLearner) microGradients(rows []data.TrainRow, idx []int, k int, params []optim.Param, st *updateStats) ([][]float64, float64, error) {
	chunks := splitByGroup(rows, idx, k)
	var grads [][]float64
	var loss float64
	for _, chunk := range chunks {
		b.pol.Model.ZeroGrad()
		l, err := b.mixedBackward(rows, chunk, nil, 1, st)
		if err != nil {
			return nil, 0, err
		}
		loss += l / float64(len(chunks))
		grads = append(grads, flattenGrads(params))
	}
	return grads, loss, nil
}

// splitByGroup splits row indices (ordered by group) into at most k
// contiguous chunks without cutting a group.
func splitByGroup(rows []data.TrainRow, idx []int, k int) [][]int {
	var groups [][]int
	for j, i := range idx {
		if j == 0 || rows[i].PromptID != rows[idx[j-1]].PromptID {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], i)
	}
	k = min(k, len(groups))
	out := make([][]int, 0, k)
	for c := 0; c < k; c++ {
		var chunk []int
		for _, g := range groups[c*len(groups)/k : (c+1)*len(groups)/k] {
			chunk = append(chunk, g...)
		}
		out = append(out, chunk)
	}
	return out
}

func flattenGrads(params []optim.Param) []float64 {
	n := 0
	for _, p := range params {
		n += len(p.Grad)
	}
	out := make([]float64, 0, n)
	for _, p := range params {
		for _, g := range p.Grad {
			out = append(out, float64(g))
		}
	}
	return out
}

// writeMixedGrad sets every parameter's gradient to α·mean(gt) +
// (1−α)·mean(ge) (a mode without micro-batches contributes nothing).
func writeMixedGrad(params []optim.Param, gt, ge [][]float64, alpha float64) error {
	mean := func(gs [][]float64, at int) float64 {
		if len(gs) == 0 {
			return 0
		}
		s := 0.0
		for _, g := range gs {
			s += g[at]
		}
		return s / float64(len(gs))
	}
	at := 0
	for _, p := range params {
		for j := range p.Grad {
			var v float64
			if alpha != 0 {
				v += alpha * mean(gt, at)
			}
			if alpha != 1 {
				v += (1 - alpha) * mean(ge, at)
			}
			p.Grad[j] = float32(v)
			at++
		}
	}
	return nil
}
