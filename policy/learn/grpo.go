package learn

import (
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
)

func init() {
	for _, name := range []string{objective.PresetDefault, objective.PresetGRPO, objective.PresetDrGRPO, objective.PresetDAPO} {
		Register(name, Algorithm{New: NewGRPO, Reference: grpoReference})
	}
}

// grpoReference: the loss's KL term and KL in the reward read the
// reference policy.
func grpoReference(c Config) bool { return c.Loss.Beta > 0 || c.KLInReward > 0 }

// core is what every RL learner shares: the policy, the optimizer and the
// run's settings.
type core struct {
	pol         policy.Trainable
	opt         *optim.AdamW
	sched       *optim.Schedule
	algo        Config
	temperature float64
	clipNorm    float64
	seed        uint64
}

func newCore(env Env) core {
	return core{pol: env.Policy, opt: env.Opt, sched: env.Sched, algo: env.Algo,
		temperature: env.Temperature, clipNorm: env.ClipNorm, seed: env.Seed}
}

// State returns nil: the shared part carries nothing beyond the weights
// and optimizer moments.
func (c *core) State() State { return nil }

// grpo applies GRPO-family updates (the clipped surrogate of
// objective.PolicyLoss, with its KL term and entropy bonus, after group
// advantages with optional KL in the reward) to a causal policy.
type grpo struct {
	core
	model policy.Causal
	ref   policy.Causal // frozen reference; nil when unused
}

// NewGRPO builds a GRPO-family learner (algorithm.name rlpipe, grpo, dr_grpo
// or dapo): it needs a policy.Causal policy.
func NewGRPO(env Env) (Learner, error) { return asLearner(newGRPOLearner(env)) }

// asLearner returns l as a Learner, or a nil Learner (not a typed nil in
// the interface) with err.
func asLearner[L Learner](l L, err error) (Learner, error) {
	if err != nil {
		return nil, err
	}
	return l, nil
}

// newGRPOLearner is NewGRPO with the concrete type (BVPO builds on it).
func newGRPOLearner(env Env) (*grpo, error) {
	model, ok := env.Policy.(policy.Causal)
	if !ok {
		return nil, fmt.Errorf("%w: algorithm %s needs a causal policy, not %s", ErrConfig, env.Algo.Name, env.Policy.Kind())
	}
	l := &grpo{core: newCore(env), model: model}
	if env.Ref != nil {
		if l.ref, ok = env.Ref.(policy.Causal); !ok {
			return nil, fmt.Errorf("%w: the reference policy of %s is not causal", ErrConfig, env.Algo.Name)
		}
	}
	return l, nil
}

// Update fills the advantages (with KL in the reward when configured) and
// runs the configured epochs and mini-batches of the clipped surrogate.
func (l *grpo) Update(b Batch) (Stats, error) { return l.withAdvantages(b, l.update) }

// withAdvantages fills b's advantages as the GRPO family does (KL in the
// reward included), then runs update on the rows and adds the advantages'
// figures to its stats.
func (l *grpo) withAdvantages(b Batch, update func(rows []data.TrainRow, step int) (Stats, error)) (Stats, error) {
	zeroStd, klMetrics, err := l.advantages(b.Rows, b.Groups)
	if err != nil {
		return Stats{}, err
	}
	st, err := update(b.Rows, b.Step)
	if err != nil {
		return Stats{}, err
	}
	st.ZeroStdGroups = zeroStd
	for k, v := range klMetrics {
		if st.Algo == nil {
			st.Algo = map[string]float64{}
		}
		st.Algo[k] = v
	}
	return st, nil
}

// trainRows returns the indices of the rows that train: kept, with a
// non-empty completion.
func trainRows(rows []data.TrainRow) []int {
	kept := make([]int, 0, len(rows))
	for i := range rows {
		if rows[i].Keep && len(rows[i].CompletionTokens) > 0 {
			kept = append(kept, i)
		}
	}
	return kept
}

// update runs the configured epochs and mini-batches of the clipped
// surrogate over the kept rows and steps the optimizer once per mini-batch.
func (l *grpo) update(rows []data.TrainRow, step int) (Stats, error) {
	var st Stats
	kept := trainRows(rows)
	st.TrainRows = len(kept)
	if len(kept) == 0 {
		st.LR = l.sched.LR(step)
		return st, nil
	}
	params := l.pol.Params()
	lr := l.sched.LR(step)
	st.LR = lr
	var err error
	mbs := objective.MiniBatches(len(kept), (len(kept)+l.algo.MiniBatches-1)/l.algo.MiniBatches, 0, false, l.seed, 0)
	for epoch := 0; epoch < l.algo.Epochs; epoch++ {
		for _, mb := range mbs {
			idx := make([]int, len(mb))
			for j, k := range mb {
				idx[j] = kept[k]
			}
			if epoch == 0 && st.Entropy == 0 {
				if st.Entropy, err = l.entropy(rows, idx); err != nil {
					return st, fmt.Errorf("learn: grpo step %d: %w", step, err)
				}
			}
			loss, m, err := l.accumulate(rows, idx)
			if err != nil {
				return st, fmt.Errorf("learn: grpo step %d: %w", step, err)
			}
			st.Loss, st.Metrics = loss, m
			st.GradNorm = optim.ClipGradNorm(params, l.clipNorm)
			l.opt.Step(params, lr)
		}
	}
	return st, nil
}

// seqBatch is the sequence batch of rows[idx].
func seqBatch(rows []data.TrainRow, idx []int) policy.SeqBatch {
	batch := policy.SeqBatch{Prompts: make([][]int32, len(idx)), Completions: make([][]int32, len(idx))}
	for j, i := range idx {
		batch.Prompts[j], batch.Completions[j] = rows[i].PromptTokens, rows[i].CompletionTokens
	}
	return batch
}

// accumulate computes the loss of rows[idx] (with the entropy bonus when
// algorithm.loss.entropy_coef != 0) and its gradient into the model's
// gradient buffers (zeroed first). With algorithm.micro_batch_size it runs
// the rows in chunks of that many sequences, each normalised by the whole
// mini-batch (objective.MicroBatchNorms), so the gradient is the
// mini-batch's while the activations held at once are a chunk's.
func (l *grpo) accumulate(rows []data.TrainRow, idx []int) (float64, objective.LossMetrics, error) {
	mask := make([][]float64, len(idx))
	for j, i := range idx {
		mask[j] = ones(len(rows[i].CompletionTokens))
	}
	tokens, seqs, cfg := objective.MicroBatchNorms(mask, l.algo.Loss)
	l.pol.ZeroGrad()
	var loss float64
	var metrics objective.LossMetrics
	lo := 0
	for k, chunk := range microBatches(idx, l.algo.MicroBatchSize) {
		part, m, err := l.accumulateChunk(rows, chunk, mask[lo:lo+len(chunk)], tokens, seqs, cfg)
		lo += len(chunk)
		if err != nil {
			return 0, objective.LossMetrics{}, err
		}
		loss += part
		if k == 0 {
			metrics = m // one chunk: the figures exactly as computed
		} else {
			metrics = metrics.Merge(m)
		}
	}
	return loss, metrics, nil
}

// microBatches splits idx into consecutive chunks of size (all of idx when
// size is 0 or covers it).
func microBatches(idx []int, size int) [][]int {
	if size <= 0 || size >= len(idx) {
		return [][]int{idx}
	}
	var out [][]int
	for lo := 0; lo < len(idx); lo += size {
		out = append(out, idx[lo:min(lo+size, len(idx))])
	}
	return out
}

// accumulateChunk adds the gradient of rows[idx]'s share of the mini-batch
// loss (their completion masks mask, normalisers tokens and seqs and
// configuration cfg from objective.MicroBatchNorms) and returns that share.
func (l *grpo) accumulateChunk(rows []data.TrainRow, idx []int, mask [][]float64, tokens, seqs float64, cfg objective.LossConfig) (float64, objective.LossMetrics, error) {
	batch := seqBatch(rows, idx)
	in := &objective.LossInput{OldLogp: make([][]float64, len(idx)), Mask: mask, Adv: make([]float64, len(idx)),
		Tokens: tokens, Seqs: seqs}
	for j, i := range idx {
		r := &rows[i]
		in.OldLogp[j] = widen(r.Logprobs)
		in.Adv[j] = float64(r.Advantage)
	}
	if cfg.Beta > 0 {
		ref, _, err := l.ref.LogProbs(batch, l.temperature)
		if err != nil {
			return 0, objective.LossMetrics{}, err
		}
		in.RefLogp = make([][]float64, len(ref))
		for j := range ref {
			in.RefLogp[j] = widen(ref[j])
		}
	}
	var metrics objective.LossMetrics
	eval := func(logp, ent [][]float64) (objective.LossResult, error) {
		in.Logp, in.Entropy = logp, ent
		for j := range in.OldLogp {
			if len(in.OldLogp[j]) != len(logp[j]) {
				// No behaviour log-probs (a server that returns none):
				// treat the rollout as on-policy, ratio 1.
				in.OldLogp[j] = append([]float64(nil), logp[j]...)
			}
		}
		res, err := objective.PolicyLoss(nil, in, cfg)
		if err == nil {
			metrics = res.Metrics
		}
		return res, err
	}
	if cfg.EntropyCoef == 0 {
		// No bonus: the graph without entropies, as cheap as ever.
		loss, err := l.model.Accumulate(batch, l.temperature, func(logp [][]float64) (float64, [][]float64, error) {
			res, err := eval(logp, nil)
			return res.Loss, res.DLogp, err
		})
		return loss, metrics, err
	}
	loss, err := l.model.AccumulateWithEntropy(batch, l.temperature, func(logp, ent [][]float64) (float64, [][]float64, [][]float64, error) {
		res, err := eval(logp, ent)
		return res.Total(), res.DLogp, res.DEntropy, err
	})
	return loss, metrics, err
}

// entropy is the mean per-token entropy of the current policy (at the
// sampling temperature) on rows[idx], a diagnostic that costs one forward
// pass.
func (l *grpo) entropy(rows []data.TrainRow, idx []int) (float64, error) {
	var sum float64
	n := 0
	for _, chunk := range microBatches(idx, l.algo.MicroBatchSize) {
		_, ent, err := l.model.LogProbs(seqBatch(rows, chunk), l.temperature)
		if err != nil {
			return 0, err
		}
		for _, row := range ent {
			for _, h := range row {
				sum += float64(h)
				n++
			}
		}
	}
	if n == 0 {
		return 0, nil
	}
	return sum / float64(n), nil
}

// widen converts log-probs to float64.
func widen(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// ones returns a mask of n ones.
func ones(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1
	}
	return out
}
