package policy

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// buildLlamaNet builds the decoder over weights w (float32 or float64, in
// the order of c.specs()) for a right-padded (key.B, key.T) batch; with
// key.train it adds the log-prob gather, the loss hook and the backward
// pass exactly as Model's graphs do.
func buildLlamaNet(c LlamaConfig, w []*tensor.Dense, key graphKey) (*netGraph, error) {
	dt := w[0].Dtype()
	n := key.B * key.T
	ng := &netGraph{key: key, g: G.NewGraph()}
	byName := map[string]*G.Node{}
	for i, s := range c.specs() {
		node := G.NodeFromAny(ng.g, w[i], G.WithName(s.name))
		ng.w = append(ng.w, node)
		byName[s.name] = node
	}
	ng.tokens = G.NewVector(ng.g, tensor.Int, G.WithShape(n), G.WithName("tokens"))
	ng.targets = G.NewVector(ng.g, tensor.Int, G.WithShape(n), G.WithName("targets"))
	ng.mask = G.NewVector(ng.g, dt, G.WithShape(n), G.WithName("mask"))
	b := &builder{}
	x := b.op(embedOp{T: key.T}, byName["model.embed_tokens.weight"], ng.tokens)
	rope := newRopeOp(c, key.T)
	attn := gqaAttentionOp{gqaGeom{T: key.T, H: c.Heads, KV: c.KVHeads, Dh: c.HeadDim}}
	norm := rmsNormOp{eps: c.RMSNormEps}
	for l := 0; l < c.Layers; l++ {
		p := func(part string) *G.Node { return byName[llamaLayer(l, part)] }
		lin := func(x *G.Node, proj string) *G.Node {
			if bias := p(proj + ".bias"); bias != nil {
				return b.op(linearTOp{bias: true}, x, p(proj+".weight"), bias)
			}
			return b.op(linearTOp{}, x, p(proj+".weight"))
		}
		h := b.op(norm, x, p("input_layernorm.weight"))
		q, k, v := lin(h, "self_attn.q_proj"), lin(h, "self_attn.k_proj"), lin(h, "self_attn.v_proj")
		if c.qkNorm() {
			q, k = b.op(norm, q, p("self_attn.q_norm.weight")), b.op(norm, k, p("self_attn.k_norm.weight"))
		}
		a := b.op(attn, b.op(rope, q), b.op(rope, k), v, ng.mask)
		x = b.add(x, lin(a, "self_attn.o_proj"))
		h = b.op(norm, x, p("post_attention_layernorm.weight"))
		f := b.op(swigluOp{}, lin(h, "mlp.gate_proj"), lin(h, "mlp.up_proj"))
		x = b.add(x, lin(f, "mlp.down_proj"))
	}
	h := b.op(norm, x, byName["model.norm.weight"])
	head := byName["lm_head.weight"]
	if c.TieWordEmbeddings {
		head = byName["model.embed_tokens.weight"]
	}
	ng.logits = b.op(linearTOp{}, h, head)
	if key.train {
		addTrainHead(ng, b)
	}
	if b.err != nil {
		return nil, fmt.Errorf("policy: building llama graph B=%d T=%d: %w", key.B, key.T, b.err)
	}
	ng.vm = G.NewTapeMachine(ng.g)
	return ng, nil
}

// addTrainHead adds Model's training tail to a graph with logits: the
// tempered log-prob gather (with entropies under key.entropy), the loss
// hook, the scalar Σ logp ⊙ dlogp and its gradients w.r.t. every weight.
func addTrainHead(ng *netGraph, b *builder) {
	ng.hook = &lossHook{}
	var gather kernelOp = logProbOp{invT: ng.key.invT}
	if ng.key.entropy {
		gather = logProbEntropyOp{invT: ng.key.invT}
	}
	ng.logp = b.op(gather, ng.logits, ng.targets)
	dl := b.op(hookOp{ng.hook}, ng.logp)
	if b.err != nil {
		return
	}
	var prod *G.Node
	if prod, b.err = G.HadamardProd(ng.logp, dl); b.err == nil {
		ng.cost, b.err = G.Sum(prod)
	}
	if b.err == nil {
		ng.grads, b.err = G.Grad(ng.cost, ng.w...)
	}
}

// layout validates b against the vocabulary and max_position_embeddings
// and flattens it right-padded, through Model's layout (which reads only
// its config's Context and Vocab): the padded batch format, and so every
// position (a token's index in its sequence), is the byte model's.
func (m *LlamaModel) layout(b SeqBatch) (*batchLayout, error) {
	shim := &Model{cfg: Config{Context: m.cfg.MaxPositions, Vocab: m.cfg.Vocab}}
	return shim.layout(b)
}

// graphFor returns the cached graph for key, building it on first use;
// callers hold m.mu. The cache is bounded like Model's (LRU of
// maxCachedGraphs).
func (m *LlamaModel) graphFor(key graphKey) (*netGraph, error) {
	m.useTick++
	if ng, ok := m.graphs[key]; ok {
		ng.lastUse = m.useTick
		return ng, nil
	}
	if len(m.graphs) >= maxCachedGraphs {
		var oldest graphKey
		first := true
		for k, g := range m.graphs {
			if first || g.lastUse < m.graphs[oldest].lastUse {
				oldest, first = k, false
			}
		}
		if vm := m.graphs[oldest].vm; vm != nil {
			vm.Close()
		}
		delete(m.graphs, oldest)
	}
	ng, err := buildLlamaNet(m.cfg, m.w, key)
	if err != nil {
		return nil, err
	}
	ng.lastUse = m.useTick
	m.graphs[key] = ng
	return ng, nil
}

// LogProbs returns every completion token's log_softmax(logits/T)[token]
// and its position's entropy, forward only, with Model.LogProbs'
// semantics (same rowLogProb/rowEntropy, bit-identical to what Accumulate
// hands its objective). Serialises with Accumulate.
func (m *LlamaModel) LogProbs(b SeqBatch, temperature float64) (logp, entropy [][]float32, err error) {
	if err := checkTemperature(temperature); err != nil {
		return nil, nil, err
	}
	lay, err := m.layout(b)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ng, err := m.graphFor(graphKey{B: lay.B, T: lay.T})
	if err != nil {
		return nil, nil, err
	}
	if err := ng.run(lay.tokens, lay.targets, lay.mask); err != nil {
		return nil, nil, fmt.Errorf("policy: llama forward pass: %w", err)
	}
	logits := ng.logits.Value().Data().([]float32)
	v, invT := m.cfg.Vocab, 1/temperature
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

// Accumulate adds the gradient of lossGrad's loss of the completion
// log-probs into the gradient buffers and returns the loss (Model's
// semantics: call ZeroGrad between optimizer steps).
func (m *LlamaModel) Accumulate(b SeqBatch, temperature float64, lossGrad LossGradFunc) (float64, error) {
	return m.accumulate(b, temperature, false, func(lay *batchLayout, flat []float64) (float64, []float64, error) {
		return lay.callObjective(flat, lossGrad)
	})
}

// AccumulateWithEntropy is Accumulate for objectives that also depend on
// the per-position entropies (Model.AccumulateWithEntropy's semantics).
func (m *LlamaModel) AccumulateWithEntropy(b SeqBatch, temperature float64, lossGrad EntropyLossGradFunc) (float64, error) {
	return m.accumulate(b, temperature, true, func(lay *batchLayout, flat []float64) (float64, []float64, error) {
		return lay.callEntropyObjective(flat, lossGrad)
	})
}

// accumulate runs the training graph with hook and adds the weight
// gradients into m.grad.
func (m *LlamaModel) accumulate(b SeqBatch, temperature float64, entropy bool,
	hook func(lay *batchLayout, flat []float64) (float64, []float64, error)) (float64, error) {
	if err := checkTemperature(temperature); err != nil {
		return 0, err
	}
	lay, err := m.layout(b)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ng, err := m.graphFor(graphKey{B: lay.B, T: lay.T, invT: 1 / temperature, train: true, entropy: entropy})
	if err != nil {
		return 0, err
	}
	ng.hook.fn = func(flat []float64) (float64, []float64, error) { return hook(lay, flat) }
	defer func() { ng.hook.fn = nil }()
	if err := ng.run(lay.tokens, lay.targets, lay.mask); err != nil {
		return 0, fmt.Errorf("policy: llama forward/backward pass: %w", err)
	}
	for i, gn := range ng.grads {
		gv, ok := gn.Value().Data().([]float32)
		if !ok || len(gv) != len(m.grad[i]) {
			return 0, fmt.Errorf("policy: gradient of %s has unexpected type or size", m.names[i])
		}
		dst := m.grad[i]
		for j, v := range gv {
			dst[j] += v
		}
	}
	return ng.hook.loss, nil
}
