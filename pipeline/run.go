package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/stage"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/rollout"
)

// ErrInterrupted is returned by Run when it stopped on request after writing
// a clean checkpoint; its ExitCode is 130.
var ErrInterrupted = interruptedError{}

type interruptedError struct{}

func (interruptedError) Error() string {
	return "interrupted; the run was checkpointed and can be resumed with --resume"
}

// ExitCode is the process exit status for an interrupted run.
func (interruptedError) ExitCode() int { return 130 }

// RunOptions are the per-invocation settings of Run that are not part of the
// run's configuration.
type RunOptions struct {
	// OutDir is the run directory (created when missing).
	OutDir string
	// Resume continues from the newest complete checkpoint in OutDir.
	Resume bool
	// PreviousGood lets Resume fall back past corrupt checkpoints.
	PreviousGood bool
	// Stderr receives progress and log lines (nil: discarded).
	Stderr io.Writer
	// Interrupt, when closed, makes Run finish the current step (an RL step,
	// a VAS refresh chunk or an SFT warm-start step), checkpoint and return
	// ErrInterrupted.
	Interrupt <-chan struct{}
	// Allocator backs every Arrow record of the run (nil: Go allocator).
	Allocator memory.Allocator
	// WriteConfig, when set, is called with OutDir once the configuration
	// has been accepted (after a resume's checks), to record it.
	WriteConfig func(dir string) error
}

// RunResult summarises a finished run.
type RunResult struct {
	Steps  int64
	Before []EvalResult
	After  []EvalResult
}

// runner is one run: its configuration and run directory, the parts that
// own their state (rollout backends, rewards, the checkpointed train
// state), the data and evaluator, and the logs.
type runner struct {
	cfg        RunConfig
	opts       RunOptions
	mem        memory.Allocator
	log        io.Writer
	configHash string

	gens    *generators // rollout backends
	scoring *scoring    // reward and verifier
	ts      *trainState // what checkpoints hold; nil until freshStart or restore

	train     []data.Prompt
	modes     []uint8
	evaluator *Evaluator

	metrics, evals *jsonlFile
	progress       *progress
	fresh          bool       // the train state was built by freshStart, not restored
	clock          *stepClock // per-step timings of the running loop
	vasRefresh     refreshRun // VAS full refreshes (refresh.go)
}

// Run executes the RL job described by cfg in opts.OutDir: warm start (SFT
// or --init), held-out evaluation, the concurrent GRPO loop with
// checkpoints, and the final evaluation.
func Run(ctx context.Context, cfg RunConfig, opts RunOptions) (*RunResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.validateAlgorithm(); err != nil {
		return nil, err
	}
	r, err := newRunner(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := &RunResult{}
	// A resume at step 0 (from a checkpoint written during the initial VAS
	// refresh) already has the starting evaluation in eval.jsonl; a resumed
	// SFT warm start has not reached it.
	if r.ts.step == 0 && r.fresh {
		before, err := r.evaluate(ctx, 0)
		if err != nil {
			return nil, err
		}
		res.Before = before
		if r.cfg.Policy.Init == "" && interruptRequested(opts.Interrupt) {
			// Interrupted after the SFT warm start: its last checkpoint is
			// on disk, from which --resume redoes this evaluation.
			return res, ErrInterrupted
		}
	} else {
		res.Before = r.firstEvals()
	}
	if err := r.loop(ctx); err != nil {
		return res, err
	}
	res.Steps = int64(cfg.Train.Steps)
	after, err := r.lastEvals(ctx)
	if err != nil {
		return res, err
	}
	res.After = after
	r.summary(res)
	return res, nil
}

func newRunner(ctx context.Context, cfg RunConfig, opts RunOptions) (*runner, error) {
	r := &runner{cfg: cfg, opts: opts, mem: opts.Allocator, log: opts.Stderr}
	if r.mem == nil {
		r.mem = memory.NewGoAllocator()
	}
	if r.log == nil {
		r.log = io.Discard
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	r.modes, _ = cfg.modes()
	hash, err := configHash(cfg)
	if err != nil {
		return nil, err
	}
	r.configHash = hash
	if err := r.loadData(ctx); err != nil {
		return nil, err
	}
	if err := r.buildScoring(); err != nil {
		return nil, err
	}
	if r.gens, err = newGenerators(cfg, r.mem); err != nil {
		r.close()
		return nil, err
	}
	if err := r.scoring.connect(cfg, r.mem); err != nil {
		r.close()
		return nil, err
	}
	if err := r.start(ctx); err != nil {
		r.close()
		return nil, err
	}
	if err := r.openLogs(); err != nil {
		r.close()
		return nil, err
	}
	if opts.WriteConfig != nil {
		if err := opts.WriteConfig(opts.OutDir); err != nil {
			r.close()
			return nil, err
		}
	}
	return r, nil
}

// start builds the train state: from the newest RL checkpoint on
// --resume, else by a fresh start, which on --resume continues the SFT warm
// start from its newest checkpoint when the run has no RL checkpoint yet.
func (r *runner) start(ctx context.Context) error {
	if r.opts.Resume {
		sft, err := r.resumesSFT()
		if err != nil {
			return err
		}
		if !sft {
			return r.restore()
		}
	}
	return r.freshStart(ctx)
}

// buildScoring builds the run's rewards and hands the verifier to the
// evaluator (loadData builds it first).
func (r *runner) buildScoring() error {
	sc, err := newScoring(r.cfg)
	if err != nil {
		return err
	}
	r.scoring = sc
	r.evaluator.Verifier = sc.verifier
	return nil
}

func (r *runner) close() {
	if r.gens != nil {
		r.gens.close()
	}
	if r.scoring != nil {
		r.scoring.close()
	}
	if r.metrics != nil {
		r.metrics.Close()
	}
	if r.evals != nil {
		r.evals.Close()
	}
}

// evaluate runs the held-out evaluation in every rollout mode and appends
// the rows to eval.jsonl.
func (r *runner) evaluate(ctx context.Context, step int64) ([]EvalResult, error) {
	return r.evaluatePolicy(ctx, r.ts.pol, step)
}

// evaluatePolicy is evaluate of pol.
func (r *runner) evaluatePolicy(ctx context.Context, pol *policyfile.Policy, step int64) ([]EvalResult, error) {
	r.evaluator.Generator = r.gens.inProcess(pol, pol.Model)
	var out []EvalResult
	for _, mode := range r.modes {
		res, err := r.evaluator.Run(ctx, step, mode)
		if err != nil {
			return nil, fmt.Errorf("pipeline: eval at step %d: %w", step, err)
		}
		if err := r.evals.Write(res); err != nil {
			return nil, err
		}
		fmt.Fprintf(r.log, "eval step %d (%s): accuracy %.3f ± %.3f (n=%d)\n", step, res.Mode, res.Accuracy, res.Stderr, res.N)
		out = append(out, res)
	}
	return out, nil
}

// loop runs the concurrent stages from r.ts.step to the step budget.
func (r *runner) loop(ctx context.Context) error {
	steps := int64(r.cfg.Train.Steps)
	if r.ts.step >= steps {
		return nil
	}
	st := int64(r.cfg.Train.MaxStaleness)
	versions := newVersionStore()
	versions.publish(r.ts.step, r.ts.pol.Model.Clone())
	if st > 0 && r.ts.step > 0 {
		if r.ts.behaviour == nil {
			return fmt.Errorf("pipeline: resuming with max_staleness %d needs the checkpoint's %s", st, behaviourFile)
		}
		versions.publish(r.ts.step-1, r.ts.behaviour)
	}
	picks := make(chan stepPrompts, st+2)
	for s := r.ts.step; s <= r.ts.step+st && s < steps; s++ {
		if err := r.refreshIfDue(ctx, s, r.ts.step, versions); err != nil {
			return err
		}
		sp, err := r.ts.pick(s, r.cfg.Train.PromptsPerStep, r.train)
		if err != nil {
			return err
		}
		picks <- sp
	}
	base := rollout.Request{G: r.cfg.Rollout.G, Modes: r.modes, Seed: r.cfg.Seed, Params: r.genParams()}
	g := stage.NewGraph(stage.WithCapacity(1))
	r.clock = newStepClock(g)
	rolled := stage.AddStage(g, "rollout", stage.Inlet(g, "sampler", picks), rolloutStage(r.mem, r.generator, versions, st, r.cfg.Rollout.Workers, base))
	scored := stage.AddStage(g, "reward", rolled, rewardStage(r.mem, r.scoring.score))
	var refill *refillLoop
	if r.cfg.Sampling.Filter.ZeroVariance {
		refill = addRefillLoop(g, rolloutStage(r.mem, r.generator, versions, st, r.cfg.Rollout.Workers, base), rewardStage(r.mem, r.scoring.score))
	}
	stage.AddSink(g, "learner", scored, func(ctx context.Context, in <-chan stepRecord) error {
		defer versions.close()
		defer refill.close()
		return r.learnStage(ctx, in, picks, versions, refill)
	})
	err := g.Run(ctx)
	if errors.Is(err, ErrInterrupted) {
		return ErrInterrupted
	}
	return err
}
