package report

import "testing"

// BenchmarkGenerate measures a full report of a 200-step run with evals.
func BenchmarkGenerate(b *testing.B) {
	dir := b.TempDir()
	run := makeRun(1, 200, 20)
	writeJSONL(b, dir, MetricsFile, run.metrics)
	writeJSONL(b, dir, EvalFile, run.eval)
	b.ResetTimer()
	for range b.N {
		if _, err := Generate(dir, b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
}
