package policy

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// layerW holds one block's weights as views of the model's buffers.
type layerW struct {
	ln1g, ln1b, wqkv, bqkv, wo, bo, ln2g, ln2b, w1, b1, w2, b2 []float32
}

// engine runs the network outside gorgonia over the model's float32
// buffers (no copies), row by row with a per-sequence KV cache. One engine
// belongs to one Generate call; its scratch is not shared.
type engine struct {
	cfg      Config
	d, dh    int
	act      int
	wte, wpe []float32
	layers   []layerW
	lnfg     []float32
	lnfb     []float32
	head     []float32
	cos, sin []float64

	x, h, qkv, att, f, hf, tmp, logits []float32 // row scratch, grown on demand
	scores                             []float32
}

// kvCache is one sequence's keys and values: per layer (maxLen, D), keys
// already rotated under rotary positions.
type kvCache struct {
	k, v [][]float32
	n    int // positions filled
}

func newEngine(m *Model) *engine {
	c := m.cfg
	e := &engine{cfg: c, d: c.DModel, dh: c.headDim(), act: actCode(c.Activation),
		wte: m.weight("wte"), lnfg: m.weight("lnf.g"), lnfb: m.weight("lnf.b"), head: m.weight("head.w"),
		scores: make([]float32, c.Context)}
	if c.Positions == "learned" {
		e.wpe = m.weight("wpe")
	} else {
		e.cos, e.sin = ropeTable(c.Context, e.dh)
	}
	for l := 0; l < c.Layers; l++ {
		p := func(part string) []float32 { return m.weight(layerName(l, part)) }
		e.layers = append(e.layers, layerW{p("ln1.g"), p("ln1.b"), p("attn.wqkv"), p("attn.bqkv"),
			p("attn.wo"), p("attn.bo"), p("ln2.g"), p("ln2.b"), p("mlp.w1"), p("mlp.b1"), p("mlp.w2"), p("mlp.b2")})
	}
	return e
}

func (e *engine) newCache(maxLen int) *kvCache {
	kv := &kvCache{}
	for range e.layers {
		kv.k = append(kv.k, make([]float32, maxLen*e.d))
		kv.v = append(kv.v, make([]float32, maxLen*e.d))
	}
	return kv
}

// copyFrom makes kv hold src's first n positions.
func (kv *kvCache) copyFrom(src *kvCache, d int) {
	for l := range kv.k {
		copy(kv.k[l][:src.n*d], src.k[l][:src.n*d])
		copy(kv.v[l][:src.n*d], src.v[l][:src.n*d])
	}
	kv.n = src.n
}

// row is one token to push through the network: token tok at position pos
// of the sequence whose cache is kv. Rows of one sequence must be in
// position order and contiguous in the cache (pos == kv.n at push time).
type row struct {
	kv   *kvCache
	pos  int
	tok  int
	want bool // compute logits for this row
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// forward pushes rows through the network, appending their keys and values
// to the caches, and returns the logits (one V-row per row with want set,
// in order). The returned slice is scratch, valid until the next call.
// Per-token work is matrix-matrix: every projection is one sgemm over all
// rows.
func (e *engine) forward(rows []row) []float32 {
	r, d, c := len(rows), e.d, e.cfg
	e.x, e.h = grow(e.x, r*d), grow(e.h, r*d)
	e.qkv, e.att, e.tmp = grow(e.qkv, r*3*d), grow(e.att, r*d), grow(e.tmp, r*d)
	e.f = grow(e.f, r*c.DFF)
	for i, rw := range rows {
		x := e.x[i*d : (i+1)*d]
		copy(x, e.wte[rw.tok*d:(rw.tok+1)*d])
		if e.wpe != nil {
			p := e.wpe[rw.pos*d:]
			for j := range x {
				x[j] += p[j]
			}
		}
	}
	for l := range e.layers {
		lw := &e.layers[l]
		layerNormRows(e.h, e.x, lw.ln1g, lw.ln1b, r, d)
		linear(e.qkv, e.h, lw.wqkv, lw.bqkv, r, d, 3*d, actNone)
		e.attend(rows, l)
		linearAdd(e.x, e.att, lw.wo, lw.bo, e.tmp, r, d, d)
		layerNormRows(e.h, e.x, lw.ln2g, lw.ln2b, r, d)
		linear(e.f, e.h, lw.w1, lw.b1, r, d, c.DFF, e.act)
		linearAdd(e.x, e.f, lw.w2, lw.b2, e.tmp, r, c.DFF, d)
	}
	for _, rw := range rows {
		rw.kv.n = max(rw.kv.n, rw.pos+1)
	}
	nw := 0
	for i, rw := range rows {
		if rw.want {
			copy(e.h[nw*d:(nw+1)*d], e.x[i*d:(i+1)*d])
			nw++
		}
	}
	e.hf = grow(e.hf, nw*d)
	layerNormRows(e.hf, e.h[:nw*d], e.lnfg, e.lnfb, nw, d)
	e.logits = grow(e.logits, nw*c.Vocab)
	gemm(false, false, nw, c.Vocab, d, 1, e.hf, d, e.head, c.Vocab, 0, e.logits, c.Vocab)
	return e.logits
}

// linear writes y (r×n) = act(x (r×k) · w (k×n) + b).
func linear(y, x, w, b []float32, r, k, n, act int) {
	gemm(false, false, r, n, k, 1, x, k, w, n, 0, y, n)
	biasActRows(y, y, b, r, n, act)
}

// linearAdd adds x·w + b to y (the residual stream). The bias is added to
// the product before the residual, as the training graph does, so both
// paths round alike.
func linearAdd(y, x, w, b, tmp []float32, r, k, n int) {
	gemm(false, false, r, n, k, 1, x, k, w, n, 0, tmp, n)
	for i := 0; i < r; i++ {
		yr, tr := y[i*n:(i+1)*n], tmp[i*n:(i+1)*n]
		for j := range yr {
			yr[j] += tr[j] + b[j]
		}
	}
}

// attend stores every row's key and value in its cache, then computes the
// causal attention of every row's query over its cache into e.att.
func (e *engine) attend(rows []row, l int) {
	d, dh := e.d, e.dh
	for i, rw := range rows {
		q := e.qkv[i*3*d : i*3*d+d]
		k, v := e.qkv[i*3*d+d:i*3*d+2*d], e.qkv[i*3*d+2*d:i*3*d+3*d]
		kc, vc := rw.kv.k[l][rw.pos*d:(rw.pos+1)*d], rw.kv.v[l][rw.pos*d:(rw.pos+1)*d]
		copy(vc, v)
		if e.cos == nil {
			copy(kc, k)
			continue
		}
		for h := 0; h < d; h += dh {
			ropeApply(kc[h:h+dh], k[h:h+dh], e.cos, e.sin, rw.pos, false)
			ropeApply(q[h:h+dh], q[h:h+dh], e.cos, e.sin, rw.pos, false)
		}
	}
	// Rows are independent here; split them over the CPUs (each worker has
	// its own score buffer, so results do not depend on the split).
	workers := min(runtime.GOMAXPROCS(0), max(1, len(rows)/16))
	if workers == 1 {
		e.attendRows(rows, l, 0, len(rows), e.scores)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(rows)/workers, (w+1)*len(rows)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.attendRows(rows, l, lo, hi, make([]float32, e.cfg.Context))
		}()
	}
	wg.Wait()
}

// attendRows computes attention for rows[lo:hi] of layer l.
func (e *engine) attendRows(rows []row, l, lo, hi int, scores []float32) {
	d, dh := e.d, e.dh
	impl := blas32.Implementation()
	scale := float32(1 / math.Sqrt(float64(dh)))
	for i := lo; i < hi; i++ {
		rw := rows[i]
		n := rw.pos + 1
		s := scores[:n]
		for h := 0; h < d; h += dh {
			q := e.qkv[i*3*d+h : i*3*d+h+dh]
			impl.Sgemv(blas.NoTrans, n, dh, scale, rw.kv.k[l][h:], d, q, 1, 0, s, 1)
			softmaxInPlace(s)
			impl.Sgemv(blas.Trans, n, dh, 1, rw.kv.v[l][h:], d, s, 1, 0, e.att[i*d+h:i*d+h+dh], 1)
		}
	}
}

// softmaxInPlace replaces s by softmax(s), accumulating in float64.
func softmaxInPlace(s []float32) {
	mx := math.Inf(-1)
	for _, v := range s {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for i, v := range s {
		e := math.Exp(float64(v) - mx)
		s[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i := range s {
		s[i] = float32(float64(s[i]) * inv)
	}
}
