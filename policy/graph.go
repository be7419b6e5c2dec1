package policy

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// graphKey identifies a compiled graph: padded batch shape, temperature,
// whether it back-propagates and, if so, whether its objective also sees
// the per-position entropies (AccumulateWithEntropy).
type graphKey struct {
	B, T    int
	invT    float64
	train   bool
	entropy bool
}

// netGraph is one compiled forward (and optionally backward) graph over a
// padded (B, T) batch, bound to a set of weight tensors.
type netGraph struct {
	key     graphKey
	g       *G.ExprGraph
	w       []*G.Node // weight nodes, aligned with the model's tensors
	tokens  *G.Node   // int (B·T): input ids, pad 0
	targets *G.Node   // int (B·T): next-token id to score, −1 = not scored
	mask    *G.Node   // (B·T): 1 real token, 0 padding
	logits  *G.Node   // (B·T, V)
	logp    *G.Node   // (B·T), or (2·B·T) log-probs then entropies with key.entropy; train graphs only
	cost    *G.Node   // Σ logp ⊙ dlogp, train graphs only
	grads   G.Nodes   // d cost / d w, train graphs only
	hook    *lossHook
	vm      G.VM
	lastUse uint64 // Model.useTick at the last use, for the LRU cache
	bytes   int64  // bytes of the node values after the first run (0 before it)
}

// buildNet builds the network over weights w (float32 or float64, in the
// order of cfg.specs()). With train set it adds the log-prob gather (and
// entropies with key.entropy), the loss hook and the backward pass.
func buildNet(cfg Config, w []*tensor.Dense, key graphKey) (*netGraph, error) {
	specs := cfg.specs()
	dt := w[0].Dtype()
	n := key.B * key.T
	ng := &netGraph{key: key, g: G.NewGraph()}
	g := ng.g
	byName := map[string]*G.Node{}
	for i, s := range specs {
		node := G.NodeFromAny(g, w[i], G.WithName(s.name))
		ng.w = append(ng.w, node)
		byName[s.name] = node
	}
	ng.tokens = G.NewVector(g, tensor.Int, G.WithShape(n), G.WithName("tokens"))
	ng.targets = G.NewVector(g, tensor.Int, G.WithShape(n), G.WithName("targets"))
	ng.mask = G.NewVector(g, dt, G.WithShape(n), G.WithName("mask"))
	b := &builder{}
	var x *G.Node
	if cfg.Positions == "learned" {
		x = b.op(embedOp{T: key.T, pos: true}, byName["wte"], byName["wpe"], ng.tokens)
	} else {
		x = b.op(embedOp{T: key.T}, byName["wte"], ng.tokens)
	}
	attn := newAttentionOp(key.T, cfg.Heads, cfg.headDim(), cfg.Causal, cfg.Positions == "rotary")
	act := actCode(cfg.Activation)
	for l := 0; l < cfg.Layers; l++ {
		p := func(part string) *G.Node { return byName[layerName(l, part)] }
		h := b.op(ng.layerNorm(), x, p("ln1.g"), p("ln1.b"))
		qkv := b.op(linearOp{}, h, p("attn.wqkv"), p("attn.bqkv"))
		la := attn
		if key.train {
			la = attn.keepProbs() // one stash per layer
		}
		a := b.op(la, qkv, ng.mask)
		x = b.op(addOp{}, x, b.op(linearOp{}, a, p("attn.wo"), p("attn.bo")))
		h = b.op(ng.layerNorm(), x, p("ln2.g"), p("ln2.b"))
		mlpAct := biasActOp{act: act}
		if key.train {
			mlpAct.stash = new(geluStash) // one per layer
		}
		f := b.op(mlpAct, b.op(mulOp{}, h, p("mlp.w1")), p("mlp.b1"))
		x = b.op(addOp{}, x, b.op(linearOp{}, f, p("mlp.w2"), p("mlp.b2")))
	}
	h := b.op(ng.layerNorm(), x, byName["lnf.g"], byName["lnf.b"])
	ng.logits = b.op(mulOp{}, h, byName["head.w"])
	if key.train {
		ng.hook = &lossHook{}
		// Only entropy objectives pay for the entropy pass: the plain graph
		// is the one every run without an entropy bonus has always used.
		var gather kernelOp = logProbOp{invT: key.invT, stash: new(lseStash)}
		if key.entropy {
			gather = logProbEntropyOp{invT: key.invT}
		}
		ng.logp = b.op(gather, ng.logits, ng.targets)
		dl := b.op(hookOp{ng.hook}, ng.logp)
		if b.err == nil {
			var prod *G.Node
			if prod, b.err = G.HadamardProd(ng.logp, dl); b.err == nil {
				ng.cost, b.err = G.Sum(prod)
			}
		}
		if b.err == nil {
			ng.grads, b.err = G.Grad(ng.cost, ng.w...)
		}
	}
	if b.err != nil {
		return nil, fmt.Errorf("policy: building graph B=%d T=%d: %w", key.B, key.T, b.err)
	}
	ng.vm = G.NewTapeMachine(g)
	return ng, nil
}

// layerNorm returns a layer-norm op: with its own statistics stash in
// training graphs (see lnStash), plain otherwise.
func (ng *netGraph) layerNorm() layerNormOp {
	if !ng.key.train {
		return layerNormOp{}
	}
	return layerNormOp{stash: new(lnStash)}
}

// builder chains graph construction, keeping the first error.
type builder struct{ err error }

func (b *builder) op(k kernelOp, in ...*G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	var n *G.Node
	n, b.err = apply(k, in...)
	return n
}

func (b *builder) add(x, y *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	var n *G.Node
	n, b.err = G.Add(x, y)
	return n
}

// run binds the inputs and executes the tape once.
func (ng *netGraph) run(tokens, targets []int, mask any) error {
	n := ng.key.B * ng.key.T
	if err := G.Let(ng.tokens, tensor.New(tensor.WithShape(n), tensor.WithBacking(tokens))); err != nil {
		return err
	}
	if err := G.Let(ng.targets, tensor.New(tensor.WithShape(n), tensor.WithBacking(targets))); err != nil {
		return err
	}
	if err := G.Let(ng.mask, tensor.New(tensor.WithShape(n), tensor.WithBacking(mask))); err != nil {
		return err
	}
	ng.vm.Reset()
	if err := ng.vm.RunAll(); err != nil {
		return err
	}
	if ng.bytes == 0 {
		ng.bytes = ng.valueBytes()
	}
	return nil
}

// valueBytes is the memory the graph's own tensors hold after a run:
// activations, their gradients and the ops' reused outputs. The weight
// nodes are left out: their values are the model's tensors, shared by
// every graph. Views that share a backing array are counted once per
// node, so this is an upper bound.
func (ng *netGraph) valueBytes() int64 {
	weights := make(map[*G.Node]bool, len(ng.w))
	for _, w := range ng.w {
		weights[w] = true
	}
	var n int64
	for _, node := range ng.g.AllNodes() {
		if weights[node] {
			continue
		}
		if t, ok := node.Value().(tensor.Tensor); ok {
			n += int64(t.MemSize())
		}
	}
	return n
}
