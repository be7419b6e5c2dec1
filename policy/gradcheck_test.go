package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

type tol struct {
	Atol float64 `json:"atol"`
	Rtol float64 `json:"rtol"`
	H    float64 `json:"h"`
}

func (tl tol) ok(got, want float64) bool {
	return math.Abs(got-want) <= tl.Atol+tl.Rtol*math.Abs(want)
}

// checkFiniteDifferences compares 4 entries of every tensor's analytic
// gradient of net, drawn from PCG(5, stream), with central differences of
// eval.
func checkFiniteDifferences(t *testing.T, net *netCore, grads [][]float64, eval func(i, j int, delta float64) float64, stream uint64) {
	t.Helper()
	tl := loadTol(t, "model_grad_f64")
	rng := rand.New(rand.NewPCG(5, stream))
	for i, g := range grads {
		for range 4 {
			j := rng.IntN(len(g))
			fd := (eval(i, j, tl.H) - eval(i, j, -tl.H)) / (2 * tl.H)
			if !tl.ok(g[j], fd) {
				t.Errorf("%s[%d]: analytic %.9g, finite difference %.9g", net.names[i], j, g[j], fd)
			}
		}
	}
}

// checkAccumulated compares net's float32 gradient buffers with want·scale.
func checkAccumulated(t *testing.T, net *netCore, want [][]float64, scale float64) {
	t.Helper()
	tl := loadTol(t, "model_grad_f32_vs_f64")
	for i, g := range net.grad {
		for j, v := range g {
			if !tl.ok(float64(v), scale*want[i][j]) {
				t.Fatalf("%s[%d]: float32 %.6g, float64 %.6g", net.names[i], j, v, scale*want[i][j])
			}
		}
	}
}

// scaleUpWeights redraws every weight of net as N(0, 0.4²) from PCG(seed,
// 99), plus 1 on the gains isGain names, so that every gradient is well
// above finite-difference noise.
func scaleUpWeights(net *netCore, seed uint64, isGain func(name string) bool) {
	rng := rand.New(rand.NewPCG(seed, 99))
	for i, name := range net.names {
		x := net.w[i].Data().([]float32)
		for j := range x {
			x[j] = float32(0.4 * rng.NormFloat64())
			if isGain(name) {
				x[j] += 1
			}
		}
	}
}

// float64Weights returns a float64 copy of net's weights, for graphs
// precise enough to check gradients against finite differences.
func float64Weights(net *netCore) []*tensor.Dense {
	w := make([]*tensor.Dense, len(net.w))
	for i, d := range net.w {
		src := d.Data().([]float32)
		x := make([]float64, len(src))
		for j, v := range src {
			x[j] = float64(v)
		}
		w[i] = tensor.New(tensor.WithShape(net.shapes[i]...), tensor.WithBacking(x))
	}
	return w
}

// float64TrainGrads runs the float64 training graph ng over weights w (its
// loss hook set) once on the given inputs and returns the analytic
// gradient per tensor plus a function evaluating the loss after perturbing
// weight (i, j) by delta.
func float64TrainGrads(t *testing.T, ng *netGraph, w []*tensor.Dense, tokens, targets []int, mask32 []float32) ([][]float64, func(i, j int, delta float64) float64) {
	t.Helper()
	mask := make([]float64, len(mask32))
	for i, v := range mask32 {
		mask[i] = float64(v)
	}
	run := func() float64 {
		if err := ng.run(tokens, targets, mask); err != nil {
			t.Fatal(err)
		}
		return ng.hook.loss
	}
	run()
	grads := make([][]float64, len(ng.grads))
	for i, gn := range ng.grads {
		grads[i] = append([]float64(nil), gn.Value().Data().([]float64)...)
	}
	return grads, func(i, j int, delta float64) float64 {
		x := w[i].Data().([]float64)
		x0 := x[j]
		x[j] += delta
		l := run()
		x[j] = x0
		return l
	}
}

// loadTol reads a named tolerance from testdata/tolerances.json.
func loadTol(t testing.TB, name string) tol {
	t.Helper()
	b, err := os.ReadFile("testdata/tolerances.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var tl tol
	if err := json.Unmarshal(m[name], &tl); err != nil {
		t.Fatalf("tolerance %q: %v", name, err)
	}
	return tl
}

func randDense(rng *rand.Rand, scale float64, shape ...int) *tensor.Dense {
	n := 1
	for _, s := range shape {
		n *= s
	}
	x := make([]float64, n)
	for i := range x {
		x[i] = scale * rng.NormFloat64()
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x))
}

func intDense(x ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(len(x)), tensor.WithBacking(x))
}

// checkOpGrad builds out = build(inputs) on float64, the scalar
// Σ out ⊙ R for a fixed random R, and compares gorgonia's symbolic
// gradient for every float input with central finite differences.
// Inputs listed in fixed (e.g. attention masks) are held constant. Every
// input node is named: gorgonia merges unnamed inputs of equal shape.
func checkOpGrad(t *testing.T, in []*tensor.Dense, fixed []int, build func(n []*G.Node) (*G.Node, error)) {
	t.Helper()
	tl := loadTol(t, "op_grad")
	g := G.NewGraph()
	nodes := make([]*G.Node, len(in))
	var wrt []*G.Node
	var wrtIdx []int
	for i, d := range in {
		nodes[i] = G.NodeFromAny(g, d, G.WithName(fmt.Sprintf("in%d", i)))
		if d.Dtype() == tensor.Float64 && !slices.Contains(fixed, i) {
			wrt = append(wrt, nodes[i])
			wrtIdx = append(wrtIdx, i)
		}
	}
	out, err := build(nodes)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	r := G.NodeFromAny(g, randDense(rng, 1, out.Shape()...), G.WithName("r"))
	prod, err := G.HadamardProd(out, r)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	run := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return cost.Value().Data().(float64)
	}
	run()
	analytic := make([][]float64, len(grads))
	for i, gn := range grads {
		analytic[i] = append([]float64(nil), gn.Value().Data().([]float64)...)
	}
	bad := 0
	for k, i := range wrtIdx {
		x := in[i].Data().([]float64)
		for j := range x {
			x0 := x[j]
			x[j] = x0 + tl.H
			up := run()
			x[j] = x0 - tl.H
			down := run()
			x[j] = x0
			fd := (up - down) / (2 * tl.H)
			if !tl.ok(analytic[k][j], fd) && bad < 5 {
				bad++
				t.Errorf("input %d element %d: analytic %.9g, finite difference %.9g", i, j, analytic[k][j], fd)
			}
		}
	}
}

// opGradCase is one op for checkOpGrads: its inputs, which of them are
// constants (fixed, e.g. masks: no gradient), and the graph applying it.
type opGradCase struct {
	name  string
	fixed []int
	in    []*tensor.Dense
	build func(n []*G.Node) (*G.Node, error)
}

// checkOpGrads runs checkOpGrad on every case in a subtest of its own.
func checkOpGrads(t *testing.T, cases []opGradCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkOpGrad(t, c.in, c.fixed, c.build) })
	}
}

// maskVec returns the float64 vector v, an attention mask input.
func maskVec(v ...float64) *tensor.Dense {
	return tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(v))
}

func TestOpGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	checkOpGrads(t, []opGradCase{
		{"stock matrix multiply", nil, []*tensor.Dense{randDense(rng, 1, 3, 4), randDense(rng, 1, 4, 5)},
			func(n []*G.Node) (*G.Node, error) { return G.Mul(n[0], n[1]) }},
		{"stock add", nil, []*tensor.Dense{randDense(rng, 1, 3, 4), randDense(rng, 1, 3, 4)},
			func(n []*G.Node) (*G.Node, error) { return G.Add(n[0], n[1]) }},
		{"stock hadamard product", nil, []*tensor.Dense{randDense(rng, 1, 6), randDense(rng, 1, 6)},
			func(n []*G.Node) (*G.Node, error) { return G.HadamardProd(n[0], n[1]) }},
		{"layer norm", nil, []*tensor.Dense{randDense(rng, 2, 4, 5), randDense(rng, 1, 5), randDense(rng, 1, 5)},
			func(n []*G.Node) (*G.Node, error) { return apply(layerNormOp{}, n...) }},
		{"bias without activation", nil, []*tensor.Dense{randDense(rng, 1, 3, 4), randDense(rng, 1, 4)},
			func(n []*G.Node) (*G.Node, error) { return apply(biasActOp{act: actNone}, n...) }},
		{"bias with gelu", nil, []*tensor.Dense{randDense(rng, 1.5, 3, 4), randDense(rng, 1, 4)},
			func(n []*G.Node) (*G.Node, error) { return apply(biasActOp{act: actGELU}, n...) }},
		{"bias with relu", nil, []*tensor.Dense{randDense(rng, 1, 3, 4), randDense(rng, 1, 4)},
			func(n []*G.Node) (*G.Node, error) { return apply(biasActOp{act: actReLU}, n...) }},
		{"token and learned position embedding", nil, []*tensor.Dense{randDense(rng, 1, 6, 3), randDense(rng, 1, 5, 3), intDense(1, 4, 4, 0, 5, 1, 2, 2)},
			func(n []*G.Node) (*G.Node, error) { return apply(embedOp{T: 4, pos: true}, n...) }},
		{"token embedding only", nil, []*tensor.Dense{randDense(rng, 1, 6, 3), intDense(1, 4, 4, 0, 5, 1)},
			func(n []*G.Node) (*G.Node, error) { return apply(embedOp{T: 3}, n...) }},
		{"causal attention with padding", []int{1}, []*tensor.Dense{randDense(rng, 1, 8, 12), maskVec(1, 1, 1, 0, 1, 1, 1, 1)},
			func(n []*G.Node) (*G.Node, error) { return apply(newAttentionOp(4, 2, 2, true, false), n...) }},
		{"bidirectional attention with padding", []int{1}, []*tensor.Dense{randDense(rng, 1, 8, 12), maskVec(1, 1, 0, 0, 1, 1, 1, 1)},
			func(n []*G.Node) (*G.Node, error) { return apply(newAttentionOp(4, 2, 2, false, false), n...) }},
		{"causal rotary attention", []int{1}, []*tensor.Dense{randDense(rng, 1, 6, 12), maskVec(1, 1, 1, 1, 1, 0)},
			func(n []*G.Node) (*G.Node, error) { return apply(newAttentionOp(3, 1, 4, true, true), n...) }},
		{"bidirectional rotary attention", []int{1}, []*tensor.Dense{randDense(rng, 1, 6, 12), maskVec(1, 1, 1, 1, 0, 1)},
			func(n []*G.Node) (*G.Node, error) { return apply(newAttentionOp(3, 2, 2, false, true), n...) }},
		{"log-prob gather at temperature 1", nil, []*tensor.Dense{randDense(rng, 3, 4, 7), intDense(3, -1, 0, 6)},
			func(n []*G.Node) (*G.Node, error) { return apply(logProbOp{invT: 1}, n...) }},
		{"log-prob gather at temperature 0.7", nil, []*tensor.Dense{randDense(rng, 3, 4, 7), intDense(3, 2, -1, 6)},
			func(n []*G.Node) (*G.Node, error) { return apply(logProbOp{invT: 1 / 0.7}, n...) }},
		{"log-prob and entropy gather at temperature 1", nil, []*tensor.Dense{randDense(rng, 3, 4, 7), intDense(3, -1, 0, 6)},
			func(n []*G.Node) (*G.Node, error) { return apply(logProbEntropyOp{invT: 1}, n...) }},
		{"log-prob and entropy gather at temperature 0.7", nil, []*tensor.Dense{randDense(rng, 3, 4, 7), intDense(3, 2, -1, 6)},
			func(n []*G.Node) (*G.Node, error) { return apply(logProbEntropyOp{invT: 1 / 0.7}, n...) }},
	})
}
