package policy

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// logProbOp gathers per-position token log-probabilities
// logp[n] = log_softmax(logits[n]·invT)[target[n]] from logits (N, V) and
// int targets (N); a negative target yields 0 (and no gradient). It fuses
// the row max, log-sum-exp and the gather, avoiding gorgonia's SoftMax
// (wrong row max) and one-hot products over V.
//
// With a stash (training graphs) it keeps each row's log-partition for
// its gradient, which then skips recomputing it (one pass of exp over the
// vocabulary per row); the kept values are the very ones recomputing
// gives, so gradients are unchanged.
type logProbOp struct {
	tokenGather
	invT  float64
	stash *lseStash
}

// lseStash holds the per-row log-partitions of one gather's forward pass
// in the current run, with the logits they came from.
type lseStash struct {
	lse    []float64
	logits any
}

// keepFor returns the buffer for the forward pass's log-partitions (nil
// without a stash), sized for rows and bound to logits.
func (st *lseStash) keepFor(rows int, logits any) []float64 {
	if st == nil {
		return nil
	}
	if len(st.lse) != rows {
		st.lse = make([]float64, rows)
	}
	st.logits = logits
	return st.lse
}

// keptLSE returns the log-partitions kept for logits, or nil if there are
// none (no stash, or other logits).
func keptLSE[T float](st *lseStash, rows int, logits []T) []float64 {
	if st == nil || len(st.lse) != rows {
		return nil
	}
	fl, ok := st.logits.([]T)
	if !ok || len(fl) != len(logits) || len(fl) == 0 || &fl[0] != &logits[0] {
		return nil
	}
	return st.lse
}

func (o logProbOp) name() string { return fmt.Sprintf("policy.LogProb{invT=%g}", o.invT) }
func (logProbOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return gatherShape(in, 1)
}
func (o logProbOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	return gather(out, in, o.invT, false, o.stash.keepFor(in[0].Shape()[0], in[0].Data()))
}
func (o logProbOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return gatherDiff(logProbGradOp{invT: o.invT, stash: o.stash}, in, grad)
}

// tokenGather is what logProbOp and logProbEntropyOp share: logits (N, V)
// and int targets (N) in, a vector out, no gradient for the targets.
type tokenGather struct{}

func (tokenGather) inputs() []int      { return []int{2, 0} }
func (tokenGather) outDims() int       { return 1 }
func (tokenGather) nonDiff(i int) bool { return i == 1 }

// gatherShape checks logits (N, V) and targets (N) and returns the output
// shape (perRow·N).
func gatherShape(in []tensor.Shape, perRow int) (tensor.Shape, error) {
	if err := wantShape("log-prob logits", in[0], -1, -1); err != nil {
		return nil, err
	}
	return tensor.Shape{perRow * in[0][0]}, wantShape("log-prob targets", in[1], in[0][0])
}

// gather checks the targets against the vocabulary and runs gatherRows.
// keep, if not nil, receives each scored row's log-partition.
func gather(out *tensor.Dense, in []*tensor.Dense, invT float64, entropy bool, keep []float64) error {
	v := in[0].Shape()[1]
	tg := ints(in[1])
	for n, t := range tg {
		if t >= v {
			return fmt.Errorf("target %d at row %d outside vocabulary [0, %d)", t, n, v)
		}
	}
	return dispatch(out, func() error {
		gatherRows(floats[float32](out), floats[float32](in[0]), tg, v, invT, entropy, keep)
		return nil
	}, func() error {
		gatherRows(floats[float64](out), floats[float64](in[0]), tg, v, invT, entropy, keep)
		return nil
	})
}

// gatherRows is the gathers' row pass: out[n] = log-prob of target n (0
// for a negative target) and, with entropy, out[N+n] = the entropy of the
// row's tempered distribution (0 for a negative target), both through
// rowLogProb and rowEntropy as LogProbs reports them.
func gatherRows[T float](out, logits []T, tg []int, v int, invT float64, entropy bool, keep []float64) {
	n := len(tg)
	parRows(n, rowGrain, func(lo, hi int) {
		for r, t := range tg[lo:hi] {
			r += lo
			if t < 0 {
				out[r] = 0
				if entropy {
					out[n+r] = 0
				}
				continue
			}
			row := logits[r*v : (r+1)*v]
			lp, lse := rowLogProb(row, invT, t)
			out[r] = T(lp)
			if keep != nil {
				keep[r] = lse
			}
			if entropy {
				out[n+r] = T(rowEntropy(row, invT, lse))
			}
		}
	})
}

// gatherDiff differentiates a gather through its gradient op: dlogits, and
// nothing for the targets.
func gatherDiff(gradOp kernelOp, in G.Nodes, grad *G.Node) (G.Nodes, error) {
	d, err := apply(gradOp, in[0], in[1], grad)
	return G.Nodes{d, nil}, err
}

// tokenGatherGrad is what the gathers' gradient ops share: logits, targets
// and the upstream gradient in, dlogits (N, V) out.
type tokenGatherGrad struct{ backOp }

func (tokenGatherGrad) inputs() []int                                 { return []int{2, 0, 1} }
func (tokenGatherGrad) outDims() int                                  { return 2 }
func (tokenGatherGrad) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0], nil }

// gradKernel computes dlogits from logits, targets and the upstream
// gradient g over a vocabulary of v.
type gradKernel[T float] func(dl, logits []T, tg []int, g []T, v int, invT float64)

// gatherGrad runs a gradient op's kernel at the output's element type.
func gatherGrad(out *tensor.Dense, in []*tensor.Dense, invT float64, k32 gradKernel[float32], k64 gradKernel[float64]) error {
	v := in[0].Shape()[1]
	return dispatch(out, func() error {
		k32(floats[float32](out), floats[float32](in[0]), ints(in[1]), floats[float32](in[2]), v, invT)
		return nil
	}, func() error {
		k64(floats[float64](out), floats[float64](in[0]), ints(in[1]), floats[float64](in[2]), v, invT)
		return nil
	})
}

// logProbGradOp: dlogits[n, j] = g[n]·invT·(1[j = target[n]] − p[n, j]).
type logProbGradOp struct {
	tokenGatherGrad
	invT  float64
	stash *lseStash // the forward op's, see logProbOp
}

func (o logProbGradOp) name() string { return fmt.Sprintf("policy.LogProbGrad{invT=%g}", o.invT) }
func (o logProbGradOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	rows := in[0].Shape()[0]
	k32 := func(dl, logits []float32, tg []int, g []float32, v int, invT float64) {
		logProbGrad(dl, logits, tg, g, v, invT, keptLSE(o.stash, rows, logits))
	}
	k64 := func(dl, logits []float64, tg []int, g []float64, v int, invT float64) {
		logProbGrad(dl, logits, tg, g, v, invT, keptLSE(o.stash, rows, logits))
	}
	return gatherGrad(out, in, o.invT, k32, k64)
}

// logProbGrad runs rows in parallel (each row is independent). kept, if
// not nil, holds each row's log-partition from the forward pass.
func logProbGrad[T float](dl, logits []T, tg []int, g []T, v int, invT float64, kept []float64) {
	parRows(len(tg), rowGrain, func(lo, hi int) {
		for n, t := range tg[lo:hi] {
			n += lo
			drow := dl[n*v : (n+1)*v]
			if t < 0 || g[n] == 0 {
				clear(drow)
				continue
			}
			row := logits[n*v : (n+1)*v]
			var lse float64
			if kept != nil {
				lse = kept[n]
			} else {
				lse = rowLSE(row, invT)
			}
			s := float64(g[n]) * invT
			for j, x := range row {
				drow[j] = T(-s * math.Exp(float64(x)*invT-lse))
			}
			drow[t] += T(s)
		}
	})
}

// lossHook carries the caller's objective into the graph: when the forward
// pass reaches it, fn receives the flat per-position log-probs (followed by
// the entropies in entropy graphs) and returns the loss and its gradient,
// which becomes the constant upstream gradient.
// One hook belongs to one cached graph and is only used under its mutex.
type lossHook struct {
	fn   func(logp []float64) (loss float64, dlogp []float64, err error)
	loss float64
}

// hookOp outputs dlogp = hook.fn(logp) (N); it is not differentiable, so
// the graph's scalar Σ logp ⊙ dlogp back-propagates exactly dlogp.
type hookOp struct{ h *lossHook }

func (o hookOp) name() string                                { return fmt.Sprintf("policy.LossHook{%p}", o.h) }
func (hookOp) inputs() []int                                 { return []int{1} }
func (hookOp) outDims() int                                  { return 1 }
func (hookOp) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0], nil }
func (hookOp) nonDiff(int) bool                              { return true }

func (hookOp) diff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) { return G.Nodes{nil}, nil }

func (o hookOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	if o.h.fn == nil {
		return fmt.Errorf("no objective installed")
	}
	var lp []float64
	switch x := in[0].Data().(type) {
	case []float32:
		lp = make([]float64, len(x))
		for i, v := range x {
			lp[i] = float64(v)
		}
	case []float64:
		lp = append([]float64(nil), x...)
	}
	loss, d, err := o.h.fn(lp)
	if err != nil {
		return err
	}
	if len(d) != len(lp) {
		return fmt.Errorf("objective returned %d gradients for %d log-probs", len(d), len(lp))
	}
	o.h.loss = loss
	return dispatch(out, func() error {
		for i, v := range d {
			floats[float32](out)[i] = float32(v)
		}
		return nil
	}, func() error {
		copy(floats[float64](out), d)
		return nil
	})
}
