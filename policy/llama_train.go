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
// and flattens it right-padded: the padded batch format, and so every
// position (a token's index in its sequence), is the byte model's.
func (m *LlamaModel) layout(b SeqBatch) (*batchLayout, error) {
	return newBatchLayout(b, m.cfg.MaxPositions, m.cfg.Vocab)
}

// buildGraph builds the decoder's graph for key over its weights.
func (m *LlamaModel) buildGraph(key graphKey) (*netGraph, error) {
	return buildLlamaNet(m.cfg, m.w, key)
}
