package stage

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
			a := AddStage(g, "a", src, mapItems(double))
			c := AddStage(g, "b", a, mapItems(double))
			AddSink(g, "sink", c, forEach(func(context.Context, int) error { return nil }))
			b.ResetTimer()
			if err := g.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
