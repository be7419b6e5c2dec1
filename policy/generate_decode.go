package policy

import (
	"context"
	"sync"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// promptGroup is one distinct prompt of a chunk: its prefilled cache,
// shared by its samples, and its row of the prefill logits.
type promptGroup struct {
	cache *seqCache
	row   int
}

// decodeRun is the state of one generateChunk that the sampling phase
// reads: the active sequences and their logits.
type decodeRun struct {
	p       data.GenParams
	stop    map[int]bool
	context int
	vocab   int
	act     []*genSeq
	logits  []float32
	sps     []*sampler // per part
}

// sampleAll samples the next token of its share of the active sequences;
// each draws from its own stream, so the split does not matter.
func (dr *decodeRun) sampleAll(part, parts int) {
	sp, v := dr.sps[part], dr.vocab
	lo, hi := span(len(dr.act), part, parts)
	for k := lo; k < hi; k++ {
		s := dr.act[k]
		tok, lp := sp.sample(dr.logits[k*v:(k+1)*v], dr.p, s.rng)
		s.push(tok, lp, dr.p, dr.stop, dr.context)
	}
}

// generateChunk decodes one chunk of requests into out: prefill of each
// distinct prompt, the first tokens from its logits, then one decoder step
// over every unfinished sequence at a time, sampling in parallel.
func (m *Model) generateChunk(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams, out []data.GenResult) error {
	e := newEngine(m)
	c := m.cfg
	pl := newPool(len(reqs))
	defer pl.close()
	dc := newDecoder(e, pl)
	defer dc.release()
	dr := &decodeRun{p: p, stop: map[int]bool{int(tokenizer.EOS): true}, context: c.Context, vocab: c.Vocab}
	for _, t := range p.StopTokens {
		dr.stop[int(t)] = true
	}
	for range pl.parts {
		dr.sps = append(dr.sps, newSampler(c.Vocab))
	}
	arena := getArena(m.chunkCacheSize(e, reqs, p))
	defer arenaPool.Put(arena)
	seqs, groupOf, rows := m.prepareChunk(e, *arena, seed, reqs, p, out)
	dc.reserve(max(len(rows), len(reqs)))
	logits := dc.forward(rows)
	sp := dr.sps[0]
	for i, s := range seqs {
		g := groupOf[i]
		tok, lp := sp.sample(logits[g.row*c.Vocab:(g.row+1)*c.Vocab], p, s.rng)
		s.push(tok, lp, p, dr.stop, c.Context)
	}
	samplePh := dr.sampleAll
	drows := make([]decRow, 0, len(seqs))
	dr.act = make([]*genSeq, 0, len(seqs))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		drows, dr.act = drows[:0], dr.act[:0]
		for _, s := range seqs {
			if !s.done {
				dr.act = append(dr.act, s)
				pos := s.prompt + len(s.res.Tokens) - 1
				drows = append(drows, decRow{c: s.cache, pos: pos, tok: s.last, want: true})
			}
		}
		if len(dr.act) == 0 {
			return nil
		}
		dr.logits = dc.forward(drows)
		pl.run(samplePh, len(dr.act) < 8)
	}
}

// arenaPool recycles cache arenas between Generate calls: a fresh 30 MB
// arena per call costs more in page faults and zeroing than a decode step.
// Caches need no zeroing: a position is stored before it is read.
var arenaPool sync.Pool

// getArena returns a pooled arena of at least n floats.
func getArena(n int) *[]float32 {
	a, _ := arenaPool.Get().(*[]float32)
	if a == nil || cap(*a) < n {
		b := make([]float32, n)
		adviseHuge(b)
		return &b
	}
	*a = (*a)[:n]
	return a
}

// chunkCacheSize is the arena prepareChunk needs: a prefix per distinct
// prompt and a suffix per sample, keys and values of every layer.
func (m *Model) chunkCacheSize(e *engine, reqs []data.GenRequest, p data.GenParams) int {
	seen := map[string]bool{}
	size, per := 0, 2*e.d*len(e.layers)
	for _, r := range reqs {
		n := len(r.PromptTokens)
		size += (min(m.cfg.Context, n+p.MaxNewTokens) - n) * per
		if key := promptKey(r.PromptTokens); !seen[key] {
			seen[key] = true
			size += n * per
		}
	}
	return size
}

// prepareChunk makes the sequences of a chunk, their caches carved from
// arena (chunkCacheSize floats) and the prefill rows (each distinct prompt
// once, logits at its last token).
func (m *Model) prepareChunk(e *engine, arena []float32, seed uint64, reqs []data.GenRequest, p data.GenParams, out []data.GenResult) ([]*genSeq, []*promptGroup, []decRow) {
	c := m.cfg
	groups := map[string]*promptGroup{}
	groupOf := make([]*promptGroup, len(reqs))
	for i, r := range reqs {
		key := promptKey(r.PromptTokens)
		if groups[key] == nil {
			groups[key] = &promptGroup{row: len(groups)}
		}
		groupOf[i] = groups[key]
	}
	var rows []decRow
	seqs := make([]*genSeq, len(reqs))
	for i, r := range reqs {
		n, g := len(r.PromptTokens), groupOf[i]
		if g.cache == nil {
			g.cache = e.newSeqCache(&arena, 0, n, nil)
			for pos, t := range r.PromptTokens {
				rows = append(rows, decRow{c: g.cache, pos: pos, tok: int(t), want: pos == n-1})
			}
		}
		room := min(c.Context, n+p.MaxNewTokens) - n
		s := &genSeq{prompt: n, res: &out[i], rng: seqRNG(seed, r.PromptID, r.SampleIdx),
			cache: e.newSeqCache(&arena, n, room, g.cache)}
		s.res.Tokens, s.res.Logprobs = make([]int32, 0, room), make([]float32, 0, room)
		seqs[i] = s
	}
	return seqs, groupOf, rows
}
