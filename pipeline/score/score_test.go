package score_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/score"
	"github.com/rlpipe/rlpipe/reward"
)

const mathRows = `{"completion": "so \\boxed{\\frac12}", "answer": "0.5", "extra": "kept"}
{"completion": "<answer>3</answer>", "answer": "4"}
{"prompt": "p", "completion": "#### 1,000", "answer": 1000, "meta": {"k": 1}}
`

func TestScoreParquetAndArrowRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(mathRows), 0o644)
	pq := filepath.Join(dir, "scored.parquet")
	arr := filepath.Join(dir, "rescored.arrow")
	for _, step := range []score.Options{
		{Reward: reward.Config{Spec: "math"}, In: in, Out: pq, Batch: 2, Progress: score.ProgressNever, Mem: mem},
		{Reward: reward.Config{Spec: "0.5*math"}, In: pq, Out: arr, Batch: 2, Progress: score.ProgressNever, Mem: mem},
	} {
		var stderr bytes.Buffer
		step.Stdout, step.Log = io.Discard, &stderr
		if err := score.Run(t.Context(), step); err != nil {
			t.Fatal(err, stderr.String())
		}
	}
	f, err := os.Open(arr)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	var rewards []float64
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordAt(i)
		if err != nil {
			t.Fatal(err)
		}
		idx := rec.Schema().FieldIndices("reward")
		if len(idx) != 1 || len(rec.Schema().FieldIndices("reward_parts")) != 1 || len(rec.Schema().FieldIndices("completion")) != 1 {
			t.Fatalf("schema %v", rec.Schema())
		}
		rewards = append(rewards, rec.Column(idx[0]).(*array.Float64).Float64Values()...)
		rec.Release()
	}
	r.Close()
	if fmt.Sprint(rewards) != "[0.5 0 0.5]" {
		t.Errorf("rewards after the round trip = %v, want [0.5 0 0.5]", rewards)
	}
	mem.AssertSize(t, 0)
}

func TestRunAppliesTheErrorRateToTheWholeInput(t *testing.T) {
	// Rows 2 and 4 of 6 lack completion_tokens, which length needs: two
	// groups fail in different batches of 2.
	in := `{"completion": "\\boxed{1}", "answer": "1", "completion_tokens": 3, "group": "a"}
{"completion": "\\boxed{1}", "answer": "1", "group": "a"}
{"completion": "\\boxed{1}", "answer": "1", "completion_tokens": 3, "group": "b"}
{"completion": "\\boxed{1}", "answer": "1", "group": "b"}
{"completion": "\\boxed{1}", "answer": "1", "completion_tokens": 3, "group": "c"}
{"completion": "\\boxed{1}", "answer": "1", "completion_tokens": 3, "group": "c"}
`
	spec := "math+-1*length(max_len=10,buffer=5)"
	cases := []struct {
		name    string
		reward  reward.Config
		wantErr error
		lines   int
		summary string
	}{
		{"a rate above max_error_rate fails after every row is written", reward.Config{Spec: spec, MaxErrorRate: 0.3},
			reward.ErrTooManyErrors, 6, "rows=6 errors=2 (error=2) dropped=4 groups_dropped=2"},
		{"a rate within max_error_rate passes", reward.Config{Spec: spec, MaxErrorRate: 0.4},
			nil, 6, "rows=6 errors=2 (error=2) dropped=4 groups_dropped=2"},
		{"on_error fail stops after the failing batch", reward.Config{Spec: spec, OnError: reward.OnErrorFail},
			reward.ErrRowFailed, 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, log bytes.Buffer
			err := score.Run(context.Background(), score.Options{Reward: tc.reward, Stdin: strings.NewReader(in), Stdout: &out, Log: &log, Batch: 2})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got := strings.Count(out.String(), "\n"); got != tc.lines {
				t.Errorf("%d lines written, want %d", got, tc.lines)
			}
			if !strings.Contains(log.String(), tc.summary) {
				t.Errorf("log %q, want the summary %q", log.String(), tc.summary)
			}
		})
	}
}

func TestRunMarksBadSetupsAsUsageErrors(t *testing.T) {
	dir := t.TempDir()
	prompts := filepath.Join(dir, "prompts.arrow")
	if err := data.WritePromptsFile(prompts, []data.Prompt{{ID: 1, Dataset: "d", Prompt: "1+1=", Answer: "2"}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		opts  score.Options
		usage bool
	}{
		{"an unknown reward", score.Options{Reward: reward.Config{Spec: "nonexistent"}}, true},
		{"a missing input file", score.Options{Reward: reward.Config{Spec: "math"}, In: filepath.Join(dir, "missing.jsonl")}, true},
		{"a line that is not JSON", score.Options{Reward: reward.Config{Spec: "math"}, Stdin: strings.NewReader("not json\n")}, true},
		{"a line without a completion", score.Options{Reward: reward.Config{Spec: "math"}, Stdin: strings.NewReader(`{"answer": "1"}` + "\n")}, true},
		{"a file that is not Arrow IPC", score.Options{Reward: reward.Config{Spec: "math"}, In: writeFile(t, dir, "bad.arrow", "nope")}, true},
		{"a record without a completion column", score.Options{Reward: reward.Config{Spec: "math"}, In: prompts}, true},
		{"an output that cannot be created is not a usage error", score.Options{Reward: reward.Config{Spec: "math"},
			Stdin: strings.NewReader(mathRows), Out: filepath.Join(dir, "missing-dir", "out.jsonl")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Stdout = io.Discard
			err := score.Run(context.Background(), tc.opts)
			if err == nil || errors.Is(err, score.ErrUsage) != tc.usage {
				t.Fatalf("err = %v, want usage=%v", err, tc.usage)
			}
			if strings.Contains(err.Error(), "bad usage") {
				t.Errorf("err %q carries the sentinel's text", err)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ExampleRun() {
	rows := `{"completion": "<answer>4</answer>", "answer": "4"}
{"completion": "<answer>5</answer>", "answer": "4", "id": 7}
`
	err := score.Run(context.Background(), score.Options{
		Reward: reward.Config{Spec: "math"},
		Stdin:  strings.NewReader(rows),
		Stdout: os.Stdout,
	})
	fmt.Println(err)
	// Output:
	// {"answer":"4","completion":"<answer>4</answer>","error":null,"parts":{"math":1},"reward":1}
	// {"answer":"4","completion":"<answer>5</answer>","error":null,"id":7,"parts":{"math":0},"reward":0}
	// <nil>
}

// TestRunNamesAnInputThatIsNotArrow: random bytes named .arrow, with or
// without the ARROW1 magic around them, are a usage error naming the file
// and saying it is not Arrow, never a decoder panic (the framed one used
// to crash the process in the IPC footer decoder).
func TestRunNamesAnInputThatIsNotArrow(t *testing.T) {
	dir := t.TempDir()
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7919 + i*i*31)
	}
	framed := append([]byte("ARROW1\x00\x00"), random...)
	framed = append(framed, 200, 0, 0, 0)
	framed = append(framed, "ARROW1"...)
	for name, body := range map[string][]byte{"random.arrow": random, "framed.arrow": framed} {
		t.Run(name, func(t *testing.T) {
			in := writeFile(t, dir, name, string(body))
			err := score.Run(context.Background(), score.Options{Reward: reward.Config{Spec: "math"}, In: in, Stdout: io.Discard})
			if err == nil || !errors.Is(err, score.ErrUsage) || !errors.Is(err, data.ErrNotArrow) || !strings.Contains(err.Error(), in) {
				t.Fatalf("err = %v, want a usage error wrapping data.ErrNotArrow naming %s", err, in)
			}
		})
	}
}
