package policy

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// Model is a pre-LN transformer language model: token embedding (+ learned
// absolute positions, or rotary positions inside attention), Layers blocks of
// x += Wo·Attn(LN1(x)); x += W2·act(W1·LN2(x)), a final layer norm and an
// untied output head (D, V). The head is untied on purpose: at V = 264 it
// costs 34k parameters and keeps the embedding free of output-scale
// pressure; it also keeps the backward pass free of a transposed copy.
//
// Weights are float32 gorgonia tensors whose backing slices are shared by the
// training graphs, the inference path and Params (no copies). Matrices are
// stored (in, out) so a layer is x·W.
//
// Concurrency: LogProbs, Accumulate, ZeroGrad and Params' users (the
// optimizer) must not run concurrently with each other (LogProbs and
// Accumulate serialise on an internal mutex). Generate only reads weights:
// any number of goroutines may call it at once, as long as nobody changes
// the weights meanwhile (the learner swaps weights between steps).
type Model struct {
	netCore
	cfg Config
}

// paramSpec is one weight tensor and its initialisation: std > 0 draws
// N(0, std²); std == 0 fills with fill.
type paramSpec struct {
	name  string
	shape []int
	std   float64
	fill  float32
}

// layerName returns the name of layer l's tensor part.
func layerName(l int, part string) string { return fmt.Sprintf("blocks.%d.%s", l, part) }

// specs lists the model's tensors in a fixed order (the order of Params and
// of the safetensors file).
func (c Config) specs() []paramSpec {
	d, f, v := c.DModel, c.DFF, c.Vocab
	resid := 0.02 / math.Sqrt(2*float64(c.Layers)) // GPT-2 scaled residual init
	s := []paramSpec{{name: "wte", shape: []int{v, d}, std: 0.02}}
	if c.Positions == "learned" {
		s = append(s, paramSpec{name: "wpe", shape: []int{c.Context, d}, std: 0.01})
	}
	for l := 0; l < c.Layers; l++ {
		s = append(s,
			paramSpec{name: layerName(l, "ln1.g"), shape: []int{d}, fill: 1},
			paramSpec{name: layerName(l, "ln1.b"), shape: []int{d}},
			paramSpec{name: layerName(l, "attn.wqkv"), shape: []int{d, 3 * d}, std: 0.02},
			paramSpec{name: layerName(l, "attn.bqkv"), shape: []int{3 * d}},
			paramSpec{name: layerName(l, "attn.wo"), shape: []int{d, d}, std: resid},
			paramSpec{name: layerName(l, "attn.bo"), shape: []int{d}},
			paramSpec{name: layerName(l, "ln2.g"), shape: []int{d}, fill: 1},
			paramSpec{name: layerName(l, "ln2.b"), shape: []int{d}},
			paramSpec{name: layerName(l, "mlp.w1"), shape: []int{d, f}, std: 0.02},
			paramSpec{name: layerName(l, "mlp.b1"), shape: []int{f}},
			paramSpec{name: layerName(l, "mlp.w2"), shape: []int{f, d}, std: resid},
			paramSpec{name: layerName(l, "mlp.b2"), shape: []int{d}},
		)
	}
	return append(s,
		paramSpec{name: "lnf.g", shape: []int{d}, fill: 1},
		paramSpec{name: "lnf.b", shape: []int{d}},
		paramSpec{name: "head.w", shape: []int{d, v}, std: 0.02},
	)
}

// NewModel returns a freshly initialised model. Initialisation is
// deterministic: tensor name's stream of PCG(InitSeed, fnv64(name)) draws
// its values, so adding a tensor never changes the others.
func NewModel(cfg Config) (*Model, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := newEmptyModel(cfg)
	for i, s := range cfg.specs() {
		x := m.w[i].Data().([]float32)
		if s.std == 0 {
			for j := range x {
				x[j] = s.fill
			}
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(s.name))
		rng := rand.New(rand.NewPCG(cfg.InitSeed, h.Sum64()))
		for j := range x {
			x[j] = float32(s.std * rng.NormFloat64())
		}
	}
	return m, nil
}

// newEmptyModel allocates zeroed weights and gradients for cfg (defaults
// applied, valid).
func newEmptyModel(cfg Config) *Model {
	m := &Model{cfg: cfg}
	m.netCore = newNetCore(m, "")
	for _, s := range cfg.specs() {
		m.add(s.name, s.shape)
	}
	return m
}

// Config returns the model's configuration (defaults applied).
func (m *Model) Config() Config { return m.cfg }

// weight returns the backing slice of the named tensor; it panics on an
// unknown name (a programming error).
func (m *Model) weight(name string) []float32 {
	i, ok := m.index[name]
	if !ok {
		panic("policy: unknown tensor " + name)
	}
	return m.w[i].Data().([]float32)
}

// Clone returns a deep copy of the weights and gradients (e.g. a frozen
// reference policy), a *Model. The copy has its own, initially empty, graph
// cache.
func (m *Model) Clone() Trainable { return m.clone() }

// clone is Clone with the concrete type.
func (m *Model) clone() *Model {
	c := newEmptyModel(m.cfg)
	c.copyFrom(&m.netCore)
	return c
}
