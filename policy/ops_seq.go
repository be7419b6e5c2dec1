package policy

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// embedOp: x[n] = wte[tok[n]] (+ wpe[n mod T] with learned positions) for
// the flattened padded batch tok (B·T). Inputs: wte (V, D), [wpe (C, D)],
// tok (int, B·T).
type embedOp struct {
	T   int
	pos bool
}

func (o embedOp) name() string { return fmt.Sprintf("policy.Embed{T=%d,pos=%v}", o.T, o.pos) }
func (o embedOp) inputs() []int {
	if o.pos {
		return []int{2, 2, 0}
	}
	return []int{2, 0}
}
func (embedOp) outDims() int { return 2 }
func (o embedOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	tok := in[len(in)-1]
	if tok.TotalSize()%o.T != 0 {
		return nil, fmt.Errorf("embed: %d tokens are not a multiple of T=%d", tok.TotalSize(), o.T)
	}
	if o.pos && in[1][0] < o.T {
		return nil, fmt.Errorf("embed: position table has %d rows, need %d", in[1][0], o.T)
	}
	return tensor.Shape{tok.TotalSize(), in[0][1]}, nil
}

func (o embedOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	tok := ints(in[len(in)-1])
	v, d := in[0].Shape()[0], in[0].Shape()[1]
	for n, t := range tok {
		if t < 0 || t >= v {
			return fmt.Errorf("token %d at position %d outside vocabulary [0, %d)", t, n, v)
		}
	}
	return dispatch(out, func() error {
		embedRows(o, floats[float32](out), floats[float32](in[0]), posTable[float32](o, in), tok, d)
		return nil
	}, func() error {
		embedRows(o, floats[float64](out), floats[float64](in[0]), posTable[float64](o, in), tok, d)
		return nil
	})
}

func posTable[T float](o embedOp, in []*tensor.Dense) []T {
	if !o.pos {
		return nil
	}
	return floats[T](in[1])
}

func embedRows[T float](o embedOp, out, wte, wpe []T, tok []int, d int) {
	for n, t := range tok {
		row := out[n*d : (n+1)*d]
		copy(row, wte[t*d:(t+1)*d])
		if wpe != nil {
			p := wpe[(n%o.T)*d:]
			for j := range row {
				row[j] += p[j]
			}
		}
	}
}

func (o embedOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	tok := in[len(in)-1]
	dwte, err := apply(embedGradTokOp{V: in[0].Shape()[0]}, grad, tok)
	if err != nil {
		return nil, err
	}
	if !o.pos {
		return G.Nodes{dwte, nil}, nil
	}
	dwpe, err := apply(embedGradPosOp{T: o.T, C: in[1].Shape()[0]}, grad)
	return G.Nodes{dwte, dwpe, nil}, err
}

// nonDiff: token ids get no gradient.
func (o embedOp) nonDiff(i int) bool { return i == len(o.inputs())-1 }

// embedGradTokOp scatter-adds dy (N, D) rows into a (V, D) table by token.
type embedGradTokOp struct {
	backOp
	V int
}

func (o embedGradTokOp) name() string { return fmt.Sprintf("policy.EmbedGradTok{V=%d}", o.V) }
func (embedGradTokOp) inputs() []int  { return []int{2, 0} }
func (embedGradTokOp) outDims() int   { return 2 }
func (o embedGradTokOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{o.V, in[0][1]}, nil
}

func (o embedGradTokOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	d := in[0].Shape()[1]
	return dispatch(out, func() error {
		scatterRows(floats[float32](out), floats[float32](in[0]), ints(in[1]), d)
		return nil
	}, func() error {
		scatterRows(floats[float64](out), floats[float64](in[0]), ints(in[1]), d)
		return nil
	})
}

func scatterRows[T float](dst, src []T, idx []int, d int) {
	for n, t := range idx {
		row, s := dst[t*d:(t+1)*d], src[n*d:(n+1)*d]
		for j := range row {
			row[j] += s[j]
		}
	}
}

// embedGradPosOp sums dy (B·T, D) over the batch into a (C, D) table.
type embedGradPosOp struct {
	backOp
	T, C int
}

func (o embedGradPosOp) name() string { return fmt.Sprintf("policy.EmbedGradPos{T=%d,C=%d}", o.T, o.C) }
func (embedGradPosOp) inputs() []int  { return []int{2} }
func (embedGradPosOp) outDims() int   { return 2 }
func (o embedGradPosOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	return tensor.Shape{o.C, in[0][1]}, nil
}

func (o embedGradPosOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	n, d := in[0].Shape()[0], in[0].Shape()[1]
	pos := make([]int, n)
	for i := range pos {
		pos[i] = i % o.T
	}
	return dispatch(out, func() error {
		scatterRows(floats[float32](out), floats[float32](in[0]), pos, d)
		return nil
	}, func() error {
		scatterRows(floats[float64](out), floats[float64](in[0]), pos, d)
		return nil
	})
}

// attentionOp: multi-head scaled dot-product attention of a padded batch.
// Inputs qkv (B·T, 3D) and keyMask (B·T) (1 real, 0 pad); output (B·T, D).
//
// With a stash (training graphs, one per layer, see keepProbs) the forward
// pass keeps its attention probabilities for the backward pass, which then
// skips recomputing them. The stash is written and read within one run of
// the graph: forward always runs before its gradient.
type attentionOp struct {
	geom  attnGeom
	stash *attnStash
}

// attnStash holds one attention node's probabilities (B·H·T×T, []float32
// or []float64) from the forward pass of the current run, with the qkv
// they were computed from.
type attnStash struct {
	p   any
	qkv any
}

// keepProbs returns a copy of o with its own stash.
func (o attentionOp) keepProbs() attentionOp {
	o.stash = new(attnStash)
	return o
}

// stashFor returns the buffer for the forward pass to keep P in (nil
// without a stash), sized for g and bound to qkv.
func stashFor[T float](st *attnStash, g attnGeom, qkv []T) []T {
	if st == nil {
		return nil
	}
	n := g.B * g.H * g.T * g.T
	p, _ := st.p.([]T)
	if len(p) != n {
		p = make([]T, n)
		st.p = p
	}
	st.qkv = qkv
	return p
}

// keptFor returns the probabilities the forward pass kept for qkv, or nil
// if there are none (no stash, or another input, size or type).
func keptFor[T float](st *attnStash, g attnGeom, qkv []T) []T {
	if st == nil {
		return nil
	}
	p, ok := st.p.([]T)
	fq, _ := st.qkv.([]T)
	if !ok || len(p) != g.B*g.H*g.T*g.T || len(fq) != len(qkv) || len(qkv) == 0 || &fq[0] != &qkv[0] {
		return nil
	}
	return p
}

func newAttentionOp(T, heads, dh int, causal, rotary bool) attentionOp {
	g := attnGeom{T: T, H: heads, Dh: dh, Causal: causal}
	if rotary {
		g.cos, g.sin = ropeTable(T, dh)
	}
	return attentionOp{geom: g}
}

func (o attentionOp) name() string {
	return fmt.Sprintf("policy.Attention{T=%d,H=%d,Dh=%d,causal=%v,rope=%v}", o.geom.T, o.geom.H, o.geom.Dh, o.geom.Causal, o.geom.cos != nil)
}
func (attentionOp) inputs() []int { return []int{2, 1} }
func (attentionOp) outDims() int  { return 2 }
func (o attentionOp) shape(in []tensor.Shape) (tensor.Shape, error) {
	d := o.geom.d()
	if err := wantShape("attention qkv", in[0], -1, 3*d); err != nil {
		return nil, err
	}
	if in[0][0]%o.geom.T != 0 {
		return nil, fmt.Errorf("attention: %d rows are not a multiple of T=%d", in[0][0], o.geom.T)
	}
	return tensor.Shape{in[0][0], d}, wantShape("attention mask", in[1], in[0][0])
}

func (o attentionOp) withBatch(rows int) attnGeom {
	g := o.geom
	g.B = rows / g.T
	return g
}

func (o attentionOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	g := o.withBatch(in[0].Shape()[0])
	return dispatch(out, func() error {
		qkv := floats[float32](in[0])
		attnForward(g, floats[float32](out), qkv, floats[float32](in[1]), stashFor(o.stash, g, qkv))
		return nil
	}, func() error {
		qkv := floats[float64](in[0])
		attnForward(g, floats[float64](out), qkv, floats[float64](in[1]), stashFor(o.stash, g, qkv))
		return nil
	})
}

func (o attentionOp) diff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dqkv, err := apply(attentionGradOp{fwd: o}, in[0], in[1], grad)
	return G.Nodes{dqkv, nil}, err
}

func (attentionOp) nonDiff(i int) bool { return i == 1 }

// attentionGradOp: dqkv from (qkv, keyMask, dout).
type attentionGradOp struct {
	backOp
	fwd attentionOp
}

func (o attentionGradOp) name() string                                { return o.fwd.name() + "Grad" }
func (attentionGradOp) inputs() []int                                 { return []int{2, 1, 2} }
func (attentionGradOp) outDims() int                                  { return 2 }
func (attentionGradOp) shape(in []tensor.Shape) (tensor.Shape, error) { return in[0], nil }

func (o attentionGradOp) do(out *tensor.Dense, in []*tensor.Dense) error {
	g := o.fwd.withBatch(in[0].Shape()[0])
	return dispatch(out, func() error {
		qkv := floats[float32](in[0])
		attnBackward(g, floats[float32](out), qkv, floats[float32](in[1]), floats[float32](in[2]), keptFor(o.fwd.stash, g, qkv))
		return nil
	}, func() error {
		qkv := floats[float64](in[0])
		attnBackward(g, floats[float64](out), qkv, floats[float64](in[1]), floats[float64](in[2]), keptFor(o.fwd.stash, g, qkv))
		return nil
	})
}
