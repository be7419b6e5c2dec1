package policy

import "math"

// layerW holds one block's weights as views of the model's buffers.
type layerW struct {
	ln1g, ln1b, wqkv, bqkv, wo, bo, ln2g, ln2b, w1, b1, w2, b2 []float32
}

// engine runs the network outside gorgonia over the model's float32
// buffers (no copies): the causal decoder (infer_decode.go) and the
// diffusion canvas (diffusion_infer.go) build on its weights and row
// scratch. One engine belongs to one Generate call; its scratch is not
// shared.
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
}

// kvCache is one sequence's keys and values for the Llama decoder: per
// layer (maxLen, D), keys already rotated under rotary positions. (The
// default model's decoder uses seqCache.)
type kvCache struct {
	k, v [][]float32
	n    int // positions filled
}

func newEngine(m *Model) *engine {
	c := m.cfg
	e := &engine{cfg: c, d: c.DModel, dh: c.headDim(), act: actCode(c.Activation),
		wte: m.weight("wte"), lnfg: m.weight("lnf.g"), lnfb: m.weight("lnf.b"), head: m.weight("head.w")}
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

// copyFrom makes kv hold src's first n positions.
func (kv *kvCache) copyFrom(src *kvCache, d int) {
	for l := range kv.k {
		copy(kv.k[l][:src.n*d], src.k[l][:src.n*d])
		copy(kv.v[l][:src.n*d], src.v[l][:src.n*d])
	}
	kv.n = src.n
}

// row is one token to push through the Llama decoder: token tok at
// position pos of the sequence whose cache is kv. Rows of one sequence must be in
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
