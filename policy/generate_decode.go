package policy

import (
	"context"

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

func (m *Model) generateChunk(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams, out []data.GenResult) error {
	e := newEngine(m)
	c := m.cfg
	pl := newPool(len(reqs))
	defer pl.close()
	dc := newDecoder(e, pl)
	dr := &decodeRun{p: p, stop: map[int]bool{int(tokenizer.EOS): true}, context: c.Context, vocab: c.Vocab}
	for _, t := range p.StopTokens {
		dr.stop[int(t)] = true
	}
	for range pl.parts {
		dr.sps = append(dr.sps, newSampler(c.Vocab))
	}
	seqs, groupOf, rows := m.prepareChunk(e, seed, reqs, p, out)
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

// prepareChunk makes the sequences of a chunk, their caches (one arena:
// a prefilled prefix per distinct prompt, a suffix per sample) and the
// prefill rows (each distinct prompt once, logits at its last token).
func (m *Model) prepareChunk(e *engine, seed uint64, reqs []data.GenRequest, p data.GenParams, out []data.GenResult) ([]*genSeq, []*promptGroup, []decRow) {
	c := m.cfg
	groups := map[string]*promptGroup{}
	groupOf := make([]*promptGroup, len(reqs))
	size := 0
	for i, r := range reqs {
		n := len(r.PromptTokens)
		size += (min(c.Context, n+p.MaxNewTokens) - n) * 2 * e.d * len(e.layers)
		key := promptKey(r.PromptTokens)
		if groups[key] == nil {
			groups[key] = &promptGroup{row: len(groups)}
			size += n * 2 * e.d * len(e.layers)
		}
		groupOf[i] = groups[key]
	}
	arena := make([]float32, size)
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
