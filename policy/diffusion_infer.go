package policy

import "math"

// canvasScratch is the per-worker scratch of canvasForward beyond the
// engine's row buffers: the attention scores (n×n) and rotated heads.
type canvasScratch struct {
	scores, qb, kb []float32
}

// canvasForward runs the bidirectional network over one whole canvas
// (tokens, n ≤ Context positions, no padding, no KV cache: LLaDA recomputes
// the canvas at every denoising step) and returns the logits (n−from, V)
// of positions from..n−1. Every projection is one sgemm over the n rows;
// attention is Q·Kᵀ, a row softmax and P·V per head. It computes the same
// function as the training graph (tested to float rounding). The returned
// slice is e's scratch, valid until the next call; e and sc belong to one
// goroutine.
func (e *engine) canvasForward(tokens []int, from int, sc *canvasScratch) []float32 {
	n, d, c := len(tokens), e.d, e.cfg
	e.x, e.h = grow(e.x, n*d), grow(e.h, n*d)
	e.qkv, e.att, e.tmp = grow(e.qkv, n*3*d), grow(e.att, n*d), grow(e.tmp, n*d)
	e.f = grow(e.f, n*c.DFF)
	for i, tok := range tokens {
		x := e.x[i*d : (i+1)*d]
		copy(x, e.wte[tok*d:(tok+1)*d])
		if e.wpe != nil {
			p := e.wpe[i*d:]
			for j := range x {
				x[j] += p[j]
			}
		}
	}
	for l := range e.layers {
		lw := &e.layers[l]
		layerNormRows(e.h, e.x, lw.ln1g, lw.ln1b, n, d)
		linear(e.qkv, e.h, lw.wqkv, lw.bqkv, n, d, 3*d, actNone)
		e.attendAll(n, sc)
		linearAdd(e.x, e.att, lw.wo, lw.bo, e.tmp, n, d, d)
		layerNormRows(e.h, e.x, lw.ln2g, lw.ln2b, n, d)
		linear(e.f, e.h, lw.w1, lw.b1, n, d, c.DFF, e.act)
		linearAdd(e.x, e.f, lw.w2, lw.b2, e.tmp, n, c.DFF, d)
	}
	nw := n - from
	e.hf = grow(e.hf, nw*d)
	layerNormRows(e.hf, e.x[from*d:n*d], e.lnfg, e.lnfb, nw, d)
	e.logits = grow(e.logits, nw*c.Vocab)
	gemm(false, false, nw, c.Vocab, d, 1, e.hf, d, e.head, c.Vocab, 0, e.logits, c.Vocab)
	return e.logits
}

// attendAll computes full (bidirectional) multi-head attention of the n
// rows of e.qkv into e.att.
func (e *engine) attendAll(n int, sc *canvasScratch) {
	d, dh, ld := e.d, e.dh, 3*e.d
	sc.scores = grow(sc.scores, n*n)
	scale := float32(1 / math.Sqrt(float64(dh)))
	for h := 0; h < d; h += dh {
		q, ldq := e.qkv[h:], ld
		k, ldk := e.qkv[d+h:], ld
		if e.cos != nil {
			sc.qb, sc.kb = grow(sc.qb, n*dh), grow(sc.kb, n*dh)
			for t := 0; t < n; t++ {
				ropeApply(sc.qb[t*dh:(t+1)*dh], e.qkv[t*ld+h:t*ld+h+dh], e.cos, e.sin, t, false)
				ropeApply(sc.kb[t*dh:(t+1)*dh], e.qkv[t*ld+d+h:t*ld+d+h+dh], e.cos, e.sin, t, false)
			}
			q, ldq, k, ldk = sc.qb, dh, sc.kb, dh
		}
		gemm(false, true, n, n, dh, scale, q, ldq, k, ldk, 0, sc.scores, n)
		for i := 0; i < n; i++ {
			softmaxInPlace(sc.scores[i*n : (i+1)*n])
		}
		gemm(false, false, n, dh, n, 1, sc.scores, n, e.qkv[2*d+h:], ld, 0, e.att[h:], d)
	}
}
