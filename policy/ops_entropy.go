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
// gatherRows). Rows with a negative target output 0 twice and get no
// gradient. One op rather than two so that a single loss hook sees both
// halves and returns both gradients.
type logProbEntropyOp struct {
	tokenGather
	invT float64
}

func (o logProbEntropyOp) name() string { return fmt.Sprintf("policy.LogProbEntropy{invT=%g}", o.invT) }
func (logProbEntropyOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return gatherShape(in, 2)
}
func (o logProbEntropyOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	return gather(out, in, o.invT, true, nil)
}
func (o logProbEntropyOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return gatherDiff(logProbEntropyGradOp{invT: o.invT}, in, grad)
}

// logProbEntropyGradOp back-propagates logProbEntropyOp. With u = logits·invT,
// ∂logp/∂u_j = 1[j = target] − p_j and ∂H/∂u_j = −p_j·(log p_j + H), so for
// upstream gradients a = g[n] (log-prob) and h = g[N+n] (entropy):
//
//	dlogits[n, j] = invT·(a·1[j = target] − p_j·(a + h·(log p_j + H))).
type logProbEntropyGradOp struct {
	tokenGatherGrad
	invT float64
}

func (o logProbEntropyGradOp) name() string {
	return fmt.Sprintf("policy.LogProbEntropyGrad{invT=%g}", o.invT)
}
func (o logProbEntropyGradOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	return gatherGrad(out, in, o.invT, logProbEntropyGrad[float32], logProbEntropyGrad[float64])
}

// logProbEntropyGrad runs rows in parallel (each row is independent).
func logProbEntropyGrad[T float](dl, logits []T, tg []int, g []T, v int, invT float64) {
	n := len(tg)
	parRows(n, rowGrain, func(lo, hi int) {
		for r, t := range tg[lo:hi] {
			r += lo
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
	})
}
