package policy

import (
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestLinearAndAddOpGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		name  string
		in    []*tensor.Dense
		build func(n []*G.Node) (*G.Node, error)
	}{
		{"linear", []*tensor.Dense{randDense(rng, 1, 5, 3), randDense(rng, 1, 3, 4), randDense(rng, 1, 4)},
			func(n []*G.Node) (*G.Node, error) { return apply(linearOp{}, n...) }},
		{"linear with one row", []*tensor.Dense{randDense(rng, 1, 1, 6), randDense(rng, 1, 6, 2), randDense(rng, 1, 2)},
			func(n []*G.Node) (*G.Node, error) { return apply(linearOp{}, n...) }},
		{"matrix product", []*tensor.Dense{randDense(rng, 1, 3, 5), randDense(rng, 1, 5, 2)},
			func(n []*G.Node) (*G.Node, error) { return apply(mulOp{}, n...) }},
		{"log-prob gather keeping its log-partitions", []*tensor.Dense{randDense(rng, 3, 4, 7), intDense(3, 2, -1, 6)},
			func(n []*G.Node) (*G.Node, error) { return apply(logProbOp{invT: 1 / 0.7, stash: new(lseStash)}, n...) }},
		{"layer norm keeping its row statistics", []*tensor.Dense{randDense(rng, 2, 4, 5), randDense(rng, 1, 5), randDense(rng, 1, 5)},
			func(n []*G.Node) (*G.Node, error) { return apply(layerNormOp{stash: new(lnStash)}, n...) }},
		{"residual add", []*tensor.Dense{randDense(rng, 1, 3, 4), randDense(rng, 1, 3, 4)},
			func(n []*G.Node) (*G.Node, error) { return apply(addOp{}, n...) }},
		{"residual add feeding a linear layer", []*tensor.Dense{randDense(rng, 1, 4, 3), randDense(rng, 1, 4, 3), randDense(rng, 1, 3, 3), randDense(rng, 1, 3)},
			func(n []*G.Node) (*G.Node, error) {
				s, err := apply(addOp{}, n[0], n[1])
				if err != nil {
					return nil, err
				}
				y, err := apply(linearOp{}, s, n[2], n[3])
				if err != nil {
					return nil, err
				}
				return apply(addOp{}, s, y)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkOpGrad(t, c.in, nil, c.build) })
	}
}

// TestAttentionWithKeptProbsGradients checks the attention gradient that
// reads the probabilities the forward pass kept (training graphs).
func TestAttentionWithKeptProbsGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	mask := func(v ...float64) *tensor.Dense { return tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(v)) }
	cases := []struct {
		name string
		in   []*tensor.Dense
		op   attentionOp
	}{
		{"causal", []*tensor.Dense{randDense(rng, 1, 8, 12), mask(1, 1, 1, 0, 1, 1, 1, 1)}, newAttentionOp(4, 2, 2, true, false)},
		{"bidirectional", []*tensor.Dense{randDense(rng, 1, 8, 12), mask(1, 1, 0, 0, 1, 1, 1, 1)}, newAttentionOp(4, 2, 2, false, false)},
		{"causal rotary", []*tensor.Dense{randDense(rng, 1, 6, 12), mask(1, 1, 1, 1, 1, 0)}, newAttentionOp(3, 1, 4, true, true)},
		{"causal over several row blocks", []*tensor.Dense{randDense(rng, 1, 80, 6), mask(slices.Repeat([]float64{1, 1, 1, 0, 1}, 16)...)}, newAttentionOp(40, 1, 2, true, false)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op := c.op.keepProbs()
			checkOpGrad(t, c.in, []int{1}, func(n []*G.Node) (*G.Node, error) { return apply(op, n...) })
		})
	}
}

// TestGemmOpMatchesTripleLoop checks every transpose combination of the
// gradient product against a direct triple loop.
func TestGemmOpMatchesTripleLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ tA, tB bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		m, n, k := 3, 4, 5
		ash, bsh := []int{m, k}, []int{k, n}
		if c.tA {
			ash = []int{k, m}
		}
		if c.tB {
			bsh = []int{n, k}
		}
		a, b := randDense(rng, 1, ash...), randDense(rng, 1, bsh...)
		out := tensor.New(tensor.WithShape(m, n), tensor.Of(tensor.Float64))
		op := gemmOp{tA: c.tA, tB: c.tB}
		if s, err := op.shape([]tensor.Shape{a.Shape(), b.Shape()}); err != nil || !s.Eq(out.Shape()) {
			t.Fatalf("%+v: shape %v, %v", c, s, err)
		}
		if err := op.do(out, []*tensor.Dense{a, b}); err != nil {
			t.Fatal(err)
		}
		av, bv, ov := a.Data().([]float64), b.Data().([]float64), out.Data().([]float64)
		at := func(i, p int) float64 {
			if c.tA {
				return av[p*m+i]
			}
			return av[i*k+p]
		}
		bt := func(p, j int) float64 {
			if c.tB {
				return bv[j*k+p]
			}
			return bv[p*n+j]
		}
		for i := range m {
			for j := range n {
				var want float64
				for p := range k {
					want += at(i, p) * bt(p, j)
				}
				if d := ov[i*n+j] - want; d > 1e-12 || d < -1e-12 {
					t.Fatalf("%+v: [%d,%d] = %v, want %v", c, i, j, ov[i*n+j], want)
				}
			}
		}
	}
}
