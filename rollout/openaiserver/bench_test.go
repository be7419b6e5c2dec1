package openaiserver_test

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/rlpipe/rlpipe/rollout/openaiserver"
)

// BenchmarkCompletionsLoopback measures /v1/completions requests (n=1,
// logprobs, tiny hash model) from the official client over loopback, with
// parallel clients; it reports requests per second.
func BenchmarkCompletionsLoopback(b *testing.B) {
	_, base := startServer(b, openaiserver.Config{Concurrency: 4, QueueDepth: 1024}, nil)
	c := newClients(b, base)
	params := openai.CompletionNewParams{
		Model: "rlpipe", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("What is 2+3?")},
		Logprobs: openai.Int(0), Seed: openai.Int(1),
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.completions.New(context.Background(), params); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
