package policy

import (
	"context"
	"testing"

	"github.com/rlpipe/rlpipe/data"
)

func BenchmarkSgemm256(b *testing.B) {
	n := 256
	a, c := make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i] = float32(i%7) * 0.1 // non-zero: gonum skips zero multipliers
	}
	for b.Loop() {
		gemm(false, false, n, n, n, 1, a, n, a, n, 0, c, n)
	}
	b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkTrainStep is one Accumulate of the default model on a 16×128
// batch (see BenchTrain for the FLOP count).
func BenchmarkTrainStep(b *testing.B) {
	r := BenchTrain(DefaultConfig(), 16, 128, 0) // compiles the graph once
	if r.Err != nil {
		b.Fatal(r.Err)
	}
	m, batch, obj := benchTrainSetup(b)
	b.ResetTimer()
	for b.Loop() {
		m.ZeroGrad()
		if _, err := m.Accumulate(batch, 1, obj); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(16*128*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
	b.ReportMetric(r.FLOPsPerIter*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func benchTrainSetup(b *testing.B) (*Model, SeqBatch, LossGradFunc) {
	m, err := NewModel(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var batch SeqBatch
	for i := range 16 {
		c := make([]int32, 127)
		for j := range c {
			c[j] = int32(8 + (i*31+j*7)%256)
		}
		batch.Prompts, batch.Completions = append(batch.Prompts, []int32{1}), append(batch.Completions, c)
	}
	obj := func(lp [][]float64) (float64, [][]float64, error) {
		d := make([][]float64, len(lp))
		for i := range lp {
			d[i] = make([]float64, len(lp[i]))
			for j := range d[i] {
				d[i][j] = -1.0 / 2032
			}
		}
		return 0, d, nil
	}
	return m, batch, obj
}

// BenchmarkGenerate decodes 16 prompts × 8 samples (32-token prompts, up
// to 64 new tokens, temperature 1) with the default model.
func BenchmarkGenerate(b *testing.B) {
	m, err := NewModel(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var reqs []data.GenRequest
	for i := range 128 {
		p := []int32{1}
		for j := 1; j < 32; j++ {
			p = append(p, int32(8+(i/8*13+j*5)%256))
		}
		reqs = append(reqs, data.GenRequest{PromptID: uint64(i / 8), SampleIdx: int32(i % 8), PromptTokens: p})
	}
	tokens := 0
	for b.Loop() {
		res, err := m.Generate(context.Background(), uint64(b.N), reqs, data.GenParams{MaxNewTokens: 64})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			tokens += len(r.Tokens)
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
}

func TestBenchFunctionsRunOnATinyModel(t *testing.T) {
	cfg := Config{Layers: 1, DModel: 16, Heads: 2, DFF: 16, Context: 32, Causal: true}
	if g := BenchSgemm(32, 0); !(g > 0) {
		t.Fatalf("sgemm GFLOP/s = %v", g)
	}
	for name, r := range map[string]BenchResult{
		"train":    BenchTrain(cfg, 2, 20, 0),
		"generate": BenchGenerate(cfg, 4, 5, 6, 0),
	} {
		if r.Err != nil || !(r.TokensPerS > 0) || !(r.GFLOPs > 0) || r.Iterations < 1 {
			t.Errorf("%s: %+v", name, r)
		}
	}
}
