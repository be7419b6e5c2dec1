package policy

import (
	"context"
	"testing"

	"github.com/rlpipe/rlpipe/data"
)

// smolBenchConfig is SmolLM2-135M's shape with 2 of its 30 layers.
func smolBenchConfig() LlamaConfig {
	return LlamaConfig{Architecture: ArchLlama, HiddenSize: 576, IntermediateSize: 1536, Layers: 2, Heads: 9, KVHeads: 3, HeadDim: 64,
		RMSNormEps: 1e-5, RopeTheta: 100000, MaxPositions: 8192, Vocab: 49152, TieWordEmbeddings: true, BOS: 0, EOS: []int{0}}
}

// BenchmarkLlamaTrainStep runs Accumulate (forward + backward) on 4
// sequences of 64 tokens (32 prompt + 32 completion).
func BenchmarkLlamaTrainStep(b *testing.B) {
	m, err := NewLlamaRandom(smolBenchConfig(), 1)
	if err != nil {
		b.Fatal(err)
	}
	var batch SeqBatch
	for i := range 4 {
		p, c := make([]int32, 32), make([]int32, 32)
		for j := range p {
			p[j], c[j] = int32((i*131+j*7)%49152), int32((i*17+j*29)%49152)
		}
		batch.Prompts, batch.Completions = append(batch.Prompts, p), append(batch.Completions, c)
	}
	obj := fixedObjective(1)
	for b.Loop() {
		if _, err := m.Accumulate(batch, 1, obj); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(4*64*b.N)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkLlamaGenerate decodes 4 prompts × 4 samples (32-token prompts,
// 32 new tokens, temperature 1).
func BenchmarkLlamaGenerate(b *testing.B) {
	m, err := NewLlamaRandom(smolBenchConfig(), 1)
	if err != nil {
		b.Fatal(err)
	}
	var reqs []data.GenRequest
	for i := range 16 {
		p := make([]int32, 32)
		for j := range p {
			p[j] = int32(1 + (i/4*13+j*5)%49000)
		}
		reqs = append(reqs, data.GenRequest{PromptID: uint64(i / 4), SampleIdx: int32(i % 4), PromptTokens: p})
	}
	tokens := 0
	for b.Loop() {
		res, err := m.Generate(context.Background(), uint64(b.N), reqs, data.GenParams{MaxNewTokens: 32})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			tokens += len(r.Tokens)
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
}
