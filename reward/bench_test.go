package reward_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rlpipe/rlpipe/reward"
)

func benchRows(n int) []reward.Row {
	answers := []struct{ gold, pred string }{
		{`\frac{\sqrt{3}}{2}`, `\frac{\sqrt3}2`}, {`x^2+2x+1`, `(x+1)^2`}, {`(1,2)`, `(2,1)`}, {`10\%`, `0.1`},
		{`\left( 3, \frac{\pi}{2} \right)`, `(3,\pi/2)`}, {`1,000`, `1000`}, {`\{1,2\}`, `\{2,1\}`}, {`5`, `6`},
	}
	rows := make([]reward.Row, n)
	for i := range rows {
		a := answers[i%len(answers)]
		rows[i] = reward.Row{Completion: fmt.Sprintf("<think>work %d</think><answer>\\boxed{%s}</answer>", i, a.pred), Answer: a.gold}
	}
	return rows
}

func BenchmarkMathRows(b *testing.B) {
	f := mustNew(b, "math", nil)
	rows := benchRows(256)
	out := make([]reward.Result, len(rows))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.Score(context.Background(), rows, out)
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkSubprocessRows measures the plugin's per-row overhead against
// a trivial worker (the test binary re-executed).
func BenchmarkSubprocessRows(b *testing.B) {
	s := testWorker(b, "1", func(c *reward.SubprocessConfig) { c.Batch = 256 })
	rows := benchRows(1024)
	out := make([]reward.Result, len(rows))
	s.Score(context.Background(), rows, out) // start the workers
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Score(context.Background(), rows, out)
	}
	perRow := b.Elapsed().Seconds() / float64(b.N*len(rows))
	b.ReportMetric(1/perRow, "rows/s")
	b.ReportMetric(perRow*1e6, "µs/row")
}
