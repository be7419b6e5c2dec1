package policy

import "math"

// seqCache holds keys and values of positions [base, base+cap) of one
// sequence, per layer: keys transposed (d×cap, channel-major) so that a
// head's scores over the cache are one sgemm.GemvT, values by position
// (cap×d) so that its output is another. The positions before base live in
// prefix, shared by every sample of one prompt: the prompt is prefilled
// once and never copied, and its keys stay hot in cache while the prompt's
// samples attend to them one after another.
type seqCache struct {
	kt, v  [][]float32
	base   int
	cap    int
	prefix *seqCache
}

// newSeqCache carves a cache for cap positions from *arena (advancing it).
func (e *engine) newSeqCache(arena *[]float32, base, cap int, prefix *seqCache) *seqCache {
	c := &seqCache{base: base, cap: cap, prefix: prefix}
	take := func() []float32 {
		s := (*arena)[: cap*e.d : cap*e.d]
		*arena = (*arena)[cap*e.d:]
		return s
	}
	for range e.layers {
		c.kt = append(c.kt, take())
		c.v = append(c.v, take())
	}
	return c
}

// decRow is one token to push through the decoder: token tok at absolute
// position pos of the sequence whose own cache is c (base ≤ pos).
type decRow struct {
	c        *seqCache
	pos, tok int
	want     bool // compute logits for this row
}

// decoder is the engine's causal forward for Generate: the row scratch of
// engine, seqCache attention, and the per-row phases (attention, residual
// and layer norms, GELU, sampling) split over a pool, between the matrix
// products, which sgemm spreads over the CPUs itself. Every row is computed
// by the same arithmetic whatever the split, so results do not depend on
// GOMAXPROCS.
type decoder struct {
	*engine
	pool   *pool
	scale  float64     // 1/√dh, applied to the scores in the softmax
	rows   []decRow    // the current batch
	wantAt []int       // row → its logits row, or −1
	nw     int         // rows with logits
	layer  int         // the layer the next phase works on
	scores [][]float32 // per part
	stored bool        // keys and values of the batch are already stored

	embedPh, attnPh, storePh, residAttnPh, geluPh, residMLPPh func(part, parts int)
}

func newDecoder(e *engine, p *pool) *decoder {
	dc := &decoder{engine: e, pool: p, scale: 1 / math.Sqrt(float64(e.dh))}
	for range p.parts {
		dc.scores = append(dc.scores, make([]float32, e.cfg.Context))
	}
	dc.embedPh, dc.attnPh, dc.storePh, dc.geluPh = dc.embed, dc.attend, dc.storeOnly, dc.gelu
	dc.residAttnPh, dc.residMLPPh = dc.residAttn, dc.residMLP
	return dc
}

// reserve sizes the row scratch for batches of up to r rows, so that
// forward never allocates.
func (dc *decoder) reserve(r int) {
	d, c := dc.d, dc.cfg
	dc.x, dc.h, dc.att, dc.tmp, dc.hf = grow(dc.x, r*d), grow(dc.h, r*d), grow(dc.att, r*d), grow(dc.tmp, r*d), grow(dc.hf, r*d)
	dc.qkv, dc.f, dc.logits = grow(dc.qkv, r*3*d), grow(dc.f, r*c.DFF), grow(dc.logits, r*c.Vocab)
	if cap(dc.wantAt) < r {
		dc.wantAt = make([]int, r)
	}
}

// forward pushes rows through the network, storing their keys and values
// in their caches, and returns the logits of the rows with want set (one
// V-row each, in order), valid until the next call.
func (dc *decoder) forward(rows []decRow) []float32 {
	r, d, c := len(rows), dc.d, dc.cfg
	dc.rows, dc.wantAt, dc.nw = rows, dc.wantAt[:r], 0
	multi := false // some sequence has several rows
	for i, rw := range rows {
		dc.wantAt[i] = -1
		if rw.want {
			dc.wantAt[i], dc.nw = dc.nw, dc.nw+1
		}
		multi = multi || i > 0 && rows[i-1].c == rw.c
	}
	// Small batches run on the caller: the hand-off would cost more.
	small := r < 8
	dc.pool.run(dc.embedPh, small)
	for l := range dc.layers {
		lw := &dc.layers[l]
		dc.layer = l
		gemm(false, false, r, 3*d, d, 1, dc.h, d, lw.wqkv, 3*d, 0, dc.qkv, 3*d)
		dc.stored = multi
		if multi {
			dc.pool.run(dc.storePh, small)
		}
		dc.pool.run(dc.attnPh, small)
		gemm(false, false, r, d, d, 1, dc.att, d, lw.wo, d, 0, dc.tmp, d)
		dc.pool.run(dc.residAttnPh, small)
		gemm(false, false, r, c.DFF, d, 1, dc.h, d, lw.w1, c.DFF, 0, dc.f, c.DFF)
		dc.pool.run(dc.geluPh, small)
		gemm(false, false, r, d, c.DFF, 1, dc.f, c.DFF, lw.w2, d, 0, dc.tmp, d)
		dc.pool.run(dc.residMLPPh, small)
	}
	logits := dc.logits[:dc.nw*c.Vocab]
	gemm(false, false, dc.nw, c.Vocab, d, 1, dc.hf, d, dc.head, c.Vocab, 0, logits, c.Vocab)
	return logits
}

// embed writes the token (and learned position) embeddings of its rows
// into x and their first layer norm into h.
func (dc *decoder) embed(part, parts int) {
	d := dc.d
	lo, hi := span(len(dc.rows), part, parts)
	for i := lo; i < hi; i++ {
		rw := dc.rows[i]
		x := dc.x[i*d : (i+1)*d]
		copy(x, dc.wte[rw.tok*d:(rw.tok+1)*d])
		if dc.wpe != nil {
			for j, p := range dc.wpe[rw.pos*d : (rw.pos+1)*d] {
				x[j] += p
			}
		}
	}
	lw := &dc.layers[0]
	layerNormRowsFast(dc.h[lo*d:hi*d], dc.x[lo*d:hi*d], lw.ln1g, lw.ln1b, hi-lo, d)
}

// residAttn adds the attention projection (tmp) and its bias to the
// residual stream and writes the second layer norm into h.
func (dc *decoder) residAttn(part, parts int) {
	d, lw := dc.d, &dc.layers[dc.layer]
	lo, hi := span(len(dc.rows), part, parts)
	addBiasResidual(dc.x[lo*d:hi*d], dc.tmp[lo*d:hi*d], lw.bo, hi-lo, d)
	layerNormRowsFast(dc.h[lo*d:hi*d], dc.x[lo*d:hi*d], lw.ln2g, lw.ln2b, hi-lo, d)
}

// residMLP adds the MLP output (tmp) and its bias to the residual stream,
// then writes the next layer's first layer norm into h or, after the last
// layer, the final layer norm of the rows that want logits into hf.
func (dc *decoder) residMLP(part, parts int) {
	d, l := dc.d, dc.layer
	lw := &dc.layers[l]
	lo, hi := span(len(dc.rows), part, parts)
	addBiasResidual(dc.x[lo*d:hi*d], dc.tmp[lo*d:hi*d], lw.b2, hi-lo, d)
	if l+1 < len(dc.layers) {
		nx := &dc.layers[l+1]
		layerNormRowsFast(dc.h[lo*d:hi*d], dc.x[lo*d:hi*d], nx.ln1g, nx.ln1b, hi-lo, d)
		return
	}
	for i := lo; i < hi; i++ {
		if k := dc.wantAt[i]; k >= 0 {
			layerNormRowsFast(dc.hf[k*d:(k+1)*d], dc.x[i*d:(i+1)*d], dc.lnfg, dc.lnfb, 1, d)
		}
	}
}

// addBiasResidual adds t + b to y row-wise (rows×d), the bias added to the
// product first as linearAdd and the training graph do.
func addBiasResidual(y, t, b []float32, rows, d int) {
	b = b[:d]
	for r := 0; r < rows; r++ {
		yr, tr := y[r*d:(r+1)*d], t[r*d:(r+1)*d]
		for j := range b { // b's length bounds all three: no index checks
			yr[j] += tr[j] + b[j]
		}
	}
}

// gelu applies the MLP bias and activation to its rows of f.
func (dc *decoder) gelu(part, parts int) {
	n, lw := dc.cfg.DFF, &dc.layers[dc.layer]
	lo, hi := span(len(dc.rows), part, parts)
	biasActRowsFast(dc.f[lo*n:hi*n], dc.f[lo*n:hi*n], lw.b1, hi-lo, n, dc.act)
}
