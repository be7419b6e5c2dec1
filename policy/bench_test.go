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
