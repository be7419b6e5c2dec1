package policy

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/rlpipe/rlpipe/data"
)

// llamaLayerW holds one block's weights as views of the model's buffers
// (nil for tensors the architecture lacks).
type llamaLayerW struct {
	inNorm, wq, bq, wk, bk, wv, bv, qNorm, kNorm, wo, bo, postNorm, wg, wu, wd []float32
}

// llamaEngine runs the decoder outside gorgonia, row by row with a
// per-sequence KV cache (keys stored rotated), every projection one sgemm
// over all rows. One engine belongs to one Generate call.
type llamaEngine struct {
	cfg               LlamaConfig
	d, qw, kvw, f     int
	embed, head, norm []float32
	layers            []llamaLayerW
	cos, sin          []float64

	x, h, q, k, v, att, tmp, g, u, hf, logits []float32 // row scratch
}

func newLlamaEngine(m *LlamaModel, positions int) *llamaEngine {
	c := m.cfg
	e := &llamaEngine{cfg: c, d: c.HiddenSize, qw: c.Heads * c.HeadDim, kvw: c.KVHeads * c.HeadDim, f: c.IntermediateSize,
		embed: m.weight("model.embed_tokens.weight"), head: m.head(), norm: m.weight("model.norm.weight")}
	e.cos, e.sin = c.ropeAngles(positions)
	for l := 0; l < c.Layers; l++ {
		p := func(part string) []float32 { return m.weight(llamaLayer(l, part)) }
		e.layers = append(e.layers, llamaLayerW{
			inNorm: p("input_layernorm.weight"),
			wq:     p("self_attn.q_proj.weight"), bq: p("self_attn.q_proj.bias"),
			wk: p("self_attn.k_proj.weight"), bk: p("self_attn.k_proj.bias"),
			wv: p("self_attn.v_proj.weight"), bv: p("self_attn.v_proj.bias"),
			qNorm: p("self_attn.q_norm.weight"), kNorm: p("self_attn.k_norm.weight"),
			wo: p("self_attn.o_proj.weight"), bo: p("self_attn.o_proj.bias"),
			postNorm: p("post_attention_layernorm.weight"),
			wg:       p("mlp.gate_proj.weight"), wu: p("mlp.up_proj.weight"), wd: p("mlp.down_proj.weight"),
		})
	}
	return e
}

// newCache allocates one sequence's cache for maxLen positions: memory is
// linear in the sequence length.
func (e *llamaEngine) newCache(maxLen int) *kvCache {
	kv := &kvCache{}
	for range e.layers {
		kv.k = append(kv.k, make([]float32, maxLen*e.kvw))
		kv.v = append(kv.v, make([]float32, maxLen*e.kvw))
	}
	return kv
}

// forward pushes rows through the decoder, appending their keys and values
// to the caches, and returns the logits of the rows with want set (scratch,
// valid until the next call). Rows of one sequence are in position order.
func (e *llamaEngine) forward(rows []row) []float32 {
	r, d, c := len(rows), e.d, e.cfg
	e.x, e.h, e.tmp = grow(e.x, r*d), grow(e.h, r*d), grow(e.tmp, r*d)
	e.q, e.att = grow(e.q, r*e.qw), grow(e.att, r*e.qw)
	e.k, e.v = grow(e.k, r*e.kvw), grow(e.v, r*e.kvw)
	e.g, e.u = grow(e.g, r*e.f), grow(e.u, r*e.f)
	for i, rw := range rows {
		copy(e.x[i*d:(i+1)*d], e.embed[rw.tok*d:(rw.tok+1)*d])
	}
	for l := range e.layers {
		lw := &e.layers[l]
		rmsNormRows(e.h, e.x, lw.inNorm, c.RMSNormEps)
		linearTDecode(e.q, e.h, lw.wq, lw.bq, r, d, e.qw)
		linearTDecode(e.k, e.h, lw.wk, lw.bk, r, d, e.kvw)
		linearTDecode(e.v, e.h, lw.wv, lw.bv, r, d, e.kvw)
		if lw.qNorm != nil {
			rmsNormRows(e.q, e.q, lw.qNorm, c.RMSNormEps)
			rmsNormRows(e.k, e.k, lw.kNorm, c.RMSNormEps)
		}
		e.attend(rows, l)
		linearTDecode(e.tmp, e.att, lw.wo, lw.bo, r, e.qw, d)
		addInto(e.x, e.tmp)
		rmsNormRows(e.h, e.x, lw.postNorm, c.RMSNormEps)
		linearTDecode(e.g, e.h, lw.wg, nil, r, d, e.f)
		linearTDecode(e.u, e.h, lw.wu, nil, r, d, e.f)
		swiglu(e.g, e.g, e.u)
		linearTDecode(e.tmp, e.g, lw.wd, nil, r, e.f, d)
		addInto(e.x, e.tmp)
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
	rmsNormRows(e.hf, e.h[:nw*d], e.norm, c.RMSNormEps)
	e.logits = grow(e.logits, nw*c.Vocab)
	linearTDecode(e.logits, e.hf, e.head, nil, nw, d, c.Vocab)
	return e.logits
}

// linearTDecode is linearTRows (y = x·wᵀ + b for n rows) through mulWT,
// which gives the same bits without packing w on every decoding step.
func linearTDecode(y, x, w, b []float32, n, k, m int) {
	mulWT(y, x, w, n, k, m)
	if b != nil {
		for r := 0; r < n; r++ {
			yr := y[r*m : (r+1)*m]
			for j := range yr {
				yr[j] += b[j]
			}
		}
	}
}

// addInto adds src to dst (the residual stream).
func addInto(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// attend rotates every row's query and key, stores the key and value in
// the row's cache, then computes each row's causal attention over its
// cache into e.att, rows split over the CPUs.
func (e *llamaEngine) attend(rows []row, l int) {
	dh := e.cfg.HeadDim
	for i, rw := range rows {
		q := e.q[i*e.qw : (i+1)*e.qw]
		for h := 0; h < e.qw; h += dh {
			ropeHalf(q[h:h+dh], q[h:h+dh], e.cos, e.sin, rw.pos, false)
		}
		k, kc := e.k[i*e.kvw:(i+1)*e.kvw], rw.kv.k[l][rw.pos*e.kvw:(rw.pos+1)*e.kvw]
		for h := 0; h < e.kvw; h += dh {
			ropeHalf(kc[h:h+dh], k[h:h+dh], e.cos, e.sin, rw.pos, false)
		}
		copy(rw.kv.v[l][rw.pos*e.kvw:(rw.pos+1)*e.kvw], e.v[i*e.kvw:(i+1)*e.kvw])
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, len(rows)/16))
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(rows)/workers, (w+1)*len(rows)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.attendRows(rows[lo:hi], e.att[lo*e.qw:hi*e.qw], e.q[lo*e.qw:hi*e.qw], l)
		}()
	}
	wg.Wait()
}

// attendRows computes the attention of rows (queries q) into att.
func (e *llamaEngine) attendRows(rows []row, att, q []float32, l int) {
	c := e.cfg
	dh, rep := c.HeadDim, c.Heads/c.KVHeads
	impl := blas32.Implementation()
	scale := float32(1 / math.Sqrt(float64(dh)))
	longest := 0
	for _, rw := range rows {
		longest = max(longest, rw.pos+1)
	}
	// One buffer for the longest row: growing it row by row during a long
	// prefill would allocate quadratically in the prompt length.
	all := make([]float32, longest)
	for i, rw := range rows {
		n := rw.pos + 1
		scores := all[:n]
		for h := 0; h < c.Heads; h++ {
			kvo := (h / rep) * dh
			qh := q[i*e.qw+h*dh : i*e.qw+(h+1)*dh]
			impl.Sgemv(blas.NoTrans, n, dh, scale, rw.kv.k[l][kvo:], e.kvw, qh, 1, 0, scores, 1)
			softmaxInPlace(scores)
			impl.Sgemv(blas.Trans, n, dh, 1, rw.kv.v[l][kvo:], e.kvw, scores, 1, 0, att[i*e.qw+h*dh:i*e.qw+(h+1)*dh], 1)
		}
	}
}

// Generate samples one completion per request with Model.Generate's rules
// (batched prefill with shared prompts, KV-cache decoding, the same
// sampler and per-(seed, PromptID, SampleIdx) random streams, behaviour
// log-probs under the full tempered distribution, equal to LogProbs'),
// stopping at any of config.json's eos_token_id or p.StopTokens
// (FinishReason "stop") or after MaxNewTokens or at max_position_embeddings
// (FinishReason "length"). A prompt must have 1 to max_position_embeddings−1
// tokens. Safe for concurrent use while the weights do not change.
func (m *LlamaModel) Generate(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams) ([]data.GenResult, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.Resolved()
	c := m.cfg
	for i, r := range reqs {
		if len(r.PromptTokens) == 0 || len(r.PromptTokens) >= c.MaxPositions {
			return nil, fmt.Errorf("%w: request %d (prompt %d sample %d): prompt has %d tokens, want 1..%d (max_position_embeddings %d)",
				ErrInput, i, r.PromptID, r.SampleIdx, len(r.PromptTokens), c.MaxPositions-1, c.MaxPositions)
		}
		for j, t := range r.PromptTokens {
			if t < 0 || int(t) >= c.Vocab {
				return nil, fmt.Errorf("%w: request %d position %d: token %d outside [0, %d)", ErrInput, i, j, t, c.Vocab)
			}
		}
	}
	out := make([]data.GenResult, len(reqs))
	for lo := 0; lo < len(reqs); lo += maxGenBatch {
		hi := min(lo+maxGenBatch, len(reqs))
		if err := m.generateChunk(ctx, seed, reqs[lo:hi], p, out[lo:hi]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// generateChunk decodes one chunk of requests (Model.generateChunk's
// algorithm over the Llama engine).
func (m *LlamaModel) generateChunk(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams, out []data.GenResult) error {
	c := m.cfg
	stop := map[int]bool{}
	for _, t := range c.EOS {
		stop[t] = true
	}
	for _, t := range p.StopTokens {
		stop[int(t)] = true
	}
	longest := 0
	for _, r := range reqs {
		longest = max(longest, min(c.MaxPositions, len(r.PromptTokens)+p.MaxNewTokens))
	}
	e := newLlamaEngine(m, longest)
	seqs := make([]*genSeq, len(reqs))
	leaderOf := map[string]int{}
	var rows []row
	var leaders []int
	for i, r := range reqs {
		maxLen := min(c.MaxPositions, len(r.PromptTokens)+p.MaxNewTokens)
		s := &genSeq{prompt: len(r.PromptTokens), res: &out[i], kv: e.newCache(maxLen), rng: seqRNG(seed, r.PromptID, r.SampleIdx)}
		s.res.Tokens, s.res.Logprobs = []int32{}, []float32{}
		seqs[i] = s
		key := promptKey(r.PromptTokens)
		if _, ok := leaderOf[key]; ok {
			continue
		}
		leaderOf[key] = i
		leaders = append(leaders, i)
		for pos, t := range r.PromptTokens {
			rows = append(rows, row{kv: s.kv, pos: pos, tok: int(t), want: pos == len(r.PromptTokens)-1})
		}
	}
	logits := e.forward(rows)
	v := c.Vocab
	first := make(map[int][]float32, len(leaders))
	for k, i := range leaders {
		first[i] = slices.Clone(logits[k*v : (k+1)*v])
	}
	// Sampling (an exponential per vocabulary entry) runs on a pool, each
	// part with its own sampler; every sequence draws from its own stream.
	pl := newPool(len(reqs))
	defer pl.close()
	dr := &decodeRun{p: p, stop: stop, context: c.MaxPositions, vocab: v}
	for range pl.parts {
		dr.sps = append(dr.sps, newSampler(v))
	}
	samplePh := dr.sampleAll
	for i, s := range seqs {
		li := leaderOf[promptKey(reqs[i].PromptTokens)]
		if li != i {
			s.kv.copyFrom(seqs[li].kv, e.kvw)
		}
		tok, lp := dr.sps[0].sample(first[li], p, s.rng)
		s.push(tok, lp, p, stop, c.MaxPositions)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows, dr.act = rows[:0], dr.act[:0]
		for _, s := range seqs {
			if !s.done {
				dr.act = append(dr.act, s)
				rows = append(rows, row{kv: s.kv, pos: s.kv.n, tok: s.last, want: true})
			}
		}
		if len(dr.act) == 0 {
			return nil
		}
		dr.logits = e.forward(rows)
		pl.run(samplePh, len(dr.act) < 2)
	}
}
