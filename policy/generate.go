package policy

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng"
)

// maxGenBatch bounds the sequences decoded together (and so the KV-cache
// memory of one step); larger requests are processed in chunks, which does
// not change any result.
const maxGenBatch = 256

// Generate samples one completion per request, all requests decoded as one
// batch (every projection is a matrix-matrix product over the active
// sequences, the per-row work is spread over GOMAXPROCS goroutines;
// identical prompts are prefilled once and their keys and values shared,
// not copied, by their samples).
//
// Sampling: logits are divided by p.Temperature, the distribution is cut to
// the TopK most likely tokens, then to the smallest prefix whose mass
// reaches TopP, and a token is drawn from the renormalised remainder.
// Logprobs[i] is the sampled token's log-probability under the full
// tempered distribution log_softmax(logits/T) BEFORE the top-k/top-p cut:
// the same quantity LogProbs and Accumulate compute at the same
// temperature, so importance ratios start at exactly the behaviour policy.
// With p.Greedy the argmax is taken and log-probs are at temperature 1.
// Generation stops after EOS or any of p.StopTokens (the stop token is
// included, FinishReason "stop"), or after MaxNewTokens tokens or when the
// sequence fills the context (FinishReason "length").
//
// Determinism: sequence i draws from its own stream derived from (seed,
// PromptID, SampleIdx), and every row is computed by the same arithmetic
// however rows are split over goroutines, so its tokens do not depend on
// the other requests, on chunking, on GOMAXPROCS or on how callers spread
// requests over goroutines.
//
// Concurrency: Generate only reads the weights and allocates its own
// scratch and caches; any number of goroutines may call it at once, but
// the weights must not change during a call. Causal models only.
func (m *Model) Generate(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams) ([]data.GenResult, error) {
	if !m.cfg.Causal {
		return nil, fmt.Errorf("%w: Generate needs a causal model", ErrInput)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.Resolved()
	for i, r := range reqs {
		if len(r.PromptTokens) == 0 || len(r.PromptTokens) >= m.cfg.Context {
			return nil, fmt.Errorf("%w: request %d (prompt %d sample %d): prompt has %d tokens, want 1..%d",
				ErrInput, i, r.PromptID, r.SampleIdx, len(r.PromptTokens), m.cfg.Context-1)
		}
		for j, t := range r.PromptTokens {
			if t < 0 || int(t) >= m.cfg.Vocab {
				return nil, fmt.Errorf("%w: request %d position %d: token %d outside [0, %d)", ErrInput, i, j, t, m.cfg.Vocab)
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

// genSeq is one sequence being decoded.
type genSeq struct {
	prompt int
	res    *data.GenResult
	kv     *kvCache  // the Llama path's cache
	cache  *seqCache // the decoder's
	rng    *rand.Rand
	last   int
	done   bool
}

// seqRNG returns the random stream of one sample: PCG seeded by SplitMix64
// hashes of (seed, promptID) and (seed, sampleIdx), see rng.DecodeSeeds.
func seqRNG(seed, promptID uint64, sampleIdx int32) *rand.Rand {
	return rand.New(rand.NewPCG(rng.DecodeSeeds(seed, promptID, sampleIdx)))
}

// promptKey turns a prompt into a map key.
func promptKey(t []int32) string {
	b := make([]byte, 0, 4*len(t))
	for _, x := range t {
		b = append(b, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
	}
	return string(b)
}

// push appends a sampled token and decides whether the sequence is done.
func (s *genSeq) push(tok int, lp float32, p data.GenParams, stop map[int]bool, context int) {
	s.res.Tokens = append(s.res.Tokens, int32(tok))
	s.res.Logprobs = append(s.res.Logprobs, lp)
	s.last = tok
	n := len(s.res.Tokens)
	switch {
	case stop[tok]:
		s.done, s.res.FinishReason = true, data.FinishStop
	case n >= p.MaxNewTokens || s.prompt+n >= context:
		s.done, s.res.FinishReason = true, data.FinishLength
	}
}

// sampler holds per-call sampling scratch.
type sampler struct {
	probs []float64
	order []probIdx
}

func newSampler(v int) *sampler {
	return &sampler{probs: make([]float64, v), order: make([]probIdx, 0, v)}
}

// sample draws a token from one logits row (see Generate for the rules)
// and returns it with its log-probability under the full tempered
// distribution.
func (sp *sampler) sample(row []float32, p data.GenParams, rng *rand.Rand) (int, float32) {
	if p.Greedy {
		tok := 0
		for j, x := range row {
			if x > row[tok] {
				tok = j
			}
		}
		lp, _ := rowLogProb(row, 1, tok)
		return tok, float32(lp)
	}
	invT := 1 / p.Temperature
	mx, sum := sp.tempered(row, invT)
	lse := mx + math.Log(sum)
	var tok int
	if (p.TopK > 0 && p.TopK < len(row)) || p.TopP < 1 {
		tok = sp.drawCut(len(row), sum, p, rng)
	} else {
		// No cut: the order is the vocabulary's and the weights need no
		// normalising, u is drawn in [0, Σe) instead.
		u := rng.Float64() * sum
		for j, e := range sp.probs[:len(row)] {
			if e > 0 {
				tok = j
			}
			if u -= e; u < 0 {
				break
			}
		}
	}
	return tok, float32(float64(row[tok])*invT - lse)
}

// tempered sets probs[j] = e^(row[j]·invT − mx) for the largest tempered
// logit mx and returns mx and the sum of probs in ascending j: one
// exponential per token gives both the log-partition (as rowLSE computes
// it) and the probabilities. The vector kernels do the leading multiple
// of 4 with the same arithmetic; a NaN sum (a NaN or +Inf logit, where
// the vector max, which skips NaN, could differ from the builtin's) is
// recomputed by the scalar loops, so the result never depends on them.
func (sp *sampler) tempered(row []float32, invT float64) (mx, sum float64) {
	if mx, k := maxScaledVec(row, invT); k > 0 {
		for _, x := range row[k:] {
			mx = max(mx, float64(x)*invT)
		}
		sum, k := expProbsVec(row, sp.probs, invT, mx)
		for j, x := range row[k:] {
			e := expNeg(float64(x)*invT - mx)
			sp.probs[k+j] = e
			sum += e
		}
		if !math.IsNaN(sum) {
			return mx, sum
		}
	}
	mx = math.Inf(-1)
	for _, x := range row {
		mx = max(mx, float64(x)*invT)
	}
	sum = 0
	for j, x := range row {
		e := expNeg(float64(x)*invT - mx)
		sp.probs[j] = e
		sum += e
	}
	return mx, sum
}
