package pipeline

// Tests that prove a key of `rlpipe config default` changes what the
// pipeline does, for keys no other test observes through the pipeline's own
// wiring. Each builds the component the run builds from the configuration
// (with newRunner, loadData, sft or learnStep, not by hand) at the key's
// base value and at another one, and asserts an observable difference:
// prompts, weights, metrics or completions. The table of
// cmd/rlpipe/app.TestEveryConfigKeyHasABehaviourTest points here.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout"
)

func init() {
	// The parity verifier passes completions of odd length: unlike math on
	// an untrained policy (always 0), its outcomes change with every
	// sample, so evaluation settings show in the accuracies.
	reward.Register("pipeline-test-parity", reward.Static(reward.RowFunc(func(_ context.Context, r reward.Row) (float64, error) {
		return float64(len(r.Completion) % 2), nil
	})))
}

// keyCase moves one key off the base configuration.
type keyCase struct {
	key    string
	mutate func(*RunConfig)
}

// forEachKey runs observe on base and on each case's configuration and
// fails the cases whose observation equals the base's.
func forEachKey[T any](t *testing.T, base RunConfig, cases []keyCase, observe func(*testing.T, RunConfig) T) {
	t.Helper()
	want := observe(t, base)
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			cfg := base
			cfg.Rollout.Modes = slices.Clone(base.Rollout.Modes) // a case may append to it
			c.mutate(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(observe(t, cfg))
			if err != nil {
				t.Fatal(err)
			}
			w, _ := json.Marshal(want)
			if string(got) == string(w) {
				t.Errorf("%s moved off its base value, but nothing observable changed:\n%.300s…", c.key, got)
			}
		})
	}
}

// initConfig is smallRunConfig for a policy of kind, starting from a
// freshly initialised policy (see withInit).
func initConfig(t *testing.T, kind string) RunConfig {
	t.Helper()
	cfg := smallRunConfig()
	cfg.Policy.Kind = kind
	if kind == policy.KindDiffusion {
		cfg.Algorithm.Name = learn.NameGDPO
		if err := cfg.ApplyPreset(); err != nil {
			t.Fatal(err)
		}
		cfg.Policy.Diffusion.Canvas = 16
		cfg.Policy.Diffusion.Gen.Steps, cfg.Policy.Diffusion.Gen.BlockLen = 4, 16
	}
	return withInit(t, cfg)
}

// withInit sets policy.init to a freshly initialised policy of cfg's kind
// and model saved in a temporary directory, so that building a runner or
// running costs no SFT, and evaluates on 4 problems.
func withInit(t *testing.T, cfg RunConfig) RunConfig {
	t.Helper()
	pol, err := policyfile.New(cfg.Policy.Kind, cfg.Policy.Model)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policy.Init = t.TempDir()
	if err := pol.Save(cfg.Policy.Init); err != nil {
		t.Fatal(err)
	}
	cfg.Eval.N = 4
	return cfg
}

// startRunner builds the runner Run builds from cfg: data, rewards, policy,
// learner and sampler.
func startRunner(t *testing.T, cfg RunConfig) *runner {
	t.Helper()
	r, err := newRunner(context.Background(), cfg, RunOptions{OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

// weights returns every parameter of m in order.
func weights(m policy.Trainable) []float32 {
	var out []float32
	for _, p := range m.Params() {
		out = append(out, p.Value...)
	}
	return out
}

// The data keys (and seed and eval.n) decide which training and held-out
// prompts loadData reads.
func TestDataKeysChangeThePrompts(t *testing.T) {
	// A file dataset whose rows offer alternatives to every default field.
	file := filepath.Join(t.TempDir(), "rows.jsonl")
	var rows []byte
	for i := range 6 {
		rows = fmt.Appendf(rows, `{"prompt":"p%d","question":"q%d","answer":"%d","solution":"%d","key":"k%d"}`+"\n", i, i, i, 10+i, i)
	}
	if err := os.WriteFile(file, rows, 0o644); err != nil {
		t.Fatal(err)
	}
	observe := func(t *testing.T, cfg RunConfig) [2][]data.Prompt {
		r := &runner{cfg: cfg, log: io.Discard}
		if err := r.loadData(context.Background()); err != nil {
			t.Fatal(err)
		}
		return [2][]data.Prompt{r.train, r.evaluator.Prompts}
	}
	forEachKey(t, smallRunConfig(), []keyCase{
		{"seed", func(c *RunConfig) { c.Seed = 2 }},
		{"data.train", func(c *RunConfig) { c.Data.Train = "countdown" }},
		{"data.eval", func(c *RunConfig) { c.Data.Eval = "countdown:test" }},
		{"data.train_size", func(c *RunConfig) { c.Data.TrainSize = 4 }},
		{"data.difficulty", func(c *RunConfig) { c.Data.Difficulty = 3 }},
		{"eval.n", func(c *RunConfig) { c.Eval.N = 3 }},
	}, observe)
	fileCfg := smallRunConfig()
	fileCfg.Data.Train, fileCfg.Data.Eval = file, file
	forEachKey(t, fileCfg, []keyCase{
		{"data.fields.prompt", func(c *RunConfig) { c.Data.Fields.Prompt = "question" }},
		{"data.fields.answer", func(c *RunConfig) { c.Data.Fields.Answer = "solution" }},
		{"data.fields.id", func(c *RunConfig) { c.Data.Fields.ID = "key" }},
	}, observe)
}

// The sft keys (and the template and seed the warm start renders and
// shuffles with) change the weights the SFT warm start trains.
func TestSFTKeysChangeTheTrainedWeights(t *testing.T) {
	base := smallRunConfig()
	base.SFT.Steps, base.SFT.BatchSize, base.SFT.Examples = 3, 4, 40
	base.Policy.Model.Context = 256 // room for the chat template's system prompt
	forEachKey(t, base, []keyCase{
		{"seed", func(c *RunConfig) { c.Seed = 2 }},
		{"data.template", func(c *RunConfig) { c.Data.Template = data.TemplateChat }},
		{"sft.steps", func(c *RunConfig) { c.SFT.Steps = 2 }},
		{"sft.batch_size", func(c *RunConfig) { c.SFT.BatchSize = 2 }},
		{"sft.lr", func(c *RunConfig) { c.SFT.LR = 0.01 }},
		{"sft.warmup_steps", func(c *RunConfig) { c.SFT.WarmupSteps = 0 }},
		{"sft.weight_decay", func(c *RunConfig) { c.SFT.WeightDecay = 0.5 }},
		// A bound far below any gradient's norm clips every step.
		{"sft.clip_norm", func(c *RunConfig) { c.SFT.ClipNorm = 1e-6 }},
		{"sft.empty_trace_share", func(c *RunConfig) { c.SFT.EmptyTraceShare = 0 }},
		{"sft.examples", func(c *RunConfig) { c.SFT.Examples = 20 }},
	}, func(t *testing.T, cfg RunConfig) []float32 {
		r := &runner{cfg: cfg, log: io.Discard}
		pol, err := r.sft(context.Background(), t.TempDir(), false)
		if err != nil {
			t.Fatal(err)
		}
		return weights(pol.Model)
	})
}

// learnerRows are one step's scored rollouts of the initial policy for
// two prompts, with varied rewards, so that advantages are non-zero; every
// other row's behaviour log-probs are 1.5 nats below the policy's, so that
// its ratio e^1.5 ≈ 4.5 meets every clip (ε_high for A > 0, the dual clip
// c = 3 for A < 0) while the other rows keep a gradient.
func learnerRows(t *testing.T, cfg RunConfig) []data.Scored {
	t.Helper()
	r := startRunner(t, cfg)
	req := rollout.Request{Prompts: r.train[:2], G: 4, Modes: r.modes, Seed: r.cfg.Seed, Params: r.genParams()}
	rows, err := r.generator(r.ts.pol.Model, 0).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	scored, err := r.scoring.score(context.Background(), rows)
	if err != nil {
		t.Fatal(err)
	}
	for i := range scored {
		scored[i].Reward = float64(i*5%4) / 3
		for j := range scored[i].Logprobs {
			scored[i].Logprobs[j] -= 1.5 * float32(i%2)
		}
	}
	return scored
}

// The algorithm.advantage keys change the advantages learnStep computes
// (reported in metrics.jsonl and exported with the train batches).
// Scaling every group's advantages alike would leave Adam's update nearly
// unchanged, so the weights are not the observation here.
func TestAdvantageKeysChangeTheAdvantages(t *testing.T) {
	base := initConfig(t, policy.KindAR)
	rows := learnerRows(t, base)
	forEachKey(t, base, []keyCase{
		{"algorithm.advantage.std", func(c *RunConfig) { c.Algorithm.Advantage.Std = objective.StdNone }},
		{"algorithm.advantage.eps", func(c *RunConfig) { c.Algorithm.Advantage.Eps = 0.5 }},
		{"algorithm.advantage.biased", func(c *RunConfig) { c.Algorithm.Advantage.Biased = true }},
	}, func(t *testing.T, cfg RunConfig) [3]float64 {
		m, _ := learnOn(t, cfg, rows)
		return [3]float64{m.AdvMean, m.AdvStd, m.AdvAbsMax}
	})
}

// The loss, epochs, mini-batch, optimizer and rollout.temperature keys
// change the weights learnStep leaves after updating on the same scored
// rollouts.
func TestLearnerKeysChangeTheUpdate(t *testing.T) {
	base := initConfig(t, policy.KindAR)
	rows := learnerRows(t, base)
	forEachKey(t, base, []keyCase{
		{"algorithm.loss.dual_clip", func(c *RunConfig) { c.Algorithm.Loss.DualClip = 0 }},
		{"algorithm.loss.agg", func(c *RunConfig) { c.Algorithm.Loss.Agg = objective.AggSeqMeanTokenSum }},
		{"algorithm.epochs", func(c *RunConfig) { c.Algorithm.Epochs = 2 }},
		{"algorithm.mini_batches", func(c *RunConfig) { c.Algorithm.MiniBatches = 2 }},
		// The training forward runs at the sampling temperature.
		{"rollout.temperature", func(c *RunConfig) { c.Rollout.Temperature = 0.7 }},
		{"train.lr", func(c *RunConfig) { c.Train.LR = 1e-3 }},
		{"train.weight_decay", func(c *RunConfig) { c.Train.WeightDecay = 0.1 }},
		// A bound far below the gradient's norm shrinks Adam's first step
		// (its ε no longer negligible).
		{"train.clip_norm", func(c *RunConfig) { c.Train.ClipNorm = 1e-6 }},
		{"train.warmup_steps", func(c *RunConfig) { c.Train.WarmupSteps = 0 }},
	}, func(t *testing.T, cfg RunConfig) []float32 {
		_, w := learnOn(t, cfg, rows)
		return w
	})
}

// learnOn builds the runner of cfg, applies learnStep to a copy of rows and
// returns the step's metrics and the weights it leaves.
func learnOn(t *testing.T, cfg RunConfig, rows []data.Scored) (*StepMetrics, []float32) {
	r := startRunner(t, cfg)
	in := make([]data.Scored, len(rows))
	for i, row := range rows {
		in[i] = row
		in[i].Logprobs = slices.Clone(row.Logprobs)
	}
	// Step 1: at step 0 the default warmup's learning rate is 0.
	m, err := r.learnStep(context.Background(), 1, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, weights(r.ts.pol.Model)
}

// The rollout sampling keys (and the prompt template) change the
// completions generated with the runner's generator and parameters.
func TestRolloutKeysChangeTheCompletions(t *testing.T) {
	base := smallRunConfig()
	base.Policy.Model.Context = 256 // room for the chat template's system prompt
	forEachKey(t, withInit(t, base), []keyCase{
		{"rollout.temperature", func(c *RunConfig) { c.Rollout.Temperature = 0.3 }},
		{"rollout.top_p", func(c *RunConfig) { c.Rollout.TopP = 0.5 }},
		{"rollout.top_k", func(c *RunConfig) { c.Rollout.TopK = 3 }},
		{"rollout.max_new_tokens", func(c *RunConfig) { c.Rollout.MaxNewTokens = 4 }},
		{"data.template", func(c *RunConfig) { c.Data.Template = data.TemplateChat }},
	}, generated)
}

// generated returns the prompt and completion tokens the runner of cfg
// generates for its first three prompts, as its rollout stage would.
func generated(t *testing.T, cfg RunConfig) [][2][]int32 {
	r := startRunner(t, cfg)
	req := rollout.Request{Prompts: r.train[:3], G: 2, Modes: r.modes, Seed: r.cfg.Seed, Params: r.genParams()}
	rows, err := r.generator(r.ts.pol.Model, 0).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][2][]int32, len(rows))
	for i, row := range rows {
		out[i] = [2][]int32{row.PromptTokens, row.CompletionTokens}
	}
	return out
}

// The policy.diffusion keys change what a diffusion policy generates: the
// canvas is its budget, gen its unmasking schedule.
func TestDiffusionKeysChangeTheCompletions(t *testing.T) {
	forEachKey(t, initConfig(t, policy.KindDiffusion), []keyCase{
		{"policy.diffusion.canvas", func(c *RunConfig) { c.Policy.Diffusion.Canvas = 8 }},
		{"policy.diffusion.gen.steps", func(c *RunConfig) { c.Policy.Diffusion.Gen.Steps = 16 }},
		{"policy.diffusion.gen.block_len", func(c *RunConfig) { c.Policy.Diffusion.Gen.BlockLen = 4 }},
		{"policy.diffusion.gen.remask", func(c *RunConfig) { c.Policy.Diffusion.Gen.Remask = "random" }},
	}, generated)
}

// eval.temperature is the temperature of sampled evaluation and
// eval.verifier decides what counts as correct.
func TestEvalKeysChangeTheEvaluation(t *testing.T) {
	base := initConfig(t, policy.KindAR)
	base.Eval.Samples, base.Eval.Verifier = 4, "pipeline-test-parity"
	forEachKey(t, base, []keyCase{
		{"eval.temperature", func(c *RunConfig) { c.Eval.Temperature = 0.3 }},
		{"eval.verifier", func(c *RunConfig) { c.Eval.Verifier = "math" }},
	}, func(t *testing.T, cfg RunConfig) [2][]float64 {
		r := startRunner(t, cfg)
		r.evaluator.Generator = r.gens.inProcess(r.ts.pol, r.ts.pol.Model)
		res, err := r.evaluator.Run(context.Background(), 0, data.ModeTrace)
		if err != nil {
			t.Fatal(err)
		}
		return [2][]float64{res.PerProblem, res.SampledPerProblem}
	})
}

// policy.init replaces the SFT warm start: the run starts from the saved
// weights and trains no SFT policy; without it, the run does.
func TestPolicyInitStartsFromTheCheckpoint(t *testing.T) {
	cfg := initConfig(t, policy.KindAR)
	saved, err := policyfile.Load(cfg.Policy.Init)
	if err != nil {
		t.Fatal(err)
	}
	r := startRunner(t, cfg)
	if !slices.Equal(weights(r.ts.pol.Model), weights(saved.Model)) {
		t.Error("with policy.init the run does not start from the saved weights")
	}
	if _, err := os.Stat(filepath.Join(r.opts.OutDir, "sft")); !os.IsNotExist(err) {
		t.Errorf("with policy.init the run still trained an SFT policy (stat: %v)", err)
	}
	cfg.Policy.Init, cfg.SFT.Steps = "", 2
	r = startRunner(t, cfg)
	if _, err := os.Stat(filepath.Join(r.opts.OutDir, "sft", policyfile.ModelFile)); err != nil {
		t.Errorf("without policy.init no SFT policy was trained: %v", err)
	}
}

// rollout.workers splits each step's prompts into that many concurrent
// generation calls (results stay in prompt order).
func TestRolloutWorkersSplitTheGeneration(t *testing.T) {
	sp := stepPrompts{Step: 3, Prompts: smallPrompts(5)}
	for _, workers := range []int{1, 2, 4} {
		g := &countingGenerator{}
		rows, err := generateParallel(context.Background(), g, rollout.Request{G: 1}, sp, 0, workers)
		if err != nil {
			t.Fatal(err)
		}
		if g.calls != workers {
			t.Errorf("rollout.workers %d: %d generation calls", workers, g.calls)
		}
		for i, row := range rows {
			if row.PromptID != sp.Prompts[i].ID {
				t.Fatalf("rollout.workers %d: row %d is prompt %d, want %d", workers, i, row.PromptID, sp.Prompts[i].ID)
			}
		}
	}
}

func smallPrompts(n int) []data.Prompt {
	out := make([]data.Prompt, n)
	for i := range out {
		out[i] = data.Prompt{ID: uint64(100 + i), Prompt: fmt.Sprint(i)}
	}
	return out
}

// countingGenerator returns one row per prompt and counts its calls.
type countingGenerator struct {
	mu    sync.Mutex
	calls int
}

func (g *countingGenerator) Generate(_ context.Context, req rollout.Request) ([]data.Rollout, error) {
	rows := make([]data.Rollout, len(req.Prompts))
	for i, p := range req.Prompts {
		rows[i] = data.Rollout{PromptID: p.ID}
	}
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	return rows, nil
}
