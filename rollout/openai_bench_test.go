package rollout_test

import (
	"context"
	"testing"

	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

// BenchmarkOpenAILoopback measures a full Generate of 16 prompts × G=4
// (16 HTTP requests) through openaiserver over loopback; it reports HTTP
// requests and rows per second.
func BenchmarkOpenAILoopback(b *testing.B) {
	base, _ := serve(b, modelServer(openaiserver.Config{Concurrency: 4}).Handler())
	g := newGen(b, rollout.OpenAIConfig{BaseURL: base, Model: "rlpipe", ReturnTokenIDs: true}, nil)
	req := rollout.Request{Prompts: rollouttest.Prompts(16), G: 4, Seed: 1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req.Step = int64(i)
		rows, err := g.Generate(context.Background(), req)
		if err != nil || len(rows) != req.Rows() {
			b.Fatalf("%d rows, error %v", len(rows), err)
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*len(req.Prompts))/s, "req/s")
	b.ReportMetric(float64(b.N*req.Rows())/s, "rows/s")
}
