package policy

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// logProbEntropyOp is logProbOp extended with the entropy of each scored
// position's tempered next-token distribution, for objectives with an
// entropy bonus. From logits (N, V) and int targets (N) it outputs 2N
// values: out[n] = log_softmax(logits[n]·invT)[target[n]] exactly as
// logProbOp, and out[N+n] = H[n] = −Σ_j p_j log p_j with
// p = softmax(logits[n]·invT), exactly as LogProbs reports it (both through
// rowLogProb and rowEntropy). Rows with a negative target output 0 twice and
// get no gradient. One op rather than two so that a single loss hook sees
// both halves and returns both gradients.
type logProbEntropyOp struct{ invT float64 }

func (o logProbEntropyOp) name() string { return fmt.Sprintf("policy.LogProbEntropy{invT=%g}", o.invT) }
func (logProbEntropyOp) inputs() []int  { return []int{2, 0} }
func (logProbEntropyOp) outDims() int   { return 1 }
func (logProbEntropyOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantShape("log-prob logits", in[0], -1, -1); err != nil {
		return nil, err
	}
	return tensor.Shape{2 * in[0][0]}, wantShape("log-prob targets", in[1], in[0][0])
}

func (o logProbEntropyOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	v := in[0].Shape()[1]
	tg := ints(in[1])
	for n, t := range tg {
		if t >= v {
			return fmt.Errorf("target %d at row %d outside vocabulary [0, %d)", t, n, v)
		}
	}
	return dispatch(out, func() error {
		gatherLogProbEntropy(floats[float32](out), floats[float32](in[0]), tg, v, o.invT)
		return nil
	}, func() error {
		gatherLogProbEntropy(floats[float64](out), floats[float64](in[0]), tg, v, o.invT)
		return nil
	})
}

func gatherLogProbEntropy[T float](out, logits []T, tg []int, v int, invT float64) {
	n := len(tg)
	for r, t := range tg {
		if t < 0 {
			out[r], out[n+r] = 0, 0
			continue
		}
		row := logits[r*v : (r+1)*v]
		lp, lse := rowLogProb(row, invT, t)
		out[r], out[n+r] = T(lp), T(rowEntropy(row, invT, lse))
	}
}

func (o logProbEntropyOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := apply(logProbEntropyGradOp{invT: o.invT}, in[0], in[1], grad)
	return G.Nodes{d, nil}, err
}

func (logProbEntropyOp) nonDiff(i int) bool { return i == 1 }

// logProbEntropyGradOp back-propagates logProbEntropyOp. With u = logits·invT,
// ∂logp/∂u_j = 1[j = target] − p_j and ∂H/∂u_j = −p_j·(log p_j + H), so for
// upstream gradients a = g[n] (log-prob) and h = g[N+n] (entropy):
//
//	dlogits[n, j] = invT·(a·1[j = target] − p_j·(a + h·(log p_j + H))).
type logProbEntropyGradOp struct {
	backOp
	invT float64
}

func (o logProbEntropyGradOp) name() string {
	return fmt.Sprintf("policy.LogProbEntropyGrad{invT=%g}", o.invT)
}
func (logProbEntropyGradOp) inputs() []int                                 { return []int{2, 0, 1} }
func (logProbEntropyGradOp) outDims() int                                  { return 2 }
func (logProbEntropyGradOp) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0], nil }

func (o logProbEntropyGradOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	v := in[0].Shape()[1]
	return dispatch(out, func() error {
		logProbEntropyGrad(floats[float32](out), floats[float32](in[0]), ints(in[1]), floats[float32](in[2]), v, o.invT)
		return nil
	}, func() error {
		logProbEntropyGrad(floats[float64](out), floats[float64](in[0]), ints(in[1]), floats[float64](in[2]), v, o.invT)
		return nil
	})
}

func logProbEntropyGrad[T float](dl, logits []T, tg []int, g []T, v int, invT float64) {
	n := len(tg)
	for r, t := range tg {
		drow := dl[r*v : (r+1)*v]
		a, h := float64(g[r]), float64(g[n+r])
		if t < 0 || (a == 0 && h == 0) {
			clear(drow)
			continue
		}
		row := logits[r*v : (r+1)*v]
		lse := rowLSE(row, invT)
		ent := rowEntropy(row, invT, lse)
		for j, x := range row {
			lp := float64(x)*invT - lse
			drow[j] = T(-invT * math.Exp(lp) * (a + h*(lp+ent)))
		}
		drow[t] += T(invT * a)
	}
}
