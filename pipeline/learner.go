package pipeline

import (
	"fmt"
	"io"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// updater applies one step's update to the policy from its train rows
// (rows of dropped groups have Keep false).
type updater interface {
	update(rows []data.TrainRow, step int) (updateStats, error)
}

// statefulUpdater is an updater that carries state from step to step
// beyond the weights and optimizer moments (BVPO's auto-α estimator).
// Checkpoints save it to learnerFile and resumes restore it, so that a
// resumed run continues bit for bit as an uninterrupted one. It gets its
// own file rather than a field of state.json because it can be
// parameter-sized.
type statefulUpdater interface {
	updater
	// hasState reports whether this instance has state to save (BVPO with
	// a fixed α has none).
	hasState() bool
	// saveState writes the state, floats bit for bit.
	saveState(w io.Writer) error
	// loadState replaces the state with what saveState wrote.
	loadState(r io.Reader) error
}

// learner applies GRPO-family updates to the policy. It is driven by one
// goroutine.
type learner struct {
	pol         *policyfile.Policy
	ref         policy.Trainable // frozen reference (the starting policy); nil when unused
	opt         *optim.AdamW
	sched       *optim.Schedule
	algo        AlgorithmConfig
	temperature float64
	clipNorm    float64
	seed        uint64
}

// updateStats are the learner's per-step metrics.
type updateStats struct {
	Loss, GradNorm, LR                 float64
	Entropy                            float64
	Metrics                            objective.LossMetrics
	AdvMean, AdvStd, AdvAbsMax         float64
	ZeroStdGroups, TrainRows, Groups   int
	ResponseLenMean, ResponseLenMax    float64
	TruncationRate, TokensTrained      float64
	BinaryAccuracy, RewardMean, Reward float64
	// Algo holds algorithm-specific figures (e.g. bvpo/alpha).
	Algo map[string]float64
}

// computeAdvantages fills the train rows' advantage columns from the
// groups' rewards. rows are ordered by group (group ids in groups).
func computeAdvantages(rows []data.TrainRow, groups []int, cfg objective.AdvantageConfig) (zeroStd int, err error) {
	rewards := make([]float64, len(rows))
	for i := range rows {
		rewards[i] = rows[i].Reward
	}
	return advantagesOf(rows, rewards, groups, cfg)
}

// advantagesOf is computeAdvantages from rewards[i] in place of the rows'
// rewards (e.g. with a KL penalty folded in).
func advantagesOf(rows []data.TrainRow, rewards []float64, groups []int, cfg objective.AdvantageConfig) (zeroStd int, err error) {
	var adv objective.Advantages
	if err := objective.GroupAdvantages(&adv, rewards, groups, cfg); err != nil {
		return 0, err
	}
	seen := map[int]bool{}
	for i := range rows {
		rows[i].Advantage = float32(adv.Adv[i])
		rows[i].GroupMean = float32(adv.Mean[i])
		rows[i].GroupStd = float32(adv.Std[i])
		if !seen[groups[i]] {
			seen[groups[i]] = true
			if groupRewardsEqual(rewards, groups, groups[i]) {
				zeroStd++
			}
		}
	}
	return zeroStd, nil
}

func groupRewardsEqual(rewards []float64, groups []int, g int) bool {
	first, have := 0.0, false
	for i, gi := range groups {
		if gi != g {
			continue
		}
		if !have {
			first, have = rewards[i], true
		} else if rewards[i] != first {
			return false
		}
	}
	return true
}

// update runs the configured epochs and mini-batches of the clipped
// surrogate over the kept rows and steps the optimizer once per mini-batch.
func (l *learner) update(rows []data.TrainRow, step int) (updateStats, error) {
	var st updateStats
	kept := make([]int, 0, len(rows))
	for i := range rows {
		if rows[i].Keep && len(rows[i].CompletionTokens) > 0 {
			kept = append(kept, i)
		}
	}
	st.TrainRows = len(kept)
	if len(kept) == 0 {
		st.LR = l.sched.LR(step)
		return st, nil
	}
	params := l.pol.Model.Params()
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
					return st, fmt.Errorf("pipeline: learner step %d: %w", step, err)
				}
			}
			loss, m, err := l.accumulate(rows, idx)
			if err != nil {
				return st, fmt.Errorf("pipeline: learner step %d: %w", step, err)
			}
			st.Loss, st.Metrics = loss, m
			st.GradNorm = optim.ClipGradNorm(params, l.clipNorm)
			l.opt.Step(params, lr)
		}
	}
	return st, nil
}

// accumulate computes the loss of rows[idx] (with the entropy bonus when
// algorithm.loss.entropy_coef != 0) and its gradient into the model's
// gradient buffers (zeroed first).
func (l *learner) accumulate(rows []data.TrainRow, idx []int) (float64, objective.LossMetrics, error) {
	batch := policy.SeqBatch{Prompts: make([][]int32, len(idx)), Completions: make([][]int32, len(idx))}
	in := &objective.LossInput{OldLogp: make([][]float64, len(idx)), Mask: make([][]float64, len(idx)), Adv: make([]float64, len(idx))}
	for j, i := range idx {
		r := &rows[i]
		batch.Prompts[j], batch.Completions[j] = r.PromptTokens, r.CompletionTokens
		in.OldLogp[j] = widen(r.Logprobs)
		in.Mask[j] = ones(len(r.CompletionTokens))
		in.Adv[j] = float64(r.Advantage)
	}
	if l.algo.Loss.Beta > 0 {
		ref, _, err := l.ref.(*policy.Model).LogProbs(batch, l.temperature)
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
		res, err := objective.PolicyLoss(nil, in, l.algo.Loss)
		if err == nil {
			metrics = res.Metrics
		}
		return res, err
	}
	model := l.pol.Model.(*policy.Model)
	model.ZeroGrad()
	if l.algo.Loss.EntropyCoef == 0 {
		// No bonus: the graph without entropies, as cheap as ever.
		loss, err := model.Accumulate(batch, l.temperature, func(logp [][]float64) (float64, [][]float64, error) {
			res, err := eval(logp, nil)
			return res.Loss, res.DLogp, err
		})
		return loss, metrics, err
	}
	loss, err := model.AccumulateWithEntropy(batch, l.temperature, func(logp, ent [][]float64) (float64, [][]float64, [][]float64, error) {
		res, err := eval(logp, ent)
		return res.Total(), res.DLogp, res.DEntropy, err
	})
	return loss, metrics, err
}

// entropy is the mean per-token entropy of the current policy (at the
// sampling temperature) on rows[idx], a diagnostic that costs one forward
// pass.
func (l *learner) entropy(rows []data.TrainRow, idx []int) (float64, error) {
	batch := policy.SeqBatch{Prompts: make([][]int32, len(idx)), Completions: make([][]int32, len(idx))}
	for j, i := range idx {
		batch.Prompts[j], batch.Completions[j] = rows[i].PromptTokens, rows[i].CompletionTokens
	}
	_, ent, err := l.pol.Model.(*policy.Model).LogProbs(batch, l.temperature)
	if err != nil {
		return 0, err
	}
	var sum float64
	n := 0
	for _, row := range ent {
		for _, h := range row {
			sum += float64(h)
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	return sum / float64(n), nil
}

func widen(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

func ones(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1
	}
	return out
}
