package policy

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/rlpipe/rlpipe/data"
)

// longContextConfig is a narrow model with a 4096-position window and
// Llama 3 rope scaling whose original window (1024) the test goes past, so
// the scaled frequencies are exercised where they differ from plain RoPE.
var longContextConfig = LlamaConfig{Architecture: ArchLlama, HiddenSize: 16, IntermediateSize: 24, Layers: 2,
	Heads: 2, KVHeads: 1, HeadDim: 8, RMSNormEps: 1e-5, RopeTheta: 500000, MaxPositions: 4096, Vocab: 37,
	RopeScaling: &Llama3RopeScaling{Factor: 4, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 1024}, BOS: -1}

func randomPrompt(n int, vocab int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(rng.IntN(vocab))
	}
	return p
}

// TestLlamaLongContextGeneratesToTheWindowAndAgrees fills the whole
// 4096-position window: the completion stops with "length" exactly at
// max_position_embeddings, and every sampled token's log-prob equals the
// training forward's over the full 4096 tokens.
func TestLlamaLongContextGeneratesToTheWindowAndAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("4096-token forward")
	}
	tl := loadTol(t, "logprob_agreement")
	m := tinyLlama(t, longContextConfig, 5)
	prompt := randomPrompt(4090, longContextConfig.Vocab, 1)
	reqs := []data.GenRequest{{PromptID: 1, PromptTokens: prompt}, {PromptID: 1, SampleIdx: 1, PromptTokens: prompt}}
	res, err := m.Generate(context.Background(), 9, reqs, data.GenParams{Temperature: 1, MaxNewTokens: 64})
	if err != nil {
		t.Fatal(err)
	}
	var b SeqBatch
	for i, r := range res {
		if r.FinishReason != data.FinishLength || len(prompt)+len(r.Tokens) != longContextConfig.MaxPositions {
			t.Fatalf("request %d: %d new tokens, finish %q; want %d and length", i, len(r.Tokens), r.FinishReason, longContextConfig.MaxPositions-len(prompt))
		}
		b.Prompts = append(b.Prompts, prompt)
		b.Completions = append(b.Completions, r.Tokens)
	}
	lp, _, err := m.LogProbs(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		for j, want := range r.Logprobs {
			if !tl.ok(float64(lp[i][j]), float64(want)) {
				t.Errorf("request %d token %d (position %d): training %.7g, inference %.7g", i, j, len(prompt)+j, lp[i][j], want)
			}
		}
	}
}

// TestLlamaGenerationMemoryIsLinearInLength measures the bytes one
// generation allocates at prompt lengths 1024 and 4000: with a KV cache
// and row-at-a-time attention it grows about 4×; a (T×T) score matrix
// anywhere would make it about 16×. Allocation counts are deterministic,
// so the bound does not depend on the machine's load.
func TestLlamaGenerationMemoryIsLinearInLength(t *testing.T) {
	if testing.Short() {
		t.Skip("4000-token prefill")
	}
	m := tinyLlama(t, longContextConfig, 6)
	allocated := func(n int) uint64 {
		prompt := randomPrompt(n, longContextConfig.Vocab, uint64(n))
		reqs := []data.GenRequest{{PromptID: 1, PromptTokens: prompt}}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := m.Generate(context.Background(), 1, reqs, data.GenParams{Temperature: 1, MaxNewTokens: 8}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	short, long := allocated(1024), allocated(4000)
	ratio := float64(long) / float64(short)
	t.Logf("allocated %d B at 1024 tokens, %d B at 4000 (%.2f×)", short, long, ratio)
	if ratio > 6 {
		t.Errorf("generation allocates %.1f× more at 4000 tokens than at 1024: not linear in length", ratio)
	}
}
