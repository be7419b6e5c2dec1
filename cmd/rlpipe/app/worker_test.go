package app

import (
	"context"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/flight"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout"
)

// workerProcess is `rlpipe worker` running as a child process.
type workerProcess struct {
	*child
	addr string
}

var listeningRE = regexp.MustCompile(`listening on (\S+)`)

// startWorker starts `rlpipe worker args...` and waits until it prints its
// address; the process is killed when the test ends if still running.
func startWorker(t *testing.T, args ...string) *workerProcess {
	t.Helper()
	c, addr := startChild(t, "worker", 60*time.Second, listeningRE, append([]string{"worker"}, args...)...)
	return &workerProcess{child: c, addr: addr}
}

// stop sends SIGTERM and checks the worker exits 0.
func (w *workerProcess) stop(t *testing.T) {
	t.Helper()
	if err := w.signalAndWait(t, syscall.SIGTERM); err != nil {
		t.Fatalf("worker exit after SIGTERM: %v\n%s", err, w.stderr.String())
	}
	if !strings.Contains(w.stderr.String(), "stopped") {
		t.Fatalf("worker did not report a clean stop:\n%s", w.stderr.String())
	}
}

type plainRenderer struct{}

func (plainRenderer) Render(p data.Prompt, mode uint8) (string, error) {
	return data.Template{}.Render(p.Prompt, mode).Text, nil
}

func TestWorkerProcessServesRollouts(t *testing.T) {
	pol, err := policyfile.New(policy.KindAR, policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 64, Causal: true, InitSeed: 4})
	if err != nil {
		t.Fatal(err)
	}
	ckpt := t.TempDir()
	if err := pol.Save(ckpt); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
	}{
		{"a bare worker receives pushed weights", nil},
		{"a worker preloaded from a checkpoint serves too", []string{"--checkpoint", ckpt, "--policy-version", "2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := startWorker(t, append([]string{"--role", "rollout", "--listen", "127.0.0.1:0"}, tc.args...)...)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			rp, err := flight.NewRolloutPool([]string{w.addr}, flight.WithAllocator(mem), flight.WithRequestTimeout(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			var prompts []data.Prompt
			for _, q := range []string{"1+1=", "2+5=", "7+0="} {
				prompts = append(prompts, data.Prompt{ID: data.PromptID("cli", q), Dataset: "cli", Prompt: q, Answer: "x", Meta: "{}"})
			}
			req := rollout.Request{Prompts: prompts, G: 3, Modes: []uint8{data.ModeTrace, data.ModeEmpty}, Seed: 8, Step: 1, PolicyVersion: 2,
				Params: data.GenParams{Temperature: 1, TopP: 1, MaxNewTokens: 8}}
			got, err := rp.Generator(2, flight.WeightsFunc(pol.Model, map[string]string{flight.MetaTokenizer: tokenizer.New().Spec()})).Generate(context.Background(), req)
			if err != nil {
				t.Fatalf("%v\n%s", err, w.stderr.String())
			}
			want, err := (&rollout.InProcess{Model: pol.Model, Codec: pol.Tokenizer, Renderer: plainRenderer{}}).Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].Completion != want[i].Completion || got[i].SampleIdx != want[i].SampleIdx || got[i].Mode != want[i].Mode ||
					len(got[i].Logprobs) != len(want[i].Logprobs) || got[i].PolicyVersion != 2 {
					t.Fatalf("row %d: %+v\nwant %+v", i, got[i], want[i])
				}
			}
			rp.Close()
			mem.AssertSize(t, 0)
			w.stop(t)
		})
	}
}

func TestWorkerProcessServesRewards(t *testing.T) {
	w := startWorker(t, "--role", "reward", "--listen", "127.0.0.1:0", "--reward", "math")
	rp, err := flight.NewRewardPool([]string{w.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	var rows []data.Rollout
	for i, c := range []string{"<answer>4</answer>", "<answer>5</answer>", "4", "nothing"} {
		rows = append(rows, data.Rollout{PromptID: 1, Dataset: "d", Prompt: "2+2=", Answer: "4", Meta: "{}", SampleIdx: int32(i),
			Completion: c, FinishReason: data.FinishStop, CompletionTokens: []int32{1}})
	}
	got, err := rp.Score(context.Background(), rows)
	if err != nil {
		t.Fatalf("%v\n%s", err, w.stderr.String())
	}
	scorer, err := reward.NewScorer(reward.Config{Spec: "math"})
	if err != nil {
		t.Fatal(err)
	}
	defer scorer.Close()
	want, _, err := scorer.ScoreRollouts(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i].Reward != want[i].Reward || got[i].RewardError != want[i].RewardError {
			t.Fatalf("row %d: reward %v (%q), want %v (%q)", i, got[i].Reward, got[i].RewardError, want[i].Reward, want[i].RewardError)
		}
	}
	w.stop(t)
}

func TestWorkerRejectsBadUsage(t *testing.T) {
	checkUsageErrors(t, []usageCase{
		{"an unknown role is a usage error", []string{"worker", "--role", "judge"}, "--role"},
		{"a reward worker needs a reward", []string{"worker", "--role", "reward"}, "--reward"},
		{"a rollout worker takes no reward spec", []string{"worker", "--role", "rollout", "--reward", "math"}, "--role reward only"},
	})
}

func TestWorkerWarnsWhenReachableWithoutTLS(t *testing.T) {
	cases := []struct {
		name, listen string
		warn         bool
	}{
		{"a worker on every interface warns", "0.0.0.0:0", true},
		{"a loopback worker does not warn", "127.0.0.1:0", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := startWorker(t, "--role", "reward", "--reward", "math", "--listen", tc.listen)
			// The warning is printed before the address line startWorker
			// waited for.
			log := w.stderr.String()
			w.stop(t)
			if got := strings.Contains(log, "warning") && strings.Contains(log, "TLS"); got != tc.warn {
				t.Fatalf("warning printed: %v, want %v:\n%s", got, tc.warn, log)
			}
		})
	}
}
