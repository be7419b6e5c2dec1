package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// loadData reads the training prompts and the held-out prompts.
func (r *runner) loadData(ctx context.Context) error {
	c := r.cfg.Data
	opts := append(dataOptions(c.TrainSize, r.cfg.Seed, c.Difficulty), data.WithFields(c.Fields))
	train, err := data.ReadSpec(ctx, splitSpec(c.Train, "train"), opts...)
	if err != nil {
		return err
	}
	if len(train) > c.TrainSize {
		train = train[:c.TrainSize]
	}
	if len(train) == 0 {
		return fmt.Errorf("%w: data.train %q has no rows", ErrConfig, c.Train)
	}
	evalSpec := c.Eval
	if evalSpec == "" {
		evalSpec = splitSpec(c.Train, "test")
	}
	if evalSpec == splitSpec(c.Train, "train") {
		fmt.Fprintf(r.log, "warning: the held-out prompts are data.train's own (%s): its accuracy is not held out; set data.eval to a separate split or file\n", evalSpec)
	}
	evalOpts := append(dataOptions(r.cfg.Eval.N, r.cfg.Seed+1, c.Difficulty), data.WithFields(c.Fields))
	held, err := data.ReadSpec(ctx, evalSpec, evalOpts...)
	if err != nil {
		return err
	}
	if len(held) > r.cfg.Eval.N {
		held = held[:r.cfg.Eval.N]
	}
	r.train = train
	r.evaluator = &Evaluator{Prompts: held, Config: r.cfg.Eval, MaxTokens: r.cfg.maxNewTokens(), Seed: r.cfg.Seed}
	return nil
}

// splitSpec appends a split to a built-in or generated dataset name that has
// none; file paths are returned unchanged.
func splitSpec(spec, split string) string {
	if filepath.Ext(spec) != "" || containsAny(spec, "/:") {
		return spec
	}
	return spec + ":" + split
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}

func dataOptions(n int, seed uint64, difficulty int) []data.Option {
	opts := []data.Option{data.WithN(n), data.WithSeed(seed)}
	if difficulty > 0 {
		opts = append(opts, data.WithDifficulty(difficulty))
	}
	return opts
}

// freshStart builds the policy (from --init or by SFT), the optimizer and
// the sampler, and clears the run directory's logs.
func (r *runner) freshStart(ctx context.Context) error {
	pol, err := r.initialPolicy(ctx)
	if err != nil {
		return err
	}
	if err := r.configurePolicy(pol); err != nil {
		return err
	}
	// The reference of a fresh start is a copy of the policy it starts from.
	if r.ts, err = newTrainState(r.cfg, pol, nil, r.train); err != nil {
		return err
	}
	for _, name := range []string{metricsFile, evalFile} {
		os.Remove(filepath.Join(r.opts.OutDir, name))
	}
	r.fresh = true
	return nil
}

func (r *runner) initialPolicy(ctx context.Context) (*policyfile.Policy, error) {
	if r.cfg.Policy.Init != "" {
		return policyfile.Load(r.cfg.Policy.Init)
	}
	return r.sft(ctx, filepath.Join(r.opts.OutDir, "sft"), true)
}

// sftEval is sft.eval_every's evaluation of the policy being trained
// (both callers of sft load the data and rewards first, so the evaluator
// is ready): greedy only (sampled evaluation would cost eval.samples times more), in
// every configured mode, on the held-out prompts of the final evaluation.
// It goes to the log; eval.jsonl keeps the evaluations of the policy that
// is saved.
func (r *runner) sftEval(ctx context.Context, pol *policyfile.Policy, step int) error {
	e := *r.evaluator
	e.Config.Samples = 0
	e.Generator = r.gens.inProcess(pol, pol.Model)
	for _, mode := range r.modes {
		res, err := e.Run(ctx, int64(step), mode)
		if err != nil {
			return fmt.Errorf("pipeline: sft eval at step %d: %w", step, err)
		}
		fmt.Fprintf(r.log, "sft eval step %d (%s): greedy accuracy %.1f%% ± %.1f (n=%d)\n", step, res.Mode, 100*res.Accuracy, 100*res.Stderr, res.N)
	}
	return nil
}

func cutSpec(spec string) (name, split string, ok bool) {
	for i := 0; i < len(spec); i++ {
		if spec[i] == ':' {
			return spec[:i], spec[i+1:], true
		}
	}
	return spec, "", false
}

// configurePolicy checks that pol is of the configured kind and applies the
// diffusion generation settings.
func (r *runner) configurePolicy(pol *policyfile.Policy) error {
	if pol.Kind() != r.cfg.Policy.Kind {
		return fmt.Errorf("%w: policy.kind is %q but the policy loaded is %q", ErrConfig, r.cfg.Policy.Kind, pol.Kind())
	}
	pol.TrainedOn = &policyfile.TrainedOn{Train: r.cfg.Data.Train, Difficulty: r.cfg.Data.Difficulty}
	if m, ok := pol.Model.(policy.DiffusionSampler); ok {
		d := r.cfg.Policy.Diffusion
		if pol.Diffusion != nil && pol.Diffusion.Canvas != d.Canvas {
			// An explicit override of the saved canvas: allowed, but the
			// policy will generate and be scored on a canvas it never saw.
			fmt.Fprintf(r.log, "warning: policy.diffusion.canvas is %d but the policy loaded was trained on a %d-token canvas\n", d.Canvas, pol.Diffusion.Canvas)
		}
		pol.Diffusion = &d
		return m.SetGenConfig(d.Gen)
	}
	return nil
}

// generator returns the generator of the weights snapshot model of a
// policy version (generators.forVersion with the run's policy).
func (r *runner) generator(model policy.Trainable, version int64) generator {
	return r.gens.forVersion(r.ts.pol, model, version)
}

func (r *runner) genParams() data.GenParams {
	rc := r.cfg.Rollout
	return data.GenParams{Temperature: rc.Temperature, TopP: rc.TopP, TopK: rc.TopK, MaxNewTokens: r.cfg.maxNewTokens()}
}
