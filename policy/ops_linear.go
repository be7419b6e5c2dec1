package policy

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Fused linear layer and residual add for the training graph. gorgonia's
// Mul followed by a bias op made two passes over every activation and a
// fresh output tensor per step; its Add cloned one operand before adding.
// These ops write straight into a reused output (see gop.output).

// linearOp: y = x·w + b for x (N, K), w (K, M), b (M). The bias is laid
// into y first and the product accumulated onto it (beta = 1).
type linearOp struct{}

func (linearOp) name() string  { return "policy.Linear" }
func (linearOp) inputs() []int { return []int{2, 2, 1} }
func (linearOp) outDims() int  { return 2 }
func (linearOp) fullWrite()    {}
func (linearOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantShape("linear x", in[0], -1, -1); err != nil {
		return nil, err
	}
	if err := wantShape("linear w", in[1], in[0][1], -1); err != nil {
		return nil, err
	}
	return tensor.Shape{in[0][0], in[1][1]}, wantShape("linear bias", in[2], in[1][1])
}

func (linearOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, k, m := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[1]
	return dispatch(out, func() error {
		linearRows(floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), floats[float32](in[2]), n, k, m)
		return nil
	}, func() error {
		linearRows(floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), floats[float64](in[2]), n, k, m)
		return nil
	})
}

func linearRows[T float](y, x, w, b []T, n, k, m int) {
	parRows(n, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			copy(y[r*m:(r+1)*m], b)
		}
	})
	gemm(false, false, n, m, k, 1, x, k, w, m, 1, y, m)
}

func (linearOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := apply(gemmOp{tB: true}, grad, in[1]) // dY·wᵀ
	if err != nil {
		return nil, err
	}
	dw, err := apply(gemmOp{tA: true}, in[0], grad) // xᵀ·dY
	if err != nil {
		return nil, err
	}
	db, err := apply(sumRowsOp{}, grad)
	return G.Nodes{dx, dw, db}, err
}

// gemmOp: op(a)·op(b) with op(x) = xᵀ where tA / tB is set, for the
// linear layer's gradients (the transposes are read in place by gemm).
type gemmOp struct {
	backOp
	tA, tB bool
}

func (o gemmOp) name() string { return fmt.Sprintf("policy.Gemm{tA=%v,tB=%v}", o.tA, o.tB) }
func (gemmOp) inputs() []int  { return []int{2, 2} }
func (gemmOp) outDims() int   { return 2 }
func (gemmOp) fullWrite()     {}

// dims returns m, n, k of op(a) (m×k) · op(b) (k×n).
func (o gemmOp) dims(a, b tensor.Shape) (m, n, k, kb int) {
	m, k = a[0], a[1]
	if o.tA {
		m, k = k, m
	}
	kb, n = b[0], b[1]
	if o.tB {
		kb, n = n, kb
	}
	return m, n, k, kb
}

func (o gemmOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantShape("matmul a", in[0], -1, -1); err != nil {
		return nil, err
	}
	if err := wantShape("matmul b", in[1], -1, -1); err != nil {
		return nil, err
	}
	m, n, k, kb := o.dims(in[0], in[1])
	if k != kb {
		return nil, fmt.Errorf("matmul: inner dims %d and %d differ", k, kb)
	}
	return tensor.Shape{m, n}, nil
}

func (o gemmOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	a, b := in[0].Shape(), in[1].Shape()
	m, n, k, _ := o.dims(a, b)
	return dispatch(out, func() error {
		gemm(o.tA, o.tB, m, n, k, 1, floats[float32](in[0]), a[1], floats[float32](in[1]), b[1], 0, floats[float32](out), n)
		return nil
	}, func() error {
		gemm(o.tA, o.tB, m, n, k, 1, floats[float64](in[0]), a[1], floats[float64](in[1]), b[1], 0, floats[float64](out), n)
		return nil
	})
}

// addOp: x + y for equal shapes (the residual stream), rows in parallel.
type addOp struct{}

func (addOp) name() string  { return "policy.Add" }
func (addOp) inputs() []int { return []int{2, 2} }
func (addOp) outDims() int  { return 2 }
func (addOp) fullWrite()    {}
func (addOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantShape("add y", in[1], in[0][0], in[0][1]); err != nil {
		return nil, err
	}
	return in[0], wantShape("add x", in[0], -1, -1)
}

func (addOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, d := in[0].Shape()[0], in[0].Shape()[1]
	return dispatch(out, func() error {
		addRows(floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), n, d)
		return nil
	}, func() error {
		addRows(floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), n, d)
		return nil
	})
}

func addRows[T float](z, x, y []T, n, d int) {
	parRows(n, rowGrain, func(lo, hi int) {
		zs, xs, ys := z[lo*d:hi*d], x[lo*d:hi*d], y[lo*d:hi*d]
		for i, v := range xs {
			zs[i] = v + ys[i]
		}
	})
}

// diff passes the gradient through to both inputs.
func (addOp) diff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad, grad}, nil
}

// mulOp: x·w for x (N, K), w (K, M), gorgonia's Mul with a reused output
// and this package's gradient products.
type mulOp struct{}

func (mulOp) name() string  { return "policy.Mul" }
func (mulOp) inputs() []int { return []int{2, 2} }
func (mulOp) outDims() int  { return 2 }
func (mulOp) fullWrite()    {}
func (mulOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return gemmOp{}.shape(in)
}

func (mulOp) do(out *tensor.Dense, in []*tensor.Dense) error { return gemmOp{}.do(out, in) }

func (mulOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := apply(gemmOp{tB: true}, grad, in[1]) // dY·wᵀ
	if err != nil {
		return nil, err
	}
	dw, err := apply(gemmOp{tA: true}, in[0], grad) // xᵀ·dY
	return G.Nodes{dx, dw}, err
}
