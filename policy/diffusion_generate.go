package policy

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// Defaults of DiffusionGenConfig's zero fields.
const (
	DefaultDiffusionSteps    = 64
	DefaultDiffusionBlockLen = 32
	RemaskLowConfidence      = "low_confidence"
	RemaskRandom             = "random"
)

// DiffusionGenConfig configures DiffusionModel.Generate (LLaDA sampling).
// The zero value is usable: Steps 64, BlockLen 32, Remask low_confidence
// (the d1 defaults at a smaller scale). It lives in the model (SetGenConfig)
// because rollout's generator interface carries only data.GenParams.
type DiffusionGenConfig struct {
	// Steps is the total number of denoising steps (forward passes) per
	// sequence, spread over the blocks in proportion to their length; each
	// block gets at least 1 and at most one step per token. 0 means 64.
	// Fewer steps unmask more tokens per pass: faster, usually worse.
	Steps int `yaml:"steps" json:"steps"`
	// BlockLen is the length of the semi-autoregressive blocks, unmasked
	// left to right, each completely before the next; 0 means 32. A value
	// ≥ MaxNewTokens gives one block (fully non-autoregressive order).
	BlockLen int `yaml:"block_len" json:"block_len"`
	// Remask chooses which predictions are kept at each step:
	// "low_confidence" (default; keep the most probable sampled tokens and
	// remask the rest) or "random" (keep uniformly random ones).
	Remask string `yaml:"remask" json:"remask"`
}

// Validate reports negative sizes and unknown remasking strategies.
func (c DiffusionGenConfig) Validate() error {
	switch {
	case c.Steps < 0:
		return fmt.Errorf("%w: field %q: %d is negative", ErrConfig, "steps", c.Steps)
	case c.BlockLen < 0:
		return fmt.Errorf("%w: field %q: %d is negative", ErrConfig, "block_len", c.BlockLen)
	}
	switch c.Remask {
	case "", RemaskLowConfidence, RemaskRandom:
		return nil
	}
	return fmt.Errorf("%w: field %q: %q is not low_confidence or random", ErrConfig, "remask", c.Remask)
}

// WithDefaults returns c with every zero field replaced by its default.
func (c DiffusionGenConfig) WithDefaults() DiffusionGenConfig {
	c.Steps = cmp.Or(c.Steps, DefaultDiffusionSteps)
	c.BlockLen = cmp.Or(c.BlockLen, DefaultDiffusionBlockLen)
	c.Remask = cmp.Or(c.Remask, RemaskLowConfidence)
	return c
}

// Generate samples one completion per request by iterative unmasking
// (LLaDA): the canvas is the prompt followed by L = min(MaxNewTokens,
// Context − len(prompt)) MaskTokens, cut into blocks of BlockLen filled left
// to right. At each step of a block the whole canvas is run through the
// bidirectional network; every still-masked position of the block draws a
// token from its row (temperature p.Temperature with p.TopK/p.TopP cuts as
// Model.Generate, argmax when p.Greedy; MaskToken itself is never drawn);
// the k draws with the highest confidence (the token's probability at
// temperature 1; uniform random numbers under Remask "random") are kept and
// the rest are masked again, k spreading the block's tokens evenly over its
// steps (earlier steps take the remainder). After the last step no mask
// remains.
//
// The result is the completion up to and including the first EOS or
// StopTokens entry (FinishReason "stop"), or all L tokens ("length").
// Logprobs is nil: a diffusion policy has no per-token behaviour
// log-probabilities; the learner scores rollouts with ELBO instead.
//
// Determinism: request i draws from its own stream keyed by (seed,
// PromptID, SampleIdx) and its canvas is computed on its own, so results do
// not depend on the other requests or on scheduling. Requests run in
// parallel over GOMAXPROCS workers. Cost per request: about Steps forward
// passes over the whole canvas. Concurrency: reads the weights only (see
// DiffusionModel). It returns ctx's error if ctx ends first.
func (m *DiffusionModel) Generate(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams) ([]data.GenResult, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.Resolved()
	cfg := m.net.cfg
	for i, r := range reqs {
		if len(r.PromptTokens) == 0 || len(r.PromptTokens) >= cfg.Context {
			return nil, fmt.Errorf("%w: request %d (prompt %d sample %d): prompt has %d tokens, want 1..%d",
				ErrInput, i, r.PromptID, r.SampleIdx, len(r.PromptTokens), cfg.Context-1)
		}
		for j, t := range r.PromptTokens {
			if t < 0 || int(t) >= cfg.Vocab {
				return nil, fmt.Errorf("%w: request %d position %d: token %d outside [0, %d)", ErrInput, i, j, t, cfg.Vocab)
			}
		}
	}
	out := make([]data.GenResult, len(reqs))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, min(runtime.GOMAXPROCS(0), len(reqs)))
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := m.newDenoiser(seed, p)
			for i := int(next.Add(1) - 1); i < len(reqs); i = int(next.Add(1) - 1) {
				if errs[w] = ctx.Err(); errs[w] != nil {
					return
				}
				if errs[w] = d.run(ctx, reqs[i], &out[i]); errs[w] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// denoiser is one worker's generation state: engine, scratch and settings.
type denoiser struct {
	e     *engine
	sc    canvasScratch
	sp    *sampler
	row   []float32
	cands []unmaskCand
	cfg   DiffusionGenConfig
	p     data.GenParams
	seed  uint64
	stop  map[int32]bool
}

// unmaskCand is a sampled token for a masked position and its confidence.
type unmaskCand struct {
	pos, tok int
	conf     float64
}

func (m *DiffusionModel) newDenoiser(seed uint64, p data.GenParams) *denoiser {
	stop := map[int32]bool{tokenizer.EOS: true}
	for _, t := range p.StopTokens {
		stop[t] = true
	}
	v := m.net.cfg.Vocab
	return &denoiser{e: newEngine(m.net), sp: newSampler(v), row: make([]float32, v),
		cfg: m.gen.WithDefaults(), p: p, seed: objective.Key(seed, purposeGenerate), stop: stop}
}

// run generates the completion of r into res.
func (d *denoiser) run(ctx context.Context, r data.GenRequest, res *data.GenResult) error {
	np := len(r.PromptTokens)
	l := min(d.p.MaxNewTokens, d.e.cfg.Context-np)
	canvas := make([]int, np+l)
	for j, t := range r.PromptTokens {
		canvas[j] = int(t)
	}
	for j := np; j < len(canvas); j++ {
		canvas[j] = int(MaskToken)
	}
	rng := seqRNG(d.seed, r.PromptID, r.SampleIdx)
	steps := min(max(d.cfg.Steps, 1), l)
	for lo := 0; lo < l; lo += d.cfg.BlockLen {
		hi := min(lo+d.cfg.BlockLen, l)
		n := hi - lo
		bs := min(max(steps*n/l, 1), n)
		for s := range bs {
			if err := ctx.Err(); err != nil {
				return err
			}
			// Spread n tokens over bs steps; the first n%bs steps take one more.
			k := n / bs
			if s < n%bs {
				k++
			}
			d.step(canvas, np, lo, hi, k, rng)
		}
	}
	res.Tokens, res.Logprobs, res.FinishReason = make([]int32, 0, l), nil, data.FinishLength
	for _, t := range canvas[np:] {
		res.Tokens = append(res.Tokens, int32(t))
		if d.stop[int32(t)] {
			res.FinishReason = data.FinishStop
			break
		}
	}
	return nil
}

// step runs one denoising step on block [lo, hi) of the completion
// (canvas offset np): sample every masked position, keep the k most
// confident samples.
func (d *denoiser) step(canvas []int, np, lo, hi, k int, rng *rand.Rand) {
	v := d.e.cfg.Vocab
	logits := d.e.canvasForward(canvas, np+lo, &d.sc)
	d.cands = d.cands[:0]
	for j := lo; j < hi; j++ {
		if canvas[np+j] != int(MaskToken) {
			continue
		}
		copy(d.row, logits[(j-lo)*v:(j-lo+1)*v])
		d.row[MaskToken] = float32(math.Inf(-1))
		tok, _ := d.sp.sample(d.row, d.p, rng)
		var conf float64
		if d.cfg.Remask == RemaskRandom {
			conf = rng.Float64()
		} else {
			lp, _ := rowLogProb(d.row, 1, tok)
			conf = math.Exp(lp)
		}
		d.cands = append(d.cands, unmaskCand{pos: j, tok: tok, conf: conf})
	}
	slices.SortFunc(d.cands, func(a, b unmaskCand) int {
		if c := cmp.Compare(b.conf, a.conf); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	for _, c := range d.cands[:min(k, len(d.cands))] {
		canvas[np+c.pos] = c.tok
	}
}
