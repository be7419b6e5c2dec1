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
	PeakRSS      int64   // peak resident bytes of the process during the run (0: unknown)
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

// Model is what the speed benchmarks run: a causal policy that reports its
// analytic FLOPs (policy.Model and policy.LlamaModel).
type Model interface {
	policy.Trainable
	policy.Causal
	// ForwardFLOPsPerToken is one token's forward FLOPs over ctx keys.
	ForwardFLOPsPerToken(ctx float64) float64
	// VocabSize is the number of token ids.
	VocabSize() int
	// TrainedLen is the padded length a batch of n-token sequences is
	// computed at.
	TrainedLen(n int) int
}

var (
	_ Model = (*policy.Model)(nil)
	_ Model = (*policy.LlamaModel)(nil)
)

// Train times a training step of the default-family policy cfg (see
// TrainModel).
func Train(cfg policy.Config, batch, seqLen int, dur time.Duration) Result {
	m, err := policy.NewModel(cfg.WithDefaults())
	if err != nil {
		return Result{Err: err}
	}
	return TrainModel(m, batch, seqLen, dur)
}

// TrainModel times Accumulate (forward + backward of a mean −log-prob
// objective) on batch random sequences of seqLen tokens for about dur,
// after one untimed step (graph compilation). FLOPs are 3× the forward
// count at the padded length, attention over the full T×T as computed.
// PeakRSS is the process's peak resident memory during the run.
func TrainModel(m Model, batch, seqLen int, dur time.Duration) Result {
	rng := rand.New(rand.NewPCG(1, 2))
	v := m.VocabSize()
	var b policy.SeqBatch
	for range batch {
		c := make([]int32, seqLen-1)
		for j := range c {
			c[j] = int32(min(8, v-1) + rng.IntN(max(1, v-8)))
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
	ResetPeakRSS()
	step := func() error { m.ZeroGrad(); _, err := m.Accumulate(b, 1, obj); return err }
	if err := step(); err != nil { // compile the graph outside the timing
		return Result{Err: err}
	}
	T := m.TrainedLen(seqLen)
	flops := 3 * m.ForwardFLOPsPerToken(float64(T)) * float64(batch*T)
	r := timeLoop(dur, flops, float64(batch*seqLen), step)
	r.PeakRSS = PeakRSS()
	return r
}

// Generate times batched generation of the default-family policy cfg (see
// GenerateModel).
func Generate(cfg policy.Config, batch, promptLen, newTokens int, dur time.Duration) Result {
	cfg = cfg.WithDefaults()
	cfg.Causal = true
	m, err := policy.NewModel(cfg)
	if err != nil {
		return Result{Err: err}
	}
	return GenerateModel(m, batch, promptLen, newTokens, dur)
}

// GenerateModel times Generate on batch requests (groups of 8 samples per
// distinct random prompt of promptLen tokens, temperature 1, newTokens
// max) for about dur. Tokens are generated tokens (EOS may end a sequence
// early and is counted as it happens); prefill is included in the time.
// PeakRSS is the process's peak resident memory during the run.
func GenerateModel(m Model, batch, promptLen, newTokens int, dur time.Duration) Result {
	rng := rand.New(rand.NewPCG(3, 4))
	v := m.VocabSize()
	reqs := make([]data.GenRequest, batch)
	var prompt []int32
	for i := range reqs {
		if i%8 == 0 {
			prompt = []int32{1}
			for len(prompt) < promptLen {
				prompt = append(prompt, int32(min(8, v-1)+rng.IntN(max(1, v-8))))
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
			flops += n * m.ForwardFLOPsPerToken(float64(promptLen)+n/2)
		}
		return err
	}
	ResetPeakRSS()
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
		MsPerIter: 1000 * sec / float64(iters), FLOPsPerIter: flops / float64(iters), BLAS: policy.BLASName,
		PeakRSS: PeakRSS()}
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
