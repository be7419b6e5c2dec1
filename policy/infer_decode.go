package policy

import (
	"math"
	"sync"
)

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
// engine, seqCache attention and the weights packed once for the matrix
// products. A batch is split into spans of rows, one per pool part, and
// each part pushes its span through the whole network, matrix products
// included (a row of a product does not depend on the others, see
// packedW): decoding needs no synchronisation between layers, and only a
// batch with several rows of one sequence (prefill) meets once per layer,
// since its rows read keys other parts store. Every row is computed by the
// same arithmetic whatever the split, so results do not depend on
// GOMAXPROCS.
type decoder struct {
	*engine
	pool   *pool
	w      *decWeights
	scale  float64     // 1/√dh, applied to the scores in the softmax
	rows   []decRow    // the current batch
	wantAt []int       // row → its logits row, or −1
	nw     int         // rows with logits
	layer  int         // the layer the next phase works on
	scores [][]float32 // per part

	stepPh, embedPh, storePh, layerPh, headPh func(part, parts int)
}

// decWeights are the decoder's packed weight matrices.
type decWeights struct {
	layers []decLayerW
	head   packedW
}

// decLayerW are one block's packed matrices.
type decLayerW struct {
	qkv, wo, w1, w2 packedW
}

// decWeightsPool recycles packed weights between Generate calls (3 MB for
// the default model).
var decWeightsPool sync.Pool

func newDecoder(e *engine, p *pool) *decoder {
	dc := &decoder{engine: e, pool: p, scale: 1 / math.Sqrt(float64(e.dh))}
	for range p.parts {
		dc.scores = append(dc.scores, make([]float32, e.cfg.Context))
	}
	dc.w, _ = decWeightsPool.Get().(*decWeights)
	if dc.w == nil {
		dc.w = new(decWeights)
	}
	if cap(dc.w.layers) < len(e.layers) {
		dc.w.layers = make([]decLayerW, len(e.layers))
	}
	dc.w.layers = dc.w.layers[:len(e.layers)]
	d, ff := e.d, e.cfg.DFF
	for l, lw := range e.layers {
		pw := &dc.w.layers[l]
		pw.qkv.pack(lw.wqkv, d, 3*d)
		pw.wo.pack(lw.wo, d, d)
		pw.w1.pack(lw.w1, d, ff)
		pw.w2.pack(lw.w2, ff, d)
	}
	dc.w.head.pack(e.head, d, e.cfg.Vocab)
	dc.stepPh, dc.embedPh, dc.storePh, dc.layerPh, dc.headPh = dc.step, dc.embed, dc.storeOnly, dc.layerRest, dc.headSpan
	return dc
}

// release returns the packed weights to their pool; dc is unusable after.
func (dc *decoder) release() {
	decWeightsPool.Put(dc.w)
	dc.w = nil
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
	r := len(rows)
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
	switch {
	case !multi:
		dc.pool.run(dc.stepPh, small)
	default:
		dc.pool.run(dc.embedPh, small)
		for l := range dc.layers {
			dc.layer = l
			dc.pool.run(dc.storePh, small)
			dc.pool.run(dc.layerPh, small)
		}
		dc.pool.run(dc.headPh, small)
	}
	return dc.logits[:dc.nw*dc.cfg.Vocab]
}

// step is a whole forward of its span of a batch without two rows of one
// sequence: each row's attention reads only its own keys and values.
func (dc *decoder) step(part, parts int) {
	lo, hi := span(len(dc.rows), part, parts)
	dc.embedRows(lo, hi)
	for l := range dc.layers {
		dc.qkvRows(lo, hi, l)
		dc.layerRows(lo, hi, l, part, false)
	}
	dc.headRows(lo, hi)
}

// layerRows finishes layer l for rows lo…hi from their projections in
// qkv (stored already if stored), products included.
func (dc *decoder) layerRows(lo, hi, l, part int, stored bool) {
	if lo == hi {
		return
	}
	d, ff, n, pw := dc.d, dc.cfg.DFF, hi-lo, &dc.w.layers[l]
	dc.attendRows(lo, hi, l, part, stored)
	pw.wo.mul(n, dc.att[lo*d:hi*d], dc.tmp[lo*d:hi*d])
	dc.residAttnRows(lo, hi, l)
	pw.w1.mul(n, dc.h[lo*d:hi*d], dc.f[lo*ff:hi*ff])
	dc.geluRows(lo, hi, l)
	pw.w2.mul(n, dc.f[lo*ff:hi*ff], dc.tmp[lo*d:hi*d])
	dc.residMLPRows(lo, hi, l)
}

// qkvRows projects rows lo…hi of h to queries, keys and values (qkv) for
// layer l.
func (dc *decoder) qkvRows(lo, hi, l int) {
	if lo == hi {
		return
	}
	d := dc.d
	dc.w.layers[l].qkv.mul(hi-lo, dc.h[lo*d:hi*d], dc.qkv[lo*3*d:hi*3*d])
}

// The phases: each runs one per-row step on its part's span of the batch
// (layer dc.layer). storeOnly projects before it stores.
func (dc *decoder) embed(part, parts int) { dc.embedRows(span(len(dc.rows), part, parts)) }

func (dc *decoder) storeOnly(part, parts int) {
	lo, hi := span(len(dc.rows), part, parts)
	dc.qkvRows(lo, hi, dc.layer)
	dc.storeRows(lo, hi, dc.layer)
}

func (dc *decoder) layerRest(part, parts int) {
	lo, hi := span(len(dc.rows), part, parts)
	dc.layerRows(lo, hi, dc.layer, part, true)
}

func (dc *decoder) headSpan(part, parts int) { dc.headRows(span(len(dc.rows), part, parts)) }
