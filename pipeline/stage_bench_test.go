package pipeline

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkChain3 measures items/s through source → map → map → sink.
func BenchmarkChain3(b *testing.B) {
	for _, capacity := range []int{1, 64} {
		b.Run("capacity="+strconv.Itoa(capacity), func(b *testing.B) {
			g := NewGraph(WithCapacity(capacity))
			src := AddSource(g, "source", counter(b.N))
			a := AddStage(g, "a", src, Map(double))
			c := AddStage(g, "b", a, Map(double))
			AddSink(g, "sink", c, ForEach(func(context.Context, int) error { return nil }))
			b.ResetTimer()
			if err := g.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkOrdered measures the ordering overhead of the worker pool on a
// trivial per-item function.
func BenchmarkOrdered(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			g := NewGraph(WithCapacity(64))
			src := AddSource(g, "source", counter(b.N))
			p := AddStage(g, "pool", src, Ordered(double, PoolConfig{Workers: workers, Window: 64}))
			AddSink(g, "sink", p, ForEach(func(context.Context, int) error { return nil }))
			b.ResetTimer()
			if err := g.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
