package reward

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// freeTextRows are typical pretrained-model completions: a few hundred
// words of reasoning with inline math, ending in a boxed, "Final Answer"
// or bare-number answer.
func freeTextRows(n int) []Row {
	body := strings.Repeat(`We have $a_n = 2a_{n-1} + 1$ with $a_1 = 1$, so $a_2 = 3$ and $a_3 = 7$. `+
		"Checking the pattern against the recurrence, each step doubles and adds one.\n", 6)
	ends := []struct{ tail, gold string }{
		{`Therefore the answer is $\boxed{\frac{\sqrt{3}}{2}}$.`, `\frac{\sqrt3}2`},
		{"Final Answer: The final answer is $(x+1)^2$. I hope it is correct.", `x^2+2x+1`},
		{`So the solutions are $\boxed{2}$ and $\boxed{-3}$.`, `\{-3, 2\}`},
		{"So the total cost is 1,250 dollars.", `1250`},
		{`Thus $x \in \left[ -2, 7 \right]$.`, `-2 \le x \le 7`},
		{`\[\boxed{\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}}\]`, `\begin{pmatrix}1&2\\3&4\end{pmatrix}`},
		{"The answer is $28\\%$.", `0.28`},
		{`Hence $k = \boxed{46}$.`, `45`},
	}
	rows := make([]Row, n)
	for i := range rows {
		e := ends[i%len(ends)]
		rows[i] = Row{Completion: fmt.Sprintf("Step %d. %s%s", i, body, e.tail), Answer: e.gold}
	}
	return rows
}

// BenchmarkMathFreeText measures the math verifier on ~1 KB free-text
// completions (the target is ≥ 20,000 rows/s).
func BenchmarkMathFreeText(b *testing.B) {
	f, err := New("math", nil)
	if err != nil {
		b.Fatal(err)
	}
	rows := freeTextRows(256)
	out := make([]Result, len(rows))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := f.Score(context.Background(), rows, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}

func TestFreeTextRowsScoreAsExpected(t *testing.T) {
	rows := freeTextRows(8)
	f, err := New("math", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Result, len(rows))
	if err := f.Score(context.Background(), rows, out); err != nil {
		t.Fatal(err)
	}
	for i, r := range out {
		want := 1.0
		if i == 7 {
			want = 0
		}
		if r.Reward != want {
			e := ExplainMath(rows[i].Completion, rows[i].Answer)
			t.Errorf("row %d: reward %v, want %v (%+v)", i, r.Reward, want, e)
		}
	}
}
