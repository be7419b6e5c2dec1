// Package rewardtest is a conformance suite for reward.Func
// implementations: run it from a test of any built-in, plugin or user
// reward with rewardtest.Run(t, newFunc).
package rewardtest

import (
	"context"
	"fmt"
	"io"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/reward"
)

// Rows is the batch the suite scores: math, GSM8K, countdown and format
// shaped rows, empty strings, Unicode and a long completion, so any reward
// sees inputs it accepts and inputs it rejects.
var Rows = []reward.Row{
	{Prompt: "What is 1+1?", Completion: `<think>easy</think><answer>\boxed{2}</answer>`, Answer: "2", CompletionTokens: 12},
	{Prompt: "What is 1+1?", Completion: "The answer is 3.", Answer: "2", CompletionTokens: 5},
	{Prompt: "Half?", Completion: `so \boxed{\frac{1}{2}}`, Answer: "0.5", CompletionTokens: 9},
	{Prompt: "Eggs", Completion: "16-3-4=9, 9*2=18\n#### 18", Answer: "Janet sells 9 eggs.\n#### 18", CompletionTokens: 20},
	{Prompt: "Using [30 100 93] make 23", Completion: "<answer>(100 - 93) + 30 - 14</answer>", Answer: "23", Meta: `{"numbers":[30,100,93]}`, CompletionTokens: 14},
	{Prompt: "Using [30 100 93] make 23", Completion: "<answer>30 - (100 - 93)</answer>", Answer: "23", Meta: `{"nums":[30,100,93]}`, CompletionTokens: 11},
	{Prompt: "", Completion: "", Answer: "", CompletionTokens: 0},
	{Prompt: "ünïcødé ✓", Completion: "答案是 \\boxed{42} ✓", Answer: "42", Meta: `{"k":"v"}`, CompletionTokens: 7},
	{Prompt: "long", Completion: longText(), Answer: "1", CompletionTokens: 3000},
	{Prompt: "quotes", Completion: "\"quoted\"\n\tline\\", Answer: "x", Meta: "not json", CompletionTokens: 4},
}

func longText() string {
	b := make([]byte, 0, 20000)
	for len(b) < 20000 {
		b = append(b, "step by step, "...)
	}
	return string(append(b, `\boxed{1}`...))
}

// Run checks that funcs made by newFunc conform to reward.Func: results
// cover every row with a finite reward or an error, batches are
// independent of size and order, scoring is deterministic and safe for
// concurrent use, empty batches and cancelled contexts are handled, stale
// output is overwritten, and Close (when implemented) is idempotent.
func Run(t *testing.T, newFunc func() reward.Func) {
	t.Helper()
	f := newFunc()
	t.Cleanup(func() { closeFunc(t, f) })
	ctx := context.Background()
	base := score(t, f, ctx, Rows)

	t.Run("every row gets a finite reward or an error", func(t *testing.T) {
		for i, r := range base {
			if r.Err == "" && (math.IsNaN(r.Reward) || math.IsInf(r.Reward, 0)) {
				t.Errorf("row %d: reward %v without an error", i, r.Reward)
			}
		}
	})
	t.Run("an empty batch succeeds", func(t *testing.T) {
		if err := f.Score(ctx, nil, nil); err != nil {
			t.Fatalf("Score(empty) = %v", err)
		}
	})
	t.Run("scoring is deterministic", func(t *testing.T) {
		assertSame(t, base, score(t, f, ctx, Rows))
	})
	t.Run("rows score the same alone, reversed and in a batch", func(t *testing.T) {
		for i := range Rows {
			one := score(t, f, ctx, Rows[i:i+1])
			assertSame(t, base[i:i+1], one)
		}
		rev := make([]reward.Row, len(Rows))
		for i := range Rows {
			rev[len(Rows)-1-i] = Rows[i]
		}
		got := score(t, f, ctx, rev)
		for i := range got {
			assertSame(t, base[len(Rows)-1-i:len(Rows)-i], got[i:i+1])
		}
	})
	t.Run("stale output is overwritten", func(t *testing.T) {
		out := make([]reward.Result, len(Rows))
		for i := range out {
			out[i] = reward.Result{Reward: 123, Parts: map[string]float64{"stale": 1}, Err: "stale", Kind: "stale"}
		}
		if err := f.Score(ctx, Rows, out); err != nil {
			t.Fatal(err)
		}
		assertSame(t, base, out)
	})
	t.Run("concurrent batches agree", func(t *testing.T) {
		var wg sync.WaitGroup
		res := make([][]reward.Result, 4)
		for g := range res {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				res[g] = make([]reward.Result, len(Rows))
				if err := f.Score(ctx, Rows, res[g]); err != nil {
					t.Error(err)
				}
			}(g)
		}
		wg.Wait()
		for _, r := range res {
			assertSame(t, base, r)
		}
	})
	t.Run("a cancelled context returns promptly", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		out := make([]reward.Result, len(Rows))
		start := time.Now()
		err := f.Score(cctx, Rows, out)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Score with a cancelled context took %v", d)
		}
		if err == nil {
			for i, r := range out {
				if r.Err == "" && (math.IsNaN(r.Reward) || math.IsInf(r.Reward, 0)) {
					t.Errorf("row %d: non-finite reward %v", i, r.Reward)
				}
			}
		}
	})
	t.Run("Close is idempotent", func(t *testing.T) {
		g := newFunc()
		closeFunc(t, g)
		closeFunc(t, g)
	})
}

func closeFunc(t *testing.T, f reward.Func) {
	if c, ok := f.(io.Closer); ok {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func score(t *testing.T, f reward.Func, ctx context.Context, rows []reward.Row) []reward.Result {
	t.Helper()
	out := make([]reward.Result, len(rows))
	if err := f.Score(ctx, rows, out); err != nil {
		t.Fatalf("Score: %v", err)
	}
	return out
}

func assertSame(t *testing.T, want, got []reward.Result) {
	t.Helper()
	for i := range want {
		w, g := want[i], got[i]
		if (w.Err == "") != (g.Err == "") || w.Kind != g.Kind || w.Reward != g.Reward || !partsEqual(w.Parts, g.Parts) {
			t.Errorf("row %d: got %s, want %s", i, show(g), show(w))
		}
	}
}

func partsEqual(a, b map[string]float64) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func show(r reward.Result) string {
	return fmt.Sprintf("{reward=%v parts=%v err=%q kind=%q}", r.Reward, r.Parts, r.Err, r.Kind)
}
