package policy

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// layerNormOp: y = (x − mean)/sqrt(var + 1e-5)·g + b over the last axis of
// x (N, D); g, b (D). With a stash (training graphs) the forward pass keeps
// each row's statistics for the gradients, which then skip recomputing
// them (see lnStash).
type layerNormOp struct{ stash *lnStash }

func (layerNormOp) name() string  { return "policy.LayerNorm" }
func (layerNormOp) inputs() []int { return []int{2, 1, 1} }
func (layerNormOp) outDims() int  { return 2 }
func (layerNormOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantShape("layer norm x", in[0], -1, -1); err != nil {
		return nil, err
	}
	if err := wantShape("layer norm gain", in[1], in[0][1]); err != nil {
		return nil, err
	}
	return in[0], wantShape("layer norm bias", in[2], in[0][1])
}

func (o layerNormOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, d := in[0].Shape()[0], in[0].Shape()[1]
	return dispatch(out, func() error {
		x := floats[float32](in[0])
		layerNormTrain(floats[float32](out), x, floats[float32](in[1]), floats[float32](in[2]), n, d, o.stash.keepFor(n, x))
		return nil
	}, func() error {
		x := floats[float64](in[0])
		layerNormTrain(floats[float64](out), x, floats[float64](in[1]), floats[float64](in[2]), n, d, o.stash.keepFor(n, x))
		return nil
	})
}

func (o layerNormOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := apply(layerNormGradXOp{stash: o.stash}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	dg, err := apply(layerNormGradGOp{stash: o.stash}, in[0], grad)
	if err != nil {
		return nil, err
	}
	db, err := apply(sumRowsOp{}, grad)
	return G.Nodes{dx, dg, db}, err
}

// layerNormGradXOp: dx from (x, g, dy).
type layerNormGradXOp struct {
	backOp
	stash *lnStash // the forward op's
}

func (layerNormGradXOp) name() string                                  { return "policy.LayerNormGradX" }
func (layerNormGradXOp) inputs() []int                                 { return []int{2, 1, 2} }
func (layerNormGradXOp) outDims() int                                  { return 2 }
func (layerNormGradXOp) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0], nil }

func (o layerNormGradXOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, d := in[0].Shape()[0], in[0].Shape()[1]
	return dispatch(out, func() error {
		x := floats[float32](in[0])
		layerNormGradXTrain(floats[float32](out), x, floats[float32](in[1]), floats[float32](in[2]), n, d, o.stash.keptFor(n, x))
		return nil
	}, func() error {
		x := floats[float64](in[0])
		layerNormGradXTrain(floats[float64](out), x, floats[float64](in[1]), floats[float64](in[2]), n, d, o.stash.keptFor(n, x))
		return nil
	})
}

// layerNormGradGOp: dg from (x, dy).
type layerNormGradGOp struct {
	backOp
	stash *lnStash // the forward op's
}

func (layerNormGradGOp) name() string  { return "policy.LayerNormGradG" }
func (layerNormGradGOp) inputs() []int { return []int{2, 2} }
func (layerNormGradGOp) outDims() int  { return 1 }
func (layerNormGradGOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{in[0][1]}, nil
}

func (o layerNormGradGOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, d := in[0].Shape()[0], in[0].Shape()[1]
	return dispatch(out, func() error {
		x := floats[float32](in[0])
		layerNormGradGTrain(floats[float32](out), x, floats[float32](in[1]), n, d, o.stash.keptFor(n, x))
		return nil
	}, func() error {
		x := floats[float64](in[0])
		layerNormGradGTrain(floats[float64](out), x, floats[float64](in[1]), n, d, o.stash.keptFor(n, x))
		return nil
	})
}

// sumRowsOp: (N, D) → (D), the bias gradient.
type sumRowsOp struct{ backOp }

func (sumRowsOp) name() string  { return "policy.SumRows" }
func (sumRowsOp) inputs() []int { return []int{2} }
func (sumRowsOp) outDims() int  { return 1 }
func (sumRowsOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{in[0][1]}, wantShape("sum rows", in[0], -1, -1)
}

func (sumRowsOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, d := in[0].Shape()[0], in[0].Shape()[1]
	return dispatch(out, func() error {
		sumRowsTrain(floats[float32](out), floats[float32](in[0]), n, d)
		return nil
	}, func() error {
		sumRowsTrain(floats[float64](out), floats[float64](in[0]), n, d)
		return nil
	})
}

// biasActOp: y = act(x + b) for x (N, F), b (F); act is actNone, actGELU
// (tanh approximation) or actReLU. With a stash (training graphs) GELU
// keeps its sigmoid for the gradient (see geluStash).
type biasActOp struct {
	act   int
	stash *geluStash
}

func (o biasActOp) name() string { return fmt.Sprintf("policy.BiasAct{%d}", o.act) }
func (biasActOp) inputs() []int  { return []int{2, 1} }
func (biasActOp) outDims() int   { return 2 }
func (biasActOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantShape("bias-act x", in[0], -1, -1); err != nil {
		return nil, err
	}
	return in[0], wantShape("bias-act bias", in[1], in[0][1])
}

func (o biasActOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, d := in[0].Shape()[0], in[0].Shape()[1]
	return dispatch(out, func() error {
		biasActTrain(floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), n, d, o.act, o.stash)
		return nil
	}, func() error {
		biasActTrain(floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), n, d, o.act, o.stash)
		return nil
	})
}

func (o biasActOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx := grad
	if o.act != actNone {
		var err error
		if dx, err = apply(biasActGradOp{act: o.act, stash: o.stash}, in[0], in[1], grad); err != nil {
			return nil, err
		}
	}
	db, err := apply(sumRowsOp{}, dx)
	return G.Nodes{dx, db}, err
}

// biasActGradOp: dx = dy ⊙ act'(x + b) from (x, b, dy).
type biasActGradOp struct {
	backOp
	act   int
	stash *geluStash // the forward op's
}

func (o biasActGradOp) name() string                                { return fmt.Sprintf("policy.BiasActGrad{%d}", o.act) }
func (biasActGradOp) inputs() []int                                 { return []int{2, 1, 2} }
func (biasActGradOp) outDims() int                                  { return 2 }
func (biasActGradOp) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0], nil }

func (o biasActGradOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	return dispatch(out, func() error {
		biasActGradTrain(floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), floats[float32](in[2]), o.act, o.stash)
		return nil
	}, func() error {
		biasActGradTrain(floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), floats[float64](in[2]), o.act, o.stash)
		return nil
	})
}

func biasActGrad[T float](dx, x, b, dy []T, act int) {
	d := len(b)
	for i, v := range x {
		dx[i] = dy[i] * activateGrad(act, v+b[i%d])
	}
}
