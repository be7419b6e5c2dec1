package policy

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Custom gorgonia ops of the Llama-family decoder (see op.go for the
// kernelOp contract). Weights keep Hugging Face's [out, in] layout, so
// projections are x·Wᵀ.

// linearTOp: y = x·Wᵀ (+ b) for x (N, K), W (M, K), b (M).
type linearTOp struct{ bias bool }

func (o linearTOp) name() string { return fmt.Sprintf("policy.LinearT{bias=%v}", o.bias) }
func (o linearTOp) inputs() []int {
	if o.bias {
		return []int{2, 2, 1}
	}
	return []int{2, 2}
}
func (linearTOp) outDims() int { return 2 }
func (o linearTOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantShape("linear x", in[0], -1, -1); err != nil {
		return nil, err
	}
	if err := wantShape("linear weight", in[1], -1, in[0][1]); err != nil {
		return nil, err
	}
	if o.bias {
		if err := wantShape("linear bias", in[2], in[1][0]); err != nil {
			return nil, err
		}
	}
	return tensor.Shape{in[0][0], in[1][0]}, nil
}

func (o linearTOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, k, m := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[0]
	return dispatch(out, func() error {
		linearTRows(floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), biasOf[float32](o.bias, in), n, k, m)
		return nil
	}, func() error {
		linearTRows(floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), biasOf[float64](o.bias, in), n, k, m)
		return nil
	})
}

func biasOf[T float](bias bool, in []*tensor.Dense) []T {
	if !bias {
		return nil
	}
	return floats[T](in[2])
}

// linearTRows writes y (n×m) = x (n×k)·wᵀ (+ b): the product first, then
// the bias, as the inference path does.
func linearTRows[T float](y, x, w, b []T, n, k, m int) {
	gemm(false, true, n, m, k, 1, x, k, w, k, 0, y, m)
	if b != nil {
		for r := 0; r < n; r++ {
			yr := y[r*m : (r+1)*m]
			for j := range yr {
				yr[j] += b[j]
			}
		}
	}
}

func (o linearTOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := apply(matMulOp{}, grad, in[1])
	if err != nil {
		return nil, err
	}
	dw, err := apply(matMulTNOp{}, grad, in[0])
	if err != nil || !o.bias {
		return G.Nodes{dx, dw}, err
	}
	db, err := apply(sumRowsOp{}, grad)
	return G.Nodes{dx, dw, db}, err
}

// matMulOp: a (N, M)·b (M, K), the input gradient of linearTOp.
type matMulOp struct{ backOp }

func (matMulOp) name() string  { return "policy.MatMul" }
func (matMulOp) inputs() []int { return []int{2, 2} }
func (matMulOp) outDims() int  { return 2 }
func (matMulOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{in[0][0], in[1][1]}, nil
}
func (matMulOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, m, k := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[1]
	return dispatch(out, func() error {
		gemm(false, false, n, k, m, 1, floats[float32](in[0]), m, floats[float32](in[1]), k, 0, floats[float32](out), k)
		return nil
	}, func() error {
		gemm(false, false, n, k, m, 1, floats[float64](in[0]), m, floats[float64](in[1]), k, 0, floats[float64](out), k)
		return nil
	})
}

// matMulTNOp: aᵀ (M, N)·b (N, K) for a (N, M), the weight gradient of
// linearTOp in [out, in] layout.
type matMulTNOp struct{ backOp }

func (matMulTNOp) name() string  { return "policy.MatMulTN" }
func (matMulTNOp) inputs() []int { return []int{2, 2} }
func (matMulTNOp) outDims() int  { return 2 }
func (matMulTNOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{in[0][1], in[1][1]}, nil
}
func (matMulTNOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, m, k := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[1]
	return dispatch(out, func() error {
		gemm(true, false, m, k, n, 1, floats[float32](in[0]), m, floats[float32](in[1]), k, 0, floats[float32](out), k)
		return nil
	}, func() error {
		gemm(true, false, m, k, n, 1, floats[float64](in[0]), m, floats[float64](in[1]), k, 0, floats[float64](out), k)
		return nil
	})
}

// rmsNormOp: y = x·rsqrt(mean(x²)+eps)·w over every group of len(w)
// values of x (N, D); len(w) = D is the usual norm, len(w) = head_dim the
// per-head q/k norm of Qwen3.
type rmsNormOp struct{ eps float64 }

func (o rmsNormOp) name() string { return fmt.Sprintf("policy.RMSNorm{eps=%g}", o.eps) }
func (rmsNormOp) inputs() []int  { return []int{2, 1} }
func (rmsNormOp) outDims() int   { return 2 }
func (rmsNormOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantShape("rms norm x", in[0], -1, -1); err != nil {
		return nil, err
	}
	if err := wantShape("rms norm weight", in[1], -1); err != nil {
		return nil, err
	}
	if in[1][0] == 0 || in[0][1]%in[1][0] != 0 {
		return nil, fmt.Errorf("rms norm: weight of %d does not divide rows of %d", in[1][0], in[0][1])
	}
	return in[0], nil
}

func (o rmsNormOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	return dispatch(out, func() error {
		rmsNormRows(floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), o.eps)
		return nil
	}, func() error {
		rmsNormRows(floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), o.eps)
		return nil
	})
}

func (o rmsNormOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := apply(rmsNormGradOp{eps: o.eps}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := apply(rmsNormGradOp{eps: o.eps, weight: true}, in[0], in[1], grad)
	return G.Nodes{dx, dw}, err
}

// rmsNormGradOp: dx (or dw with weight set) from (x, w, dy).
type rmsNormGradOp struct {
	backOp
	eps    float64
	weight bool
}

func (o rmsNormGradOp) name() string {
	return fmt.Sprintf("policy.RMSNormGrad{eps=%g,weight=%v}", o.eps, o.weight)
}
func (rmsNormGradOp) inputs() []int { return []int{2, 1, 2} }
func (o rmsNormGradOp) outDims() int {
	if o.weight {
		return 1
	}
	return 2
}
func (o rmsNormGradOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if o.weight {
		return in[1], nil
	}
	return in[0], nil
}

func (o rmsNormGradOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	return dispatch(out, func() error {
		rmsNormGrad(o.weight, floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), floats[float32](in[2]), o.eps)
		return nil
	}, func() error {
		rmsNormGrad(o.weight, floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), floats[float64](in[2]), o.eps)
		return nil
	})
}

func rmsNormGrad[T float](weight bool, out, x, w, dy []T, eps float64) {
	if weight {
		rmsNormGradW(out, x, dy, eps)
		return
	}
	rmsNormGradX(out, x, w, dy, eps)
}

// swigluOp: y = silu(gate)·up for gate, up (N, F).
type swigluOp struct{}

func (swigluOp) name() string  { return "policy.SwiGLU" }
func (swigluOp) inputs() []int { return []int{2, 2} }
func (swigluOp) outDims() int  { return 2 }
func (swigluOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantShape("swiglu gate", in[0], -1, -1); err != nil {
		return nil, err
	}
	return in[0], wantShape("swiglu up", in[1], in[0][0], in[0][1])
}

func (swigluOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	return dispatch(out, func() error {
		swiglu(floats[float32](out), floats[float32](in[0]), floats[float32](in[1]))
		return nil
	}, func() error {
		swiglu(floats[float64](out), floats[float64](in[0]), floats[float64](in[1]))
		return nil
	})
}

func (swigluOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dg, err := apply(swigluGradOp{}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	du, err := apply(swigluGradOp{up: true}, in[0], in[1], grad)
	return G.Nodes{dg, du}, err
}

// swigluGradOp: d gate (or d up) from (gate, up, dy).
type swigluGradOp struct {
	backOp
	up bool
}

func (o swigluGradOp) name() string                                { return fmt.Sprintf("policy.SwiGLUGrad{up=%v}", o.up) }
func (swigluGradOp) inputs() []int                                 { return []int{2, 2, 2} }
func (swigluGradOp) outDims() int                                  { return 2 }
func (swigluGradOp) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0], nil }

func (o swigluGradOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	return dispatch(out, func() error {
		swigluGrad(floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), floats[float32](in[2]), o.up)
		return nil
	}, func() error {
		swigluGrad(floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), floats[float64](in[2]), o.up)
		return nil
	})
}

// ropeOp rotates every Dh-wide head of x (B·T, heads·Dh) by its position
// (row n sits at position n mod T: batches are right-padded, so a row's
// position is its index in the sequence) with rotate_half pairs. id names
// the frequency table (base and scaling) for gorgonia's node hashing.
type ropeOp struct {
	T, Dh    int
	id       string
	cos, sin []float64
	inverse  bool
}

func newRopeOp(c LlamaConfig, T int) ropeOp {
	cos, sin := c.ropeAngles(T)
	return ropeOp{T: T, Dh: c.HeadDim, id: c.ropeID(), cos: cos, sin: sin}
}

func (o ropeOp) name() string {
	return fmt.Sprintf("policy.RoPE{T=%d,Dh=%d,%s,inverse=%v}", o.T, o.Dh, o.id, o.inverse)
}
func (ropeOp) inputs() []int { return []int{2} }
func (ropeOp) outDims() int  { return 2 }
func (o ropeOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	if err := wantShape("rope x", in[0], -1, -1); err != nil {
		return nil, err
	}
	if in[0][0]%o.T != 0 || in[0][1]%o.Dh != 0 {
		return nil, fmt.Errorf("rope: shape %v is not (B·%d, heads·%d)", in[0], o.T, o.Dh)
	}
	return in[0], nil
}

func (o ropeOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	return dispatch(out, func() error {
		ropeRows(o, floats[float32](out), floats[float32](in[0]), in[0].Shape()[1])
		return nil
	}, func() error {
		ropeRows(o, floats[float64](out), floats[float64](in[0]), in[0].Shape()[1])
		return nil
	})
}

func ropeRows[T float](o ropeOp, out, x []T, width int) {
	for n := 0; n*width < len(x); n++ {
		for h := n * width; h < (n+1)*width; h += o.Dh {
			ropeHalf(out[h:h+o.Dh], x[h:h+o.Dh], o.cos, o.sin, n%o.T, o.inverse)
		}
	}
}

// diff: the rotation is orthogonal, so the gradient is the inverse
// rotation of the upstream gradient.
func (o ropeOp) diff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	inv := o
	inv.inverse = !o.inverse
	d, err := apply(inv, grad)
	return G.Nodes{d}, err
}

// gqaAttentionOp: causal grouped-query attention of a right-padded batch.
// Inputs q (B·T, H·Dh), k, v (B·T, KV·Dh) and keyMask (B·T) (1 real, 0
// pad); output (B·T, H·Dh).
type gqaAttentionOp struct{ geom gqaGeom }

func (o gqaAttentionOp) name() string {
	g := o.geom
	return fmt.Sprintf("policy.GQAAttention{T=%d,H=%d,KV=%d,Dh=%d}", g.T, g.H, g.KV, g.Dh)
}
func (gqaAttentionOp) inputs() []int      { return []int{2, 2, 2, 1} }
func (gqaAttentionOp) outDims() int       { return 2 }
func (gqaAttentionOp) nonDiff(i int) bool { return i == 3 }
func (o gqaAttentionOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	g := o.geom
	if err := wantShape("attention q", in[0], -1, g.H*g.Dh); err != nil {
		return nil, err
	}
	n := in[0][0]
	if n%g.T != 0 {
		return nil, fmt.Errorf("attention: %d rows are not a multiple of T=%d", n, g.T)
	}
	if err := wantShape("attention k", in[1], n, g.KV*g.Dh); err != nil {
		return nil, err
	}
	if err := wantShape("attention v", in[2], n, g.KV*g.Dh); err != nil {
		return nil, err
	}
	return tensor.Shape{n, g.H * g.Dh}, wantShape("attention mask", in[3], n)
}

func (o gqaAttentionOp) withBatch(rows int) gqaGeom {
	g := o.geom
	g.B = rows / g.T
	return g
}

func (o gqaAttentionOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	g := o.withBatch(in[0].Shape()[0])
	return dispatch(out, func() error {
		gqaForward(g, floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), floats[float32](in[2]), floats[float32](in[3]))
		return nil
	}, func() error {
		gqaForward(g, floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), floats[float64](in[2]), floats[float64](in[3]))
		return nil
	})
}

// diff computes the packed [dq | dk | dv] once and slices it three ways.
func (o gqaAttentionOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	packed, err := apply(gqaAttentionGradOp{fwd: o}, in[0], in[1], in[2], in[3], grad)
	if err != nil {
		return nil, err
	}
	g := o.geom
	q, kv := g.H*g.Dh, g.KV*g.Dh
	var out G.Nodes
	for _, r := range [][2]int{{0, q}, {q, q + kv}, {q + kv, q + 2*kv}} {
		n, err := apply(colSliceOp{lo: r[0], hi: r[1]}, packed)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return append(out, nil), nil
}

// gqaAttentionGradOp: packed (B·T, (H+2·KV)·Dh) gradient from (q, k, v,
// keyMask, dout).
type gqaAttentionGradOp struct {
	backOp
	fwd gqaAttentionOp
}

func (o gqaAttentionGradOp) name() string { return o.fwd.name() + "Grad" }
func (gqaAttentionGradOp) inputs() []int  { return []int{2, 2, 2, 1, 2} }
func (gqaAttentionGradOp) outDims() int   { return 2 }
func (o gqaAttentionGradOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	g := o.fwd.geom
	return tensor.Shape{in[0][0], (g.H + 2*g.KV) * g.Dh}, nil
}

func (o gqaAttentionGradOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	g := o.fwd.withBatch(in[0].Shape()[0])
	return dispatch(out, func() error {
		gqaBackward(g, floats[float32](out), floats[float32](in[0]), floats[float32](in[1]), floats[float32](in[2]), floats[float32](in[3]), floats[float32](in[4]))
		return nil
	}, func() error {
		gqaBackward(g, floats[float64](out), floats[float64](in[0]), floats[float64](in[1]), floats[float64](in[2]), floats[float64](in[3]), floats[float64](in[4]))
		return nil
	})
}

// colSliceOp: columns [lo, hi) of x (N, D).
type colSliceOp struct {
	backOp
	lo, hi int
}

func (o colSliceOp) name() string { return fmt.Sprintf("policy.ColSlice{%d:%d}", o.lo, o.hi) }
func (colSliceOp) inputs() []int  { return []int{2} }
func (colSliceOp) outDims() int   { return 2 }
func (o colSliceOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{in[0][0], o.hi - o.lo}, nil
}

func (o colSliceOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	return dispatch(out, func() error {
		colSlice(floats[float32](out), floats[float32](in[0]), in[0].Shape()[1], o.lo, o.hi)
		return nil
	}, func() error {
		colSlice(floats[float64](out), floats[float64](in[0]), in[0].Shape()[1], o.lo, o.hi)
		return nil
	})
}

func colSlice[T float](dst, src []T, width, lo, hi int) {
	w := hi - lo
	for r := 0; r*width < len(src); r++ {
		copy(dst[r*w:(r+1)*w], src[r*width+lo:r*width+hi])
	}
}
