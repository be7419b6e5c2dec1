package rollouttest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/rollout"
)

// Generator is what the suite tests: rollout.InProcess, rollout.OpenAI and
// any future generator.
type Generator interface {
	Generate(ctx context.Context, req rollout.Request) ([]data.Rollout, error)
}

// Run checks a generator against the rollout contract: row count and order
// (prompt, mode, sample), copied prompt fields, mode rendering, determinism
// for a fixed (seed, step), sensitivity to the seed, token budgets, request
// validation and cancellation.
//
// newGen is called once per subtest and must return a generator backed by a
// HashModel over ByteCodec tokens (in process, or behind a server), whose
// prompts render through a data.Template so that empty-trace prompts end with
// data.EmptyTrace. The suite's requests never lose samples, so a generator
// that drops rows fails it.
func Run(t *testing.T, newGen func(t *testing.T) Generator) {
	t.Helper()
	for _, c := range suiteCases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newGen(t)) })
	}
}

var suiteCases = []struct {
	name string
	run  func(t *testing.T, g Generator)
}{
	{"rows come ordered by prompt, mode and sample with prompt fields copied", checkOrder},
	{"completions follow the rendered mode", checkModes},
	{"a nil mode list rolls out trace mode only", checkDefaultMode},
	{"the same seed and step give the same rollouts", checkDeterminism},
	{"another seed, step or round gives other rollouts", checkSeedSensitivity},
	{"samples of one group differ", checkGroupDiversity},
	{"max new tokens truncates with finish reason length", checkBudget},
	{"an invalid request is refused", checkInvalid},
	{"a cancelled context stops generation", checkCancel},
}

// Prompts returns n distinct prompts for tests.
func Prompts(n int) []data.Prompt {
	out := make([]data.Prompt, n)
	for i := range out {
		key := fmt.Sprint(i)
		out[i] = data.Prompt{
			ID: data.PromptID("suite", key), Dataset: "suite",
			Prompt: fmt.Sprintf("What is %d+%d?", i, 2*i), Answer: fmt.Sprint(3 * i),
			Meta: fmt.Sprintf(`{"row":%d}`, i),
		}
	}
	return out
}

func generate(t *testing.T, g Generator, req rollout.Request) []data.Rollout {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rows, err := g.Generate(ctx, req)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(rows) != req.Rows() {
		t.Fatalf("got %d rows, want %d", len(rows), req.Rows())
	}
	return rows
}

func bothModes() []uint8 { return []uint8{data.ModeTrace, data.ModeEmpty} }

func checkOrder(t *testing.T, g Generator) {
	ps := Prompts(3)
	req := rollout.Request{Prompts: ps, G: 3, Modes: bothModes(), Seed: 11, Step: 2, PolicyVersion: 5}
	rows := generate(t, g, req)
	i := 0
	for _, p := range ps {
		for _, mode := range req.Modes {
			for s := int32(0); s < int32(req.G); s++ {
				r := rows[i]
				if r.PromptID != p.ID || r.Mode != mode || r.SampleIdx != s {
					t.Fatalf("row %d is (prompt %d, mode %d, sample %d), want (%d, %d, %d)",
						i, r.PromptID, r.Mode, r.SampleIdx, p.ID, mode, s)
				}
				if r.Dataset != p.Dataset || r.Prompt != p.Prompt || r.Answer != p.Answer || r.Meta != p.Meta || r.PolicyVersion != 5 {
					t.Fatalf("row %d: prompt fields or policy version not copied: %+v", i, r)
				}
				i++
			}
		}
	}
}

func checkModes(t *testing.T, g Generator) {
	rows := generate(t, g, rollout.Request{Prompts: Prompts(2), G: 2, Modes: bothModes(), Seed: 3})
	for i, r := range rows {
		want := data.ThinkOpen
		if r.Mode == data.ModeEmpty {
			want = data.AnswerOpen
		}
		if !strings.HasPrefix(r.Completion, want) {
			t.Fatalf("row %d (mode %d): completion %q does not start with %q", i, r.Mode, r.Completion, want)
		}
		checkRowConsistency(t, i, r)
	}
}

// checkRowConsistency checks what holds for every row: a known finish
// reason, tokens that decode to (a prefix extension of) the text, and one
// log-prob per token when both are present.
func checkRowConsistency(t *testing.T, i int, r data.Rollout) {
	t.Helper()
	if r.FinishReason != data.FinishStop && r.FinishReason != data.FinishLength {
		t.Fatalf("row %d: finish reason %q", i, r.FinishReason)
	}
	if r.CompletionTokens != nil && !strings.HasPrefix(ByteCodec{}.Decode(r.CompletionTokens), r.Completion) {
		t.Fatalf("row %d: tokens decode to %q, text is %q", i, ByteCodec{}.Decode(r.CompletionTokens), r.Completion)
	}
	if r.CompletionTokens != nil && r.Logprobs != nil && len(r.Logprobs) != len(r.CompletionTokens) {
		t.Fatalf("row %d: %d log-probs for %d tokens", i, len(r.Logprobs), len(r.CompletionTokens))
	}
	for _, lp := range r.Logprobs {
		if !(lp <= 0) {
			t.Fatalf("row %d: log-prob %v > 0", i, lp)
		}
	}
}

func checkDefaultMode(t *testing.T, g Generator) {
	rows := generate(t, g, rollout.Request{Prompts: Prompts(2), G: 2, Seed: 1})
	for i, r := range rows {
		if r.Mode != data.ModeTrace || !strings.HasPrefix(r.Completion, data.ThinkOpen) {
			t.Fatalf("row %d: mode %d completion %q, want a trace-mode row", i, r.Mode, r.Completion)
		}
	}
}

func checkDeterminism(t *testing.T, g Generator) {
	req := rollout.Request{Prompts: Prompts(3), G: 2, Modes: bothModes(), Seed: 21, Step: 7}
	a := generate(t, g, req)
	b := generate(t, g, req)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls with the same seed and step gave different rollouts")
	}
}

func checkSeedSensitivity(t *testing.T, g Generator) {
	base := rollout.Request{Prompts: Prompts(3), G: 2, Seed: 21, Step: 7}
	a := generate(t, g, base)
	for _, change := range []struct {
		name string
		req  rollout.Request
	}{
		{"seed", rollout.Request{Prompts: base.Prompts, G: 2, Seed: 22, Step: 7}},
		{"step", rollout.Request{Prompts: base.Prompts, G: 2, Seed: 21, Step: 8}},
		{"round", rollout.Request{Prompts: base.Prompts, G: 2, Seed: 21, Step: 7, Round: 1}},
	} {
		b := generate(t, g, change.req)
		if completions(a) == completions(b) {
			t.Fatalf("changing the %s left every completion unchanged", change.name)
		}
	}
}

func completions(rows []data.Rollout) string {
	parts := make([]string, len(rows))
	for i, r := range rows {
		parts[i] = r.Completion
	}
	return strings.Join(parts, "\x00")
}

func checkGroupDiversity(t *testing.T, g Generator) {
	rows := generate(t, g, rollout.Request{Prompts: Prompts(1), G: 6, Seed: 5})
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Completion] = true
	}
	if len(seen) < 2 {
		t.Fatalf("all %d samples of the group are %q", len(rows), rows[0].Completion)
	}
}

func checkBudget(t *testing.T, g Generator) {
	const budget = 3
	req := rollout.Request{Prompts: Prompts(2), G: 2, Modes: bothModes(), Seed: 9, Params: data.GenParams{MaxNewTokens: budget}}
	for i, r := range generate(t, g, req) {
		if r.FinishReason != data.FinishLength || len(r.Completion) > budget {
			t.Fatalf("row %d: finish %q completion %q, want at most %d bytes and %q", i, r.FinishReason, r.Completion, budget, data.FinishLength)
		}
		if r.CompletionTokens != nil && len(r.CompletionTokens) > budget {
			t.Fatalf("row %d: %d tokens over a budget of %d", i, len(r.CompletionTokens), budget)
		}
	}
}

func checkInvalid(t *testing.T, g Generator) {
	for _, req := range []rollout.Request{
		{Prompts: Prompts(1), G: 0},
		{Prompts: Prompts(1), G: 1, Modes: []uint8{7}},
		{Prompts: Prompts(1), G: 1, Params: data.GenParams{TopP: 2}},
	} {
		rows, err := g.Generate(context.Background(), req)
		if err == nil || rows != nil {
			t.Fatalf("request %+v: got %d rows and error %v, want an error and no rows", req, len(rows), err)
		}
	}
}

func checkCancel(t *testing.T, g Generator) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	rows, err := g.Generate(ctx, rollout.Request{Prompts: Prompts(4), G: 2, Seed: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate on a cancelled context: %d rows, error %v; want context.Canceled", len(rows), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancelled Generate took %v", d)
	}
}
