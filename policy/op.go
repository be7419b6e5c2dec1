package policy

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// kernelOp is the part of a custom gorgonia op that differs between ops;
// gop wraps it into gorgonia's Op and SDOp interfaces. Float inputs share
// one element type (float32 or float64, chosen by the graph); index inputs
// are Go int vectors.
type kernelOp interface {
	// name identifies the op and every parameter that changes its result
	// (gorgonia merges nodes with equal hashes and children).
	name() string
	// inputs lists each input's dims, 0 meaning an int vector.
	inputs() []int
	// outDims is the number of dims of the output.
	outDims() int
	shape(in []tensor.Shape) (tensor.Shape, error)
	// do computes out (already allocated with the shape from shape) from in.
	do(out *tensor.Dense, in []*tensor.Dense) error
	// diff returns the gradient node of each input (nil where not
	// differentiable) given the output's gradient; nil for backward ops,
	// which are never differentiated themselves.
	diff(in G.Nodes, out, grad *G.Node) (G.Nodes, error)
}

// gop adapts a kernelOp to gorgonia. out keeps the node's output tensor
// from one run of the graph to the next (see reuse).
type gop struct {
	k   kernelOp
	out *outBuf
}

// outBuf is one graph node's output tensor, reused by the node's next run.
// A fresh multi-megabyte tensor per op per step cost page faults, zeroing
// and GC work (about 5% of a training step, issue 18). Reuse is safe
// because a graph runs one pass at a time and its callers copy what they
// read (logits, gradients) before the next pass; each node has its own
// outBuf, so no two live values share memory.
type outBuf struct{ t *tensor.Dense }

// fullWriter marks kernels whose do writes every element of out, so a
// reused output needs no clearing first; every other kernel gets a zeroed
// tensor, as a fresh one would be.
type fullWriter interface{ fullWrite() }

var (
	_ G.Op   = gop{}
	_ G.SDOp = gop{}
)

// apply adds the op to the graph of its inputs.
func apply(k kernelOp, in ...*G.Node) (*G.Node, error) {
	n, err := G.ApplyOp(gop{k: k, out: new(outBuf)}, in...)
	if err != nil {
		return nil, fmt.Errorf("policy: building %s: %w", k.name(), err)
	}
	return n, nil
}

func (o gop) Arity() int { return len(o.k.inputs()) }

func (o gop) Type() hm.Type {
	a := hm.TypeVariable('a')
	var ts []hm.Type
	for _, d := range o.k.inputs() {
		if d == 0 {
			ts = append(ts, G.TensorType{Dims: 1, Of: tensor.Int})
			continue
		}
		ts = append(ts, G.TensorType{Dims: d, Of: a})
	}
	ts = append(ts, G.TensorType{Dims: o.k.outDims(), Of: a})
	return hm.NewFnType(ts...)
}

func (o gop) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	shapes := make([]tensor.Shape, len(in))
	for i, d := range in {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("policy: %s: input %d has no shape", o.k.name(), i)
		}
		shapes[i] = s
	}
	return o.k.shape(shapes)
}

func (o gop) Do(vals ...G.Value) (G.Value, error) {
	in := make([]*tensor.Dense, len(vals))
	shapes := make([]tensor.Shape, len(vals))
	var dt tensor.Dtype
	for i, v := range vals {
		d, ok := v.(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("policy: %s: input %d is %T, not a dense tensor", o.k.name(), i, v)
		}
		in[i], shapes[i] = d, d.Shape()
		if o.k.inputs()[i] != 0 && dt == (tensor.Dtype{}) {
			dt = d.Dtype()
		}
	}
	s, err := o.k.shape(shapes)
	if err != nil {
		return nil, err
	}
	out := o.output(s, dt)
	if err := o.k.do(out, in); err != nil {
		return nil, fmt.Errorf("policy: %s: %w", o.k.name(), err)
	}
	return out, nil
}

// output returns the tensor for the op's result: the one of the previous
// run when shape and type match (zeroed unless the kernel writes it
// whole), else a new one, kept for the next run.
func (o gop) output(s tensor.Shape, dt tensor.Dtype) *tensor.Dense {
	if o.out == nil {
		return tensor.New(tensor.WithShape(s.Clone()...), tensor.Of(dt))
	}
	if t := o.out.t; t != nil && t.Dtype() == dt && t.Shape().Eq(s) {
		if _, ok := o.k.(fullWriter); !ok {
			t.Zero()
		}
		return t
	}
	o.out.t = tensor.New(tensor.WithShape(s.Clone()...), tensor.Of(dt))
	return o.out.t
}

func (o gop) ReturnsPtr() bool      { return false }
func (o gop) CallsExtern() bool     { return false }
func (o gop) OverwritesInput() int  { return -1 }
func (o gop) WriteHash(h hash.Hash) { fmt.Fprint(h, o.k.name()) }
func (o gop) String() string        { return o.k.name() }

func (o gop) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

func (o gop) DiffWRT(n int) []bool {
	w := make([]bool, n)
	probe := o.k.inputs()
	for i := range w {
		w[i] = i < len(probe) && probe[i] != 0 && o.differentiable(i)
	}
	return w
}

// differentiable reports whether input i gets a gradient; ops opt out of
// inputs through the optional nonDiff interface.
func (o gop) differentiable(i int) bool {
	if nd, ok := o.k.(interface{ nonDiff(int) bool }); ok {
		return !nd.nonDiff(i)
	}
	_, back := o.k.(interface{ backward() })
	return !back
}

func (o gop) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	gs, err := o.k.diff(in, out, grad)
	if err != nil {
		return nil, fmt.Errorf("policy: differentiating %s: %w", o.k.name(), err)
	}
	if len(gs) != len(in) {
		return nil, fmt.Errorf("policy: %s returned %d gradients for %d inputs", o.k.name(), len(gs), len(in))
	}
	return gs, nil
}

// backOp marks backward kernels, which are never differentiated.
type backOp struct{}

func (backOp) backward() {}

func (backOp) diff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("second derivatives are not supported")
}

// floats returns the backing slice of a float tensor of element type T.
func floats[T float](d *tensor.Dense) []T { return d.Data().([]T) }

// ints returns the backing slice of an int tensor.
func ints(d *tensor.Dense) []int { return d.Data().([]int) }

// dispatch runs f32 or f64 depending on the element type of out.
func dispatch(out *tensor.Dense, f32 func() error, f64 func() error) error {
	switch out.Dtype() {
	case tensor.Float32:
		return f32()
	case tensor.Float64:
		return f64()
	}
	return fmt.Errorf("unsupported dtype %v", out.Dtype())
}

// wantShape checks that s has exactly the given dims (-1 = any size).
func wantShape(what string, s tensor.Shape, dims ...int) error {
	if len(s) != len(dims) {
		return fmt.Errorf("%s: shape %v, want %d dims", what, s, len(dims))
	}
	for i, d := range dims {
		if d >= 0 && s[i] != d {
			return fmt.Errorf("%s: shape %v, want dim %d = %d", what, s, i, d)
		}
	}
	return nil
}
