package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/flight"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/sampling"
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
	// Interrupt, when closed, makes Run finish the current step, checkpoint
	// and return ErrInterrupted.
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

// runner holds the state of one run.
type runner struct {
	cfg     RunConfig
	opts    RunOptions
	mem     memory.Allocator
	log     io.Writer
	pol     *Policy
	ref     Model
	learn   *learner
	updater updater         // the algorithm's update (learn itself for the GRPO family)
	remote  *rollout.OpenAI // rollouts from an OpenAI-compatible server (rollout.kind openai)
	// Flight workers (distributed.*) and the rollout generators per version.
	flightRollouts *flight.RolloutPool
	flightRewards  *flight.RewardPool
	flightGens     map[int64]*flight.Generator
	flightMu       sync.Mutex
	sampler        sampling.Sampler
	scorer         *reward.Scorer
	verifier       reward.Func
	train          []data.Prompt
	modes          []uint8
	evaluator      *Evaluator
	metrics        *jsonlFile
	evals          *jsonlFile
	start          int64
	pending        map[int64]pendingPick // picks sent to rollout but not yet learned, by step
	behaviour      Model                 // version start−1 weights when resuming with staleness 1
	configHash     string
	progress       *progress
	graph          *Graph       // the running stage graph, for per-stage statistics
	lastStats      []StageStats // stage statistics at the end of the previous step
	lastStepEnd    time.Time
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
	if r.start == 0 {
		before, err := r.evaluate(ctx, 0)
		if err != nil {
			return nil, err
		}
		res.Before = before
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
	r := &runner{cfg: cfg, opts: opts, mem: opts.Allocator, log: opts.Stderr, pending: map[int64]pendingPick{}}
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
	if err := r.buildRewards(); err != nil {
		return nil, err
	}
	if cfg.Rollout.Kind == RolloutOpenAI {
		remote, err := rollout.NewOpenAI(cfg.Rollout.OpenAI, tokenizer.New())
		if err != nil {
			r.close()
			return nil, err
		}
		r.remote = remote
	}
	if err := r.connectWorkers(); err != nil {
		r.close()
		return nil, err
	}
	if opts.Resume {
		if err := r.restore(); err != nil {
			r.close()
			return nil, err
		}
	} else if err := r.freshStart(ctx); err != nil {
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

func (r *runner) close() {
	if r.remote != nil {
		r.remote.Close()
	}
	if r.flightRollouts != nil {
		r.flightRollouts.Close()
	}
	if r.flightRewards != nil {
		r.flightRewards.Close()
	}
	if r.scorer != nil {
		r.scorer.Close()
	}
	if r.metrics != nil {
		r.metrics.Close()
	}
	if r.evals != nil {
		r.evals.Close()
	}
}

func (r *runner) loadData(ctx context.Context) error {
	c := r.cfg.Data
	opts := append(dataOptions(c.TrainSize, r.cfg.Seed, c.Difficulty), data.WithFields(c.Fields))
	train, err := readSpec(ctx, splitSpec(c.Train, "train"), opts...)
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
	evalOpts := append(dataOptions(r.cfg.Eval.N, r.cfg.Seed+1, c.Difficulty), data.WithFields(c.Fields))
	held, err := readSpec(ctx, evalSpec, evalOpts...)
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

func readSpec(ctx context.Context, spec string, opts ...data.Option) ([]data.Prompt, error) {
	rd, err := data.OpenSpec(spec, opts...)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return rd.ReadAll(ctx)
}

func (r *runner) buildRewards() error {
	scorer, err := reward.NewScorer(r.cfg.Reward)
	if err != nil {
		return fmt.Errorf("pipeline: reward: %w", err)
	}
	r.scorer = scorer
	verifier, err := reward.NewScorer(reward.Config{Spec: r.cfg.Eval.Verifier, OnError: reward.OnErrorZero, MaxErrorRate: 1})
	if err != nil {
		return fmt.Errorf("pipeline: eval.verifier: %w", err)
	}
	r.verifier = verifier
	r.evaluator.Verifier = verifier
	return nil
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
	r.pol = pol
	if err := r.buildLearner(); err != nil {
		return err
	}
	ids := make([]uint64, len(r.train))
	for i, p := range r.train {
		ids[i] = p.ID
	}
	scfg := r.cfg.Sampling
	scfg.Seed ^= r.cfg.Seed
	r.sampler, err = sampling.New(scfg, ids)
	if err != nil {
		return err
	}
	for _, name := range []string{metricsFile, evalFile} {
		os.Remove(filepath.Join(r.opts.OutDir, name))
	}
	return nil
}

func (r *runner) initialPolicy(ctx context.Context) (*Policy, error) {
	if r.cfg.Policy.Init != "" {
		return LoadPolicy(r.cfg.Policy.Init)
	}
	return r.sft(ctx, filepath.Join(r.opts.OutDir, "sft"))
}

// sft trains a fresh policy on the task's worked solutions and saves it in
// dir.
func (r *runner) sft(ctx context.Context, dir string) (*Policy, error) {
	pol, err := NewPolicy(r.cfg.Policy.Kind, r.cfg.Policy.Model)
	if err != nil {
		return nil, err
	}
	if err := r.configurePolicy(pol); err != nil {
		return nil, err
	}
	task, _, _ := cutSpec(r.cfg.Data.Train)
	examples, err := data.GenerateExamples(task, data.SplitTrain, data.WithN(r.cfg.SFT.Examples),
		data.WithSeed(r.cfg.Seed), data.WithDifficulty(r.cfg.Data.Difficulty))
	if err != nil {
		return nil, fmt.Errorf("pipeline: SFT warm start needs a generated task with worked solutions (or set policy.init): %w", err)
	}
	tmpl, _ := data.TemplateByName(r.cfg.Data.Template)
	fmt.Fprintf(r.log, "sft: %d steps on %d %s examples\n", r.cfg.SFT.Steps, len(examples), task)
	bar := newProgress(r.log, r.cfg.Log.Progress, int64(r.cfg.SFT.Steps), "sft")
	loss, err := SFT(ctx, pol, examples, tmpl, r.cfg.SFT, r.cfg.Seed, r.cfg.maxNewTokens(), func(p SFTProgress) {
		bar.set(int64(p.Step), fmt.Sprintf("sft loss %.3f  %.0f tok/s", p.Loss, p.TokensPerSec))
		if bar.bar == nil && (p.Step%100 == 0 || p.Step == p.Steps) {
			fmt.Fprintf(r.log, "sft step %d/%d: loss %.4f, lr %.2g, %.0f tokens/s\n", p.Step, p.Steps, p.Loss, p.LR, p.TokensPerSec)
		}
	})
	bar.finish()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(r.log, "sft: final loss %.4f\n", loss)
	if err := pol.Save(dir); err != nil {
		return nil, err
	}
	return pol, nil
}

func cutSpec(spec string) (name, split string, ok bool) {
	for i := 0; i < len(spec); i++ {
		if spec[i] == ':' {
			return spec[:i], spec[i+1:], true
		}
	}
	return spec, "", false
}

func (r *runner) buildLearner() error {
	tc := r.cfg.Train
	opt, err := optim.NewAdamW(optim.AdamWConfig{LR: tc.LR, WeightDecay: weightDecay(tc.WeightDecay)})
	if err != nil {
		return err
	}
	sched, err := optim.NewSchedule(optim.ScheduleConfig{Kind: optim.ScheduleConstant, WarmupSteps: tc.WarmupSteps}, tc.LR)
	if err != nil {
		return err
	}
	algo := r.cfg.Algorithm
	if algo.Loss.Beta > 0 || (algo.Name == AlgoBVPO && algo.BVPO.Base == BVPOBaseDPO) {
		r.ref = cloneModel(r.pol.Model)
	}
	r.learn = &learner{pol: r.pol, ref: r.ref, opt: opt, sched: sched, algo: algo,
		temperature: r.cfg.Rollout.Temperature, clipNorm: tc.ClipNorm, seed: r.cfg.Seed}
	switch algo.Name {
	case AlgoBVPO:
		r.updater = newBVPOLearner(r.learn, algo.BVPO)
	case AlgoGDPO, AlgoDiffuGRPO:
		r.updater = &gdpoLearner{learner: r.learn, cfg: algo.GDPO}
	default:
		r.updater = r.learn
	}
	return nil
}

// connectWorkers opens the Flight pools of distributed.rollout_workers and
// distributed.reward_workers.
func (r *runner) connectWorkers() error {
	d := r.cfg.Distributed
	tmpl, _ := data.TemplateByName(r.cfg.Data.Template)
	opts := []flight.Option{flight.WithAllocator(r.mem), flight.WithTemplate(tmpl), flight.WithDiffusion(r.cfg.Policy.Diffusion.Gen)}
	if d.RequestTimeout > 0 {
		opts = append(opts, flight.WithRequestTimeout(d.RequestTimeout))
	}
	var err error
	if len(d.RolloutWorkers) > 0 {
		if r.flightRollouts, err = flight.NewRolloutPool(d.RolloutWorkers, opts...); err != nil {
			return err
		}
		r.flightGens = map[int64]*flight.Generator{}
	}
	if len(d.RewardWorkers) > 0 {
		if r.flightRewards, err = flight.NewRewardPool(d.RewardWorkers, opts...); err != nil {
			return err
		}
	}
	return nil
}

// configurePolicy checks that pol is of the configured kind and applies the
// diffusion generation settings.
func (r *runner) configurePolicy(pol *Policy) error {
	if pol.Kind() != r.cfg.Policy.Kind {
		return fmt.Errorf("%w: policy.kind is %q but the policy loaded is %q", ErrConfig, r.cfg.Policy.Kind, pol.Kind())
	}
	if m, ok := pol.Model.(*policy.DiffusionModel); ok {
		return m.SetGenConfig(r.cfg.Policy.Diffusion.Gen)
	}
	return nil
}

// generator returns the rollout generator for the weights snapshot of a
// policy version: the OpenAI-compatible server when rollout.kind is openai,
// the Flight rollout workers when distributed.rollout_workers is set (they
// receive the snapshot once per version), else an in-process generator.
func (r *runner) generator(model Model, version int64) generator {
	switch {
	case r.remote != nil:
		return r.remote
	case r.flightRollouts != nil:
		r.flightMu.Lock()
		defer r.flightMu.Unlock()
		if g, ok := r.flightGens[version]; ok {
			return g
		}
		for v := range r.flightGens {
			if v < version-1 {
				delete(r.flightGens, v)
			}
		}
		meta := map[string]string{flight.MetaTokenizer: r.pol.Tokenizer.Spec()}
		g := r.flightRollouts.Generator(version, flight.WeightsFunc(model, meta))
		r.flightGens[version] = g
		return g
	}
	return r.inProcess(model)
}

// score scores rollouts on the Flight reward workers when configured, else
// with the local Scorer.
func (r *runner) score(ctx context.Context, rows []data.Rollout) ([]data.Scored, error) {
	if r.flightRewards != nil {
		return r.flightRewards.Score(ctx, rows)
	}
	return scoreRollouts(ctx, r.scorer, rows)
}

// inProcess returns an in-process generator over model.
func (r *runner) inProcess(model Model) *rollout.InProcess {
	tmpl, _ := data.TemplateByName(r.cfg.Data.Template)
	return &rollout.InProcess{Model: model, Codec: r.pol.Tokenizer, Renderer: promptRenderer{tmpl}}
}

func (r *runner) genParams() data.GenParams {
	rc := r.cfg.Rollout
	return data.GenParams{Temperature: rc.Temperature, TopP: rc.TopP, TopK: rc.TopK, MaxNewTokens: r.cfg.maxNewTokens()}
}

// evaluate runs the held-out evaluation in every rollout mode and appends
// the rows to eval.jsonl.
func (r *runner) evaluate(ctx context.Context, step int64) ([]EvalResult, error) {
	r.evaluator.Generator = r.inProcess(r.pol.Model)
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

// loop runs the concurrent stages from r.start to the step budget.
func (r *runner) loop(ctx context.Context) error {
	steps := int64(r.cfg.Train.Steps)
	if r.start >= steps {
		return nil
	}
	st := int64(r.cfg.Train.MaxStaleness)
	versions := newVersionStore()
	versions.publish(r.start, cloneModel(r.pol.Model))
	if st > 0 && r.start > 0 {
		if r.behaviour == nil {
			return fmt.Errorf("pipeline: resuming with max_staleness %d needs the checkpoint's %s", st, behaviourFile)
		}
		versions.publish(r.start-1, r.behaviour)
	}
	picks := make(chan stepPrompts, st+2)
	for s := r.start; s <= r.start+st && s < steps; s++ {
		sp, err := r.pick(s)
		if err != nil {
			return err
		}
		picks <- sp
	}
	base := rollout.Request{G: r.cfg.Rollout.G, Modes: r.modes, Seed: r.cfg.Seed, Params: r.genParams()}
	g := NewGraph(WithCapacity(1))
	r.graph = g
	r.lastStepEnd = time.Now()
	rolled := AddStage(g, "rollout", Inlet(g, "sampler", picks), rolloutStage(r.mem, r.generator, versions, st, r.cfg.Rollout.Workers, base))
	scored := AddStage(g, "reward", rolled, rewardStage(r.mem, r.score))
	AddSink(g, "learner", scored, func(ctx context.Context, in <-chan stepRecord) error {
		defer versions.close()
		return r.learnStage(ctx, in, picks, versions)
	})
	err := g.Run(ctx)
	if errors.Is(err, ErrInterrupted) {
		return ErrInterrupted
	}
	return err
}

// pendingPick is a step's picked prompts and the sampler's statistics right
// after picking them.
type pendingPick struct {
	IDs   []uint64       `json:"ids"`
	Stats sampling.Stats `json:"stats"`
}

// pick chooses the prompts of step s (or replays the checkpointed pick).
func (r *runner) pick(s int64) (stepPrompts, error) {
	if p, ok := r.pending[s]; ok {
		return stepPrompts{Step: s, Prompts: r.promptsByID(p.IDs)}, nil
	}
	idx, err := r.sampler.Next(s, r.cfg.Train.PromptsPerStep)
	if err != nil {
		return stepPrompts{}, fmt.Errorf("pipeline: sampler at step %d: %w", s, err)
	}
	ps := make([]data.Prompt, len(idx))
	ids := make([]uint64, len(idx))
	for i, k := range idx {
		ps[i], ids[i] = r.train[k], r.train[k].ID
	}
	r.pending[s] = pendingPick{IDs: ids, Stats: r.sampler.Stats()}
	return stepPrompts{Step: s, Prompts: ps}, nil
}

func (r *runner) promptsByID(ids []uint64) []data.Prompt {
	byID := make(map[uint64]int, len(r.train))
	for i, p := range r.train {
		byID[p.ID] = i
	}
	out := make([]data.Prompt, len(ids))
	for i, id := range ids {
		out[i] = r.train[byID[id]]
	}
	return out
}

// learnStage consumes scored batches in step order, updates the policy,
// feeds the sampler, publishes new weights and picks future steps.
func (r *runner) learnStage(ctx context.Context, in <-chan stepRecord, picks chan<- stepPrompts, versions *versionStore) error {
	defer close(picks)
	steps := int64(r.cfg.Train.Steps)
	st := int64(r.cfg.Train.MaxStaleness)
	for {
		sr, ok, err := Recv(ctx, in)
		if err != nil || !ok {
			return err
		}
		start := time.Now()
		rows, err := data.ScoredFromRecord(sr.Record)
		sr.Release()
		if err != nil {
			return err
		}
		s := sr.Step
		m, err := r.learnStep(ctx, s, rows, versions)
		if err != nil {
			return err
		}
		versions.publish(s+1, cloneModel(r.pol.Model))
		versions.drop(s + 1 - st)
		delete(r.pending, s)
		// Pick ahead even past the step budget, so that a run extended later
		// with --resume continues exactly as if the budget had been larger.
		sp, err := r.pick(s + 1 + st)
		if err != nil {
			return err
		}
		if sp.Step < steps {
			if err := Send(ctx, picks, sp); err != nil {
				return err
			}
		}
		m.Timing.LearnerS = time.Since(start).Seconds()
		m.DroppedRollouts = sr.Dropped
		m.Timing.RewardS = sr.RewardBusy.Seconds()
		m.Timing.RolloutS = sr.RolloutBusy.Seconds()
		if sr.RolloutBusy > 0 {
			m.Timing.TokensPerSec = float64(sr.Tokens) / sr.RolloutBusy.Seconds()
		}
		if err := r.finishStep(ctx, s, m, versions); err != nil {
			return err
		}
		if s+1 >= steps {
			return nil
		}
	}
}

// finishStep writes metrics, evaluates and checkpoints when due, and honours
// an interrupt request.
func (r *runner) finishStep(ctx context.Context, s int64, m *StepMetrics, versions *versionStore) error {
	m.Timing.Stages = r.stageDeltas()
	now := time.Now()
	m.Timing.WallS = now.Sub(r.lastStepEnd).Seconds()
	r.lastStepEnd = now
	if err := r.metrics.Write(m); err != nil {
		return err
	}
	r.progress.set(s+1, fmt.Sprintf("step %d reward %.3f acc %.3f", s+1, m.RewardMean, m.Accuracy))
	if r.progress.bar == nil {
		fmt.Fprintf(r.log, "step %d/%d: reward %.3f, accuracy %.3f, length %.1f, kl %.2g, clip %.3f, %.1fs\n",
			s+1, r.cfg.Train.Steps, m.RewardMean, m.Accuracy, m.LenMean, m.ApproxKL, m.ClipLow+m.ClipHigh, m.Timing.WallS)
	}
	done := s + 1
	last := done == int64(r.cfg.Train.Steps)
	if e := int64(r.cfg.Eval.Every); e > 0 && done%e == 0 && !last {
		if _, err := r.evaluate(ctx, done); err != nil {
			return err
		}
	}
	interrupted := false
	select {
	case <-r.opts.Interrupt:
		interrupted = true
	default:
	}
	if c := int64(r.cfg.Check.Every); last || interrupted || (c > 0 && done%c == 0) {
		var behaviour Model
		if st := int64(r.cfg.Train.MaxStaleness); st > 0 {
			behaviour, _ = versions.wait(done - st)
		}
		if err := r.checkpoint(done, behaviour); err != nil {
			return err
		}
	}
	if interrupted && !last {
		return ErrInterrupted
	}
	return nil
}

// stageDeltas returns each stage's busy and blocked seconds since the
// previous call.
func (r *runner) stageDeltas() map[string]StageTimes {
	if r.graph == nil {
		return nil
	}
	now := r.graph.Stats()
	out := make(map[string]StageTimes, len(now))
	for i, st := range now {
		d := StageTimes{BusyS: st.Busy.Seconds(), BlockedInS: st.BlockedIn.Seconds(), BlockedOutS: st.BlockedOut.Seconds()}
		if i < len(r.lastStats) {
			prev := r.lastStats[i]
			d.BusyS -= prev.Busy.Seconds()
			d.BlockedInS -= prev.BlockedIn.Seconds()
			d.BlockedOutS -= prev.BlockedOut.Seconds()
		}
		out[st.Name] = d
	}
	r.lastStats = now
	return out
}

// learnStep turns one step's scored rows into train rows and updates.
func (r *runner) learnStep(ctx context.Context, s int64, rows []data.Scored, versions *versionStore) (*StepMetrics, error) {
	correct, err := r.binaryOutcomes(ctx, rows)
	if err != nil {
		return nil, err
	}
	groups := groupIDs(len(rows), func(i int) (uint64, uint8) { return rows[i].PromptID, rows[i].Mode })
	if err := r.sampler.Observe(s, outcomes(rows, groups, correct)); err != nil {
		return nil, err
	}
	keep := make([]bool, len(rows))
	for i := range keep {
		keep[i] = true
	}
	var filter *sampling.FilterResult
	if r.cfg.Sampling.Filter.ZeroVariance {
		res, err := r.dynamicSampling(ctx, s, &rows, &correct, &groups, &keep, versions)
		if err != nil {
			return nil, err
		}
		filter = &res
	}
	train := make([]data.TrainRow, len(rows))
	for i := range rows {
		train[i] = data.TrainRow{Scored: rows[i], Keep: keep[i]}
	}
	dropGroupsWithErrors(train, groups)
	zeroStd, err := computeAdvantages(train, groups, r.cfg.Algorithm.Advantage)
	if err != nil {
		return nil, err
	}
	stats, err := r.updater.update(train, int(s))
	if err != nil {
		return nil, err
	}
	m := newStepMetrics(s, train, groups, correct, zeroStd, stats)
	m.Entropy = stats.Entropy
	m.Algo = stats.Algo
	m.Sampler = r.pending[s].Stats.Metrics()
	if filter != nil {
		m.Filter = filter.Metrics()
	}
	if r.cfg.Log.DumpRollouts {
		if err := r.dumpTrain(filepath.Join(r.opts.OutDir, "rollouts"), fmt.Sprintf("step-%06d.arrow", s+1), train); err != nil {
			return nil, err
		}
	}
	if dir := r.cfg.Export.TrainBatches; dir != "" {
		if err := r.dumpTrain(dir, fmt.Sprintf("step-%06d.parquet", s+1), train); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// dynamicSampling applies DAPO's filter to the step's groups and refills
// with newly sampled prompts, rolled out with the step's behaviour weights,
// for at most max_refill_rounds rounds. It extends rows, correct, groups
// and keep in place.
func (r *runner) dynamicSampling(ctx context.Context, s int64, rows *[]data.Scored, correct *[]bool, groups *[]int,
	keep *[]bool, versions *versionStore) (sampling.FilterResult, error) {
	round := sampling.NewGroupFilter(r.cfg.Sampling.Filter).Begin(r.cfg.Train.PromptsPerStep * len(r.modes))
	markGroups(*keep, *groups, round.Add(outcomes(*rows, *groups, *correct)))
	version := max(s-int64(r.cfg.Train.MaxStaleness), 0)
	for n, refill := round.Need(), 1; n > 0; n, refill = round.Need(), refill+1 {
		prompts := (n + len(r.modes) - 1) / len(r.modes)
		idx, err := r.sampler.Next(s, prompts)
		if err != nil {
			return sampling.FilterResult{}, err
		}
		sp := stepPrompts{Step: s, Prompts: make([]data.Prompt, len(idx))}
		for i, k := range idx {
			sp.Prompts[i] = r.train[k]
		}
		model, ok := versions.wait(version)
		if !ok {
			return sampling.FilterResult{}, ctx.Err()
		}
		req := rollout.Request{G: r.cfg.Rollout.G, Modes: r.modes, Seed: r.cfg.Seed, Round: refill, Params: r.genParams()}
		generated, err := generateParallel(ctx, r.generator(model, version), req, sp, version, r.cfg.Rollout.Workers)
		if err != nil {
			return sampling.FilterResult{}, err
		}
		scored, err := r.score(ctx, generated)
		if err != nil {
			return sampling.FilterResult{}, err
		}
		ok2, err := r.binaryOutcomes(ctx, scored)
		if err != nil {
			return sampling.FilterResult{}, err
		}
		g := groupIDs(len(scored), func(i int) (uint64, uint8) { return scored[i].PromptID, scored[i].Mode })
		if err := r.sampler.Observe(s, outcomes(scored, g, ok2)); err != nil {
			return sampling.FilterResult{}, err
		}
		k := make([]bool, len(scored))
		for i := range k {
			k[i] = true
		}
		markGroups(k, g, round.Add(outcomes(scored, g, ok2)))
		offset := (*groups)[len(*groups)-1] + 1
		for i := range g {
			g[i] += offset
		}
		*rows, *correct, *groups, *keep = append(*rows, scored...), append(*correct, ok2...), append(*groups, g...), append(*keep, k...)
	}
	return round.Result(), nil
}

// markGroups clears keep for rows whose group the filter did not keep
// (keepGroup is indexed by group number in row order).
func markGroups(keep []bool, groups []int, keepGroup []bool) {
	first := groups[0]
	for i := range keep {
		if !keepGroup[groups[i]-first] {
			keep[i] = false
		}
	}
}

// binaryOutcomes runs the correctness verifier (eval.verifier) on rows; VAS
// and accuracy metrics use it rather than the shaped reward.
func (r *runner) binaryOutcomes(ctx context.Context, rows []data.Scored) ([]bool, error) {
	ro := make([]data.Rollout, len(rows))
	for i := range rows {
		ro[i] = rows[i].Rollout
	}
	return r.evaluator.correct(ctx, ro)
}

func dropGroupsWithErrors(rows []data.TrainRow, groups []int) {
	bad := map[int]bool{}
	for i := range rows {
		if rows[i].RewardError != "" {
			bad[groups[i]] = true
		}
	}
	for i := range rows {
		if bad[groups[i]] {
			rows[i].Keep = false
		}
	}
}

func outcomes(rows []data.Scored, groups []int, correct []bool) []sampling.GroupOutcome {
	var out []sampling.GroupOutcome
	for i := range rows {
		if i == 0 || groups[i] != groups[i-1] {
			out = append(out, sampling.GroupOutcome{PromptID: rows[i].PromptID})
		}
		g := &out[len(out)-1]
		g.Correct = append(g.Correct, correct[i])
		g.Rewards = append(g.Rewards, rows[i].Reward)
		g.Completions = append(g.Completions, rows[i].CompletionTokens)
	}
	return out
}
