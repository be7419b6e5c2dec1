package learn

import (
	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// autoGradient estimates α* from K micro-batch gradients per mode, then
// writes α·mean(g_trace) + (1−α)·mean(g_empty) into the parameters'
// gradient buffers. It returns the α used.
func (b *bvpo) autoGradient(rows []data.TrainRow, trace, empty []int, params []optim.Param, st *Stats) (float64, error) {
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
		setMixedGrad(params, gt, ge, alpha)
		return alpha, nil
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
	setMixedGrad(params, gt, ge, alpha)
	return alpha, nil
}

// microGradients splits idx into up to k chunks of whole groups and returns
// each chunk's flattened gradient and the mean chunk loss.
func (b *bvpo) microGradients(rows []data.TrainRow, idx []int, k int, params []optim.Param, st *Stats) ([][]float64, float64, error) {
	chunks := splitByGroup(rows, idx, k)
	var grads [][]float64
	var loss float64
	for _, chunk := range chunks {
		b.pol.ZeroGrad()
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

// flattenGrads copies every parameter's gradient, in Params order, into
// one float64 vector.
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

// setMixedGrad sets the parameters' gradients to objective.MixGrad of the
// two modes' mean micro-batch gradients, α·mean(gt) + (1−α)·mean(ge); a
// mode without micro-batches contributes zeros.
func setMixedGrad(params []optim.Param, gt, ge [][]float64, alpha float64) {
	n := 0
	for _, p := range params {
		n += len(p.Grad)
	}
	mixed := objective.MixGrad(nil, meanGrad(gt, n), meanGrad(ge, n), alpha)
	at := 0
	for _, p := range params {
		for j := range p.Grad {
			p.Grad[j] = float32(mixed[at])
			at++
		}
	}
}

// meanGrad is the element-wise mean of gs, summed in micro-batch order;
// n zeros when gs is empty.
func meanGrad(gs [][]float64, n int) []float64 {
	out := make([]float64, n)
	if len(gs) == 0 {
		return out
	}
	for i := range out {
		s := 0.0
		for _, g := range gs {
			s += g[i]
		}
		out[i] = s / float64(len(gs))
	}
	return out
}
