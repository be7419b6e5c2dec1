package policy

import (
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sync"

	"gorgonia.org/tensor"

	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/safetensors"
)

// netCore is what the byte model (Model) and the Hugging Face decoders
// (LlamaModel) share beyond their architecture: the weight and gradient
// buffers in the family's fixed tensor order, the bounded cache of compiled
// graphs, and the scoring and training passes over them. Each model embeds
// one and supplies its batch layout and graph builder as fam, so that the
// two families cannot drift apart in how they score, train, save or copy.
type netCore struct {
	names  []string
	shapes [][]int
	w      []*tensor.Dense // float32 values, index-aligned with names
	grad   [][]float32
	index  map[string]int

	fam netFamily
	// passName names the family's graphs in pass errors ("" or "llama ").
	passName string

	mu      sync.Mutex
	graphs  map[graphKey]*netGraph
	useTick uint64 // counts graph uses, for the LRU cache
	budget  int64  // graphCacheBytes; tests lower it
}

// netFamily is the architecture-specific half of a netCore.
type netFamily interface {
	// layout validates b against the family's context and vocabulary and
	// flattens it right-padded.
	layout(b SeqBatch) (*batchLayout, error)
	// buildGraph builds the graph for key over the model's weights.
	buildGraph(key graphKey) (*netGraph, error)
	VocabSize() int
}

// newNetCore returns a core with no tensors; add allocates them.
func newNetCore(fam netFamily, passName string) netCore {
	return netCore{fam: fam, passName: passName, index: map[string]int{}, graphs: map[graphKey]*netGraph{}, budget: graphCacheBytes}
}

// add allocates a zeroed weight tensor and its gradient buffer.
func (c *netCore) add(name string, shape []int) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	c.index[name] = len(c.names)
	c.names = append(c.names, name)
	c.shapes = append(c.shapes, shape)
	c.w = append(c.w, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, n))))
	c.grad = append(c.grad, make([]float32, n))
}

// Params returns one optim.Param per tensor, in the fixed order of the
// family's specs (the order Save writes), whose Value and Grad alias the
// model's weight and gradient buffers: updating Value in place changes the
// model. 1-D tensors (biases, norm gains) are NoDecay; embeddings and
// heads decay.
func (c *netCore) Params() []optim.Param {
	ps := make([]optim.Param, len(c.w))
	for i := range c.w {
		ps[i] = optim.Param{
			Name:    c.names[i],
			Value:   c.w[i].Data().([]float32),
			Grad:    c.grad[i],
			NoDecay: len(c.shapes[i]) == 1,
		}
	}
	return ps
}

// ZeroGrad sets every gradient buffer to zero.
func (c *netCore) ZeroGrad() {
	for _, g := range c.grad {
		clear(g)
	}
}

// NumParams returns the number of scalar weights.
func (c *netCore) NumParams() int {
	n := 0
	for _, g := range c.grad {
		n += len(g)
	}
	return n
}

// copyFrom copies src's weights and gradients into c, which has the same
// tensors (a fresh core of the same config).
func (c *netCore) copyFrom(src *netCore) {
	for i := range src.w {
		copy(c.w[i].Data().([]float32), src.w[i].Data().([]float32))
		copy(c.grad[i], src.grad[i])
	}
}

// save writes the weights to path as one float32 safetensors file, in
// tensor order, atomically, with meta plus set as metadata (meta is not
// modified).
func (c *netCore) save(path string, meta, set map[string]string) error {
	md := maps.Clone(meta)
	if md == nil {
		md = map[string]string{}
	}
	maps.Copy(md, set)
	ts := make([]safetensors.Tensor, len(c.w))
	for i := range c.w {
		ts[i] = safetensors.Tensor{Name: c.names[i], Shape: slices.Clone(c.shapes[i]), Data: c.w[i].Data().([]float32)}
	}
	if err := safetensors.WriteFile(path, ts, md); err != nil {
		return fmt.Errorf("policy: save %s: %w", path, err)
	}
	return nil
}

// maxCachedGraphs and graphCacheBytes bound a model's compiled-graph
// cache: each graph holds the activation and gradient buffers of its
// (B, T) shape, and an RL run sees many batch shapes (a Hugging Face
// model's graph for one 450-token sequence alone holds about 2 GB), so an
// unbounded cache grows by gigabytes.
const (
	maxCachedGraphs       = 6
	graphCacheBytes int64 = 1 << 30
	// releaseBytes is how much evicted memory makes graphFor return it to
	// the system at once: the Go collector would otherwise let the heap
	// grow to twice its live size before collecting the dropped graphs.
	releaseBytes int64 = 256 << 20
)

// graphFor returns the cached graph for key, building it on first use.
// Callers hold c.mu.
//
// Before a new graph is built, the least recently used graphs are dropped
// while maxCachedGraphs are cached or their values exceed graphCacheBytes,
// so a graph larger than the budget is the only one kept and shapes that
// large are built anew when they recur (results do not depend on it).
func (c *netCore) graphFor(key graphKey) (*netGraph, error) {
	c.useTick++
	if ng, ok := c.graphs[key]; ok {
		ng.lastUse = c.useTick
		return ng, nil
	}
	var freed int64
	for len(c.graphs) > 0 && (len(c.graphs) >= maxCachedGraphs || c.cachedBytes() > c.budget) {
		freed += c.evictOldest()
	}
	if freed >= releaseBytes {
		debug.FreeOSMemory()
	}
	ng, err := c.fam.buildGraph(key)
	if err != nil {
		return nil, err
	}
	ng.lastUse = c.useTick
	c.graphs[key] = ng
	return ng, nil
}

// cachedBytes is the memory the cached graphs' values hold.
func (c *netCore) cachedBytes() int64 {
	var n int64
	for _, g := range c.graphs {
		n += g.bytes
	}
	return n
}

// evictOldest drops the least recently used graph and returns its bytes.
func (c *netCore) evictOldest() int64 {
	var oldest graphKey
	first := true
	for k, g := range c.graphs {
		if first || g.lastUse < c.graphs[oldest].lastUse {
			oldest, first = k, false
		}
	}
	ng := c.graphs[oldest]
	if ng.vm != nil {
		ng.vm.Close()
	}
	delete(c.graphs, oldest)
	return ng.bytes
}

// LogProbs returns, for every completion token, its log-probability
// log_softmax(logits/temperature)[token] and the entropy of that tempered
// next-token distribution, under the current weights, without gradients.
// Results are bit-identical to the log-probs Accumulate hands its objective.
// Cost: one forward pass over the padded batch; the first call per padded
// shape compiles a graph (cached). Serialises with Accumulate.
func (c *netCore) LogProbs(b SeqBatch, temperature float64) (logp, entropy [][]float32, err error) {
	if err := checkTemperature(temperature); err != nil {
		return nil, nil, err
	}
	lay, err := c.fam.layout(b)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ng, err := c.graphFor(graphKey{B: lay.B, T: lay.T})
	if err != nil {
		return nil, nil, err
	}
	if err := ng.run(lay.tokens, lay.targets, lay.mask); err != nil {
		return nil, nil, fmt.Errorf("policy: %sforward pass: %w", c.passName, err)
	}
	logits := ng.logits.Value().Data().([]float32)
	v, invT := c.fam.VocabSize(), 1/temperature
	logp, entropy = make([][]float32, lay.B), make([][]float32, lay.B)
	for i := range logp {
		logp[i], entropy[i] = make([]float32, lay.count[i]), make([]float32, lay.count[i])
		for j := range logp[i] {
			n := lay.start[i] + j
			row := logits[n*v : (n+1)*v]
			lp, lse := rowLogProb(row, invT, lay.targets[n])
			logp[i][j], entropy[i][j] = float32(lp), float32(rowEntropy(row, invT, lse))
		}
	}
	return logp, entropy, nil
}

// Accumulate runs the forward pass, hands the completion log-probs (at the
// given temperature) to lossGrad, back-propagates the returned dlogp through
// the network (the graph's scalar is Σ dlogp ⊙ logp with dlogp constant) and
// ADDS the weight gradients into the gradient buffers (see Params; call
// ZeroGrad between optimizer steps). It returns lossGrad's loss.
// Cost: one forward and one backward pass; graphs are cached per padded
// shape. Serialises with LogProbs.
func (c *netCore) Accumulate(b SeqBatch, temperature float64, lossGrad LossGradFunc) (float64, error) {
	return c.accumulate(b, temperature, false, func(lay *batchLayout, flat []float64) (float64, []float64, error) {
		return lay.callObjective(flat, lossGrad)
	})
}

// AccumulateWithEntropy is Accumulate for objectives that also depend on the
// per-token entropies, such as an entropy bonus: the graph's scalar is
// Σ dlogp ⊙ logp + Σ dentropy ⊙ H, and H back-propagates its exact gradient
// ∂H/∂logits_v = −p_v·(log p_v + H)/temperature. The log-probs and the
// gradients through them are those of Accumulate.
// Cost: Accumulate's, plus one more pass over the vocabulary per scored
// position in each direction (and a separately cached graph); objectives
// without an entropy term should call Accumulate.
func (c *netCore) AccumulateWithEntropy(b SeqBatch, temperature float64, lossGrad EntropyLossGradFunc) (float64, error) {
	return c.accumulate(b, temperature, true, func(lay *batchLayout, flat []float64) (float64, []float64, error) {
		return lay.callEntropyObjective(flat, lossGrad)
	})
}

// accumulate runs the training graph with the given hook (which sees the
// flat gather output of the graph: log-probs, then entropies when entropy
// is set) and adds the weight gradients into c.grad.
func (c *netCore) accumulate(b SeqBatch, temperature float64, entropy bool,
	hook func(lay *batchLayout, flat []float64) (float64, []float64, error)) (float64, error) {
	if err := checkTemperature(temperature); err != nil {
		return 0, err
	}
	lay, err := c.fam.layout(b)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ng, err := c.graphFor(graphKey{B: lay.B, T: lay.T, invT: 1 / temperature, train: true, entropy: entropy})
	if err != nil {
		return 0, err
	}
	ng.hook.fn = func(flat []float64) (float64, []float64, error) { return hook(lay, flat) }
	defer func() { ng.hook.fn = nil }()
	if err := ng.run(lay.tokens, lay.targets, lay.mask); err != nil {
		return 0, fmt.Errorf("policy: %sforward/backward pass: %w", c.passName, err)
	}
	gvs := make([][]float32, len(ng.grads))
	for i, gn := range ng.grads {
		gv, ok := gn.Value().Data().([]float32)
		if !ok || len(gv) != len(c.grad[i]) {
			return 0, fmt.Errorf("policy: gradient of %s has unexpected type or size", c.names[i])
		}
		gvs[i] = gv
	}
	addGrads(c.grad, gvs)
	return ng.hook.loss, nil
}
