package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/reward"
)

// RunSFT runs `rlpipe sft`: supervised training of a fresh policy on
// cfg.Data.Train's worked solutions, saved as opts.OutDir/model.safetensors,
// then a greedy held-out evaluation in every configured mode (also written
// to opts.OutDir/eval.jsonl).
func RunSFT(ctx context.Context, cfg RunConfig, opts RunOptions) ([]EvalResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, opts: opts, mem: memory.NewGoAllocator(), log: opts.Stderr}
	if r.log == nil {
		r.log = io.Discard
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	r.modes, _ = cfg.modes()
	if err := r.loadData(ctx); err != nil {
		return nil, err
	}
	if err := r.buildScoring(); err != nil {
		return nil, err
	}
	defer r.close()
	r.gens = localGenerators(cfg.Data.Template)
	pol, err := r.sft(ctx, opts.OutDir, false)
	if err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(opts.OutDir, evalFile))
	if r.evals, err = openJSONL(filepath.Join(opts.OutDir, evalFile)); err != nil {
		return nil, err
	}
	return r.evaluatePolicy(ctx, pol, 0)
}

// EvalOptions configure EvaluateCheckpoint.
type EvalOptions struct {
	// Checkpoint is a policy checkpoint or run directory.
	Checkpoint string
	// Dataset is the held-out dataset spec; "" means the held-out split of
	// the checkpoint's data.train (TrainedOn), else "arithmetic:test".
	Dataset string
	// Difficulty of generated tasks; 0 means the checkpoint's
	// data.difficulty, else the task's default.
	Difficulty int
	// Seed is the run seed the checkpoint was trained with: the held-out
	// set of a generated task is drawn with Seed+1 and sampled evaluation
	// uses Seed, as in rlpipe run.
	Seed uint64
	// Modes are the rollout modes to evaluate (default trace).
	Modes  []uint8
	Config EvalConfig
	// MaxNewTokens bounds completions (default 96).
	MaxNewTokens int
	// DiffusionSteps and DiffusionBlockLen override a diffusion policy's
	// denoising steps and semi-autoregressive block length (0: the
	// policy.diffusion.gen defaults).
	DiffusionSteps, DiffusionBlockLen int
}

// withDefaultsFrom fills an empty Dataset and a zero Difficulty from what
// pol was trained on (the held-out split at the same difficulty, as the
// run's own evaluation), else Dataset "arithmetic:test".
func (o EvalOptions) withDefaultsFrom(pol *policyfile.Policy) EvalOptions {
	if t := pol.TrainedOn; t != nil {
		if o.Dataset == "" {
			o.Dataset = heldOutSpec(*t)
		}
		o.Difficulty = cmp.Or(o.Difficulty, t.Difficulty)
	}
	o.Dataset = cmp.Or(o.Dataset, "arithmetic:test")
	return o
}

// ResolveEvalDefaults returns o with the dataset and difficulty that
// EvaluateCheckpoint would pick for o.Checkpoint, so that a baseline can be
// evaluated on exactly the same problems.
func ResolveEvalDefaults(o EvalOptions) (EvalOptions, error) {
	pol, err := policyfile.Load(o.Checkpoint)
	if err != nil {
		return o, err
	}
	return o.withDefaultsFrom(pol), nil
}

// EvaluateCheckpoint loads a policy and evaluates it on a held-out dataset:
// greedy pass@1 and, with Config.Samples = K > 0, sampled pass@1 and pass@K,
// each with standard errors over problems.
func EvaluateCheckpoint(ctx context.Context, o EvalOptions) ([]EvalResult, error) {
	if o.DiffusionSteps < 0 || o.DiffusionBlockLen < 0 {
		return nil, fmt.Errorf("%w: diffusion steps %d and block length %d must be >= 0", ErrConfig, o.DiffusionSteps, o.DiffusionBlockLen)
	}
	pol, err := policyfile.Load(o.Checkpoint)
	if err != nil {
		return nil, err
	}
	o = o.withDefaultsFrom(pol)
	if m, ok := pol.Model.(policy.DiffusionSampler); ok {
		d := pol.DiffusionSettings()
		if o.DiffusionSteps > 0 {
			d.Gen.Steps = o.DiffusionSteps
		}
		if o.DiffusionBlockLen > 0 {
			d.Gen.BlockLen = o.DiffusionBlockLen
		}
		if err := m.SetGenConfig(d.Gen); err != nil {
			return nil, err
		}
		o.MaxNewTokens = cmp.Or(o.MaxNewTokens, d.Canvas)
	}
	o.MaxNewTokens = cmp.Or(o.MaxNewTokens, 96)
	if len(o.Modes) == 0 {
		o.Modes = []uint8{0}
	}
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	// A generated held-out set is drawn with seed+1, as rlpipe run draws
	// its own: eval of a run's checkpoint sees the run's problems.
	prompts, err := data.ReadSpec(ctx, o.Dataset, dataOptions(o.Config.N, o.Seed+1, o.Difficulty)...)
	if err != nil {
		return nil, err
	}
	if len(prompts) > o.Config.N {
		prompts = prompts[:o.Config.N]
	}
	verifier, err := reward.NewScorer(reward.Config{Spec: o.Config.Verifier, OnError: reward.OnErrorZero, MaxErrorRate: 1})
	if err != nil {
		return nil, err
	}
	defer verifier.Close()
	gens := localGenerators(DefaultRunConfig().Data.Template)
	ev := &Evaluator{Generator: gens.inProcess(pol, pol.Model), Verifier: verifier, Prompts: prompts, Config: o.Config,
		MaxTokens: o.MaxNewTokens, Seed: o.Seed}
	var out []EvalResult
	for _, mode := range o.Modes {
		res, err := ev.Run(ctx, 0, mode)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

// heldOutSpec returns the held-out dataset spec matching t.Train: the test
// split of a generated task or built-in dataset, "" for files.
func heldOutSpec(t policyfile.TrainedOn) string {
	name, _, _ := cutSpec(t.Train)
	if slices.Contains(data.TaskNames(), name) || slices.Contains(data.BuiltinNames(), name) {
		return name + ":test"
	}
	return ""
}
