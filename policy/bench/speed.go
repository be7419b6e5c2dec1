package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
)

// Result is the outcome of a timed benchmark run (Train, Generate).
type Result struct {
	TokensPerS   float64 // tokens processed (trained on, or generated) per second
	GFLOPs       float64 // analytic FLOPs per second / 1e9
	Iterations   int     // timed iterations (steps or Generate calls)
	MsPerIter    float64 // wall milliseconds per iteration
	FLOPsPerIter float64 // analytic FLOPs of one iteration
	BLAS         string  // policy.BLASName
	Err          error   // non-nil if the run failed (other fields then zero)
}

// Sgemm times n×n×n float32 matrix products through the process-wide
// blas32 implementation, the one policy's kernels use (OpenBLAS when policy
// is built with the openblas tag), for about dur (at least one product)
// and returns GFLOP/s (2n³ per product).
func Sgemm(n int, dur time.Duration) float64 {
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7)*0.1, float32(i%5)*0.1
	}
	impl := blas32.Implementation()
	impl.Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a, n, b, n, 0, c, n)
	iters, start := 0, time.Now()
	for time.Since(start) < dur || iters == 0 {
		impl.Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a, n, b, n, 0, c, n)
		iters++
	}
	return 2 * float64(n) * float64(n) * float64(n) * float64(iters) / time.Since(start).Seconds() / 1e9
}

// forwardFLOPsPerToken is 2·(matrix weights) + attention, where attention
// counts q·kᵀ and p·v over ctx keys per layer (4·ctx·D).
func forwardFLOPsPerToken(c policy.Config, ctx float64) float64 {
	d, f := float64(c.DModel), float64(c.DFF)
	perLayer := 2*(4*d*d+2*d*f) + 4*ctx*d
	return float64(c.Layers)*perLayer + 2*d*float64(c.Vocab)
}

// Train times Accumulate (forward + backward of a mean −log-prob
// objective) on random sequences of seqLen tokens for about dur. FLOPs are
// 3× the forward count, attention over the full padded T×T as computed.
func Train(cfg policy.Config, batch, seqLen int, dur time.Duration) Result {
	cfg = cfg.WithDefaults()
	m, err := policy.NewModel(cfg)
	if err != nil {
		return Result{Err: err}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var b policy.SeqBatch
	for range batch {
		c := make([]int32, seqLen-1)
		for j := range c {
			c[j] = int32(8 + rng.IntN(cfg.Vocab-8))
		}
		b.Prompts, b.Completions = append(b.Prompts, []int32{1}), append(b.Completions, c)
	}
	obj := func(lp [][]float64) (float64, [][]float64, error) {
		var loss float64
		d := make([][]float64, len(lp))
		n := float64(len(lp) * len(lp[0]))
		for i, row := range lp {
			d[i] = make([]float64, len(row))
			for j, v := range row {
				loss -= v / n
				d[i][j] = -1 / n
			}
		}
		return loss, d, nil
	}
	step := func() error { m.ZeroGrad(); _, err := m.Accumulate(b, 1, obj); return err }
	if err := step(); err != nil { // compile the graph outside the timing
		return Result{Err: err}
	}
	T := policy.PaddedLen(seqLen, cfg.Context)
	flops := 3 * forwardFLOPsPerToken(cfg, float64(T)) * float64(batch*T)
	return timeLoop(dur, flops, float64(batch*seqLen), step)
}

// Generate times Generate on batch requests (groups of 8 samples per
// distinct random prompt of promptLen tokens, temperature 1, newTokens
// max) for about dur. Tokens are generated tokens (EOS may end a sequence
// early and is counted as it happens); prefill is included in the time.
func Generate(cfg policy.Config, batch, promptLen, newTokens int, dur time.Duration) Result {
	cfg = cfg.WithDefaults()
	cfg.Causal = true
	m, err := policy.NewModel(cfg)
	if err != nil {
		return Result{Err: err}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	reqs := make([]data.GenRequest, batch)
	var prompt []int32
	for i := range reqs {
		if i%8 == 0 {
			prompt = []int32{1}
			for len(prompt) < promptLen {
				prompt = append(prompt, int32(8+rng.IntN(cfg.Vocab-8)))
			}
		}
		reqs[i] = data.GenRequest{PromptID: uint64(i / 8), SampleIdx: int32(i % 8), PromptTokens: prompt}
	}
	p := data.GenParams{Temperature: 1, MaxNewTokens: newTokens}
	var tokens, flops float64
	seed := uint64(0)
	call := func() error {
		seed++
		res, err := m.Generate(context.Background(), seed, reqs, p)
		for _, r := range res {
			n := float64(len(r.Tokens))
			tokens += n
			flops += n * forwardFLOPsPerToken(cfg, float64(promptLen)+n/2)
		}
		return err
	}
	if err := call(); err != nil {
		return Result{Err: err}
	}
	tokens, flops = 0, 0
	iters, start := 0, time.Now()
	for time.Since(start) < dur || iters == 0 {
		if err := call(); err != nil {
			return Result{Err: err}
		}
		iters++
	}
	sec := time.Since(start).Seconds()
	return Result{TokensPerS: tokens / sec, GFLOPs: flops / sec / 1e9, Iterations: iters,
		MsPerIter: 1000 * sec / float64(iters), FLOPsPerIter: flops / float64(iters), BLAS: policy.BLASName}
}

// timeLoop runs f until dur has passed (at least once).
func timeLoop(dur time.Duration, flopsPerIter, tokensPerIter float64, f func() error) Result {
	iters, start := 0, time.Now()
	for time.Since(start) < dur || iters == 0 {
		if err := f(); err != nil {
			return Result{Err: fmt.Errorf("policy: benchmark: %w", err)}
		}
		iters++
	}
	sec := time.Since(start).Seconds()
	return Result{TokensPerS: tokensPerIter * float64(iters) / sec, GFLOPs: flopsPerIter * float64(iters) / sec / 1e9,
		Iterations: iters, MsPerIter: 1000 * sec / float64(iters), FLOPsPerIter: flopsPerIter, BLAS: policy.BLASName}
}
