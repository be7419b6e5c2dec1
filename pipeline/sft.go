package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// ErrConfig marks an invalid pipeline configuration.
var ErrConfig = errors.New("pipeline: invalid configuration")

// SFTConfig configures the supervised warm start: teacher-forced training on
// a task's worked solutions with the loss on completion tokens only.
type SFTConfig struct {
	// Steps is the number of optimizer steps. DefaultSFTConfig gives 1500; the run configuration (rlpipe run, rlpipe sft) defaults to 400.
	Steps int `yaml:"steps"`
	// BatchSize is the number of sequences per step. Default 32.
	BatchSize int `yaml:"batch_size"`
	// LR is the peak learning rate (cosine decay to 10%). Default 2e-3.
	LR float64 `yaml:"lr"`
	// WarmupSteps is the linear warmup length. Default 50.
	WarmupSteps int `yaml:"warmup_steps"`
	// WeightDecay is AdamW's decoupled decay. Default 0.01.
	WeightDecay float64 `yaml:"weight_decay"`
	// ClipNorm is the global gradient-norm bound (0 disables). Default 1.
	ClipNorm float64 `yaml:"clip_norm"`
	// EmptyTraceShare is the fraction of examples taught in empty-trace form
	// ("<think></think><answer>…</answer>" after an empty-trace prompt), so
	// that the policy can answer in both rollout modes. Default 0.25.
	EmptyTraceShare float64 `yaml:"empty_trace_share"`
	// Examples is how many training examples are generated. Default 20000.
	Examples int `yaml:"examples"`
	// EvalEvery runs a greedy held-out evaluation of the policy being
	// trained every this many steps, written to the log (0: only the final
	// evaluation).
	EvalEvery int `yaml:"eval_every"`
	// CheckpointEvery makes rlpipe run's warm start write a checkpoint
	// (OUT/sft/checkpoints/step-NNNNNN: weights, optimizer, data order and
	// step, with a MANIFEST) every this many SFT steps, so that --resume
	// continues the SFT mid-way; one is also written at the end and on an
	// interrupt (0: only those). Default 100. rlpipe sft writes none.
	CheckpointEvery int `yaml:"checkpoint_every"`
	// DiffusionMasking is the masked-diffusion objective of a diffusion
	// policy: "discrete" (default; k ~ U{1..L} tokens masked, weight L/k,
	// LLaDA's likelihood form) or "continuous" (t ~ U(10⁻³, 1), each token
	// masked with probability t, weight 1/t: the form the masked-diffusion
	// objective is usually written in). Both are unbiased for the same
	// bound; discrete's weights stay at most L while continuous's reach
	// 1000, which lets a rare small-t row dominate a clipped step.
	DiffusionMasking string `yaml:"diffusion_masking"`
}

// DefaultSFTConfig returns the documented defaults.
func DefaultSFTConfig() SFTConfig {
	return SFTConfig{Steps: 1500, BatchSize: 32, LR: 2e-3, WarmupSteps: 50, WeightDecay: 0.01,
		ClipNorm: 1, EmptyTraceShare: 0.25, Examples: 20000, CheckpointEvery: 100, DiffusionMasking: policy.MaskingDiscrete}
}

// Validate reports the first invalid field.
func (c SFTConfig) Validate() error {
	switch {
	case c.Steps < 0:
		return fmt.Errorf("%w: sft.steps %d < 0", ErrConfig, c.Steps)
	case c.BatchSize < 1:
		return fmt.Errorf("%w: sft.batch_size %d < 1", ErrConfig, c.BatchSize)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("%w: sft.lr %v must be > 0", ErrConfig, c.LR)
	case c.WarmupSteps < 0:
		return fmt.Errorf("%w: sft.warmup_steps %d < 0", ErrConfig, c.WarmupSteps)
	case c.EmptyTraceShare < 0 || c.EmptyTraceShare > 1:
		return fmt.Errorf("%w: sft.empty_trace_share %v not in [0,1]", ErrConfig, c.EmptyTraceShare)
	case c.Examples < 1:
		return fmt.Errorf("%w: sft.examples %d < 1", ErrConfig, c.Examples)
	case c.EvalEvery < 0:
		return fmt.Errorf("%w: sft.eval_every %d < 0", ErrConfig, c.EvalEvery)
	case c.CheckpointEvery < 0:
		return fmt.Errorf("%w: sft.checkpoint_every %d < 0", ErrConfig, c.CheckpointEvery)
	case c.DiffusionMasking != "" && c.DiffusionMasking != policy.MaskingDiscrete && c.DiffusionMasking != policy.MaskingContinuous:
		return fmt.Errorf("%w: sft.diffusion_masking %q: want %s or %s", ErrConfig, c.DiffusionMasking, policy.MaskingDiscrete, policy.MaskingContinuous)
	}
	return nil
}

// sftSeq is one teacher-forced training sequence.
type sftSeq struct{ prompt, completion []int32 }

// sftSequences renders examples into token sequences: a deterministic share
// of them (by prompt id) in empty-trace form.
// Prompts render through pol's PromptRenderer, as rollouts do.
func sftSequences(examples []data.Example, pol *policyfile.Policy, tmpl data.Template, emptyShare float64) ([]sftSeq, error) {
	tok, render := pol.Tokenizer, pol.PromptRenderer(tmpl)
	out := make([]sftSeq, len(examples))
	for i, e := range examples {
		mode, completion := data.ModeTrace, e.Completion()
		if rng.SFTEmptyTraceUnit(e.ID) < emptyShare {
			mode, completion = data.ModeEmpty, data.AnswerOpen+e.Solution+data.AnswerClose
		}
		prompt, err := render.Render(e.Prompt, mode)
		if err != nil {
			return nil, fmt.Errorf("pipeline: SFT example %d: %w", i, err)
		}
		c := append(tok.Encode(completion), tok.EndOfCompletion())
		out[i] = sftSeq{prompt: tok.Encode(prompt), completion: c}
	}
	return out, nil
}

// SFT trains pol on examples by teacher forcing (mean negative log-likelihood
// of the completion tokens at temperature 1, learn.SFT) and returns the last
// step's loss. Batches are drawn by per-epoch shuffles derived from seed, so
// the result is reproducible. onStep may be nil.
//
// For a diffusion policy every completion is padded with <eos> to the
// generation canvas of canvas tokens (as LLaDA's SFT does), so that the
// model learns to fill the canvas after its answer; examples longer than the
// canvas are skipped. canvas is ignored for causal policies.
func SFT(ctx context.Context, pol *policyfile.Policy, examples []data.Example, tmpl data.Template, cfg SFTConfig, seed uint64, canvas int, onStep func(learn.SFTProgress) error) (float64, error) {
	j, err := newSFTJob(pol, examples, tmpl, cfg, seed, canvas)
	if err != nil {
		return 0, err
	}
	return j.train(ctx, onStep)
}

// sftJob is one SFT run in progress: the policy, its optimizer and
// learner, and the order batches are drawn in. done steps are complete;
// a checkpoint (sftcheckpoint.go) saves and restores exactly this. Driven
// by one goroutine.
type sftJob struct {
	pol     *policyfile.Policy
	opt     *optim.AdamW
	trainer *learn.SFT
	seqs    []sftSeq
	order   *epochOrder
	batch   int
	done    int
}

// newSFTJob renders the examples and builds the optimizer, schedule and
// learner of SFT, at step 0.
func newSFTJob(pol *policyfile.Policy, examples []data.Example, tmpl data.Template, cfg SFTConfig, seed uint64, canvas int) (*sftJob, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("%w: no SFT examples", ErrConfig)
	}
	seqs, err := sftSequences(examples, pol, tmpl, cfg.EmptyTraceShare)
	if err != nil {
		return nil, err
	}
	if pol.Kind() == policy.KindDiffusion {
		if seqs = padToCanvas(seqs, canvas); len(seqs) == 0 {
			return nil, fmt.Errorf("%w: no SFT example fits the diffusion canvas of %d tokens", ErrConfig, canvas)
		}
	}
	opt, err := optim.NewAdamW(optim.AdamWConfig{LR: cfg.LR, WeightDecay: weightDecay(cfg.WeightDecay)})
	if err != nil {
		return nil, err
	}
	// Bound now, so that the optimizer state loads into it on resume.
	if err := opt.Bind(pol.Model.Params()); err != nil {
		return nil, err
	}
	sched, err := optim.NewSchedule(optim.ScheduleConfig{Kind: optim.ScheduleCosine, WarmupSteps: cfg.WarmupSteps,
		TotalSteps: max(cfg.Steps, cfg.WarmupSteps+1), MinLRRatio: 0.1}, cfg.LR)
	if err != nil {
		return nil, err
	}
	trainer, err := learn.NewSFT(pol.Model, opt, sched, learn.SFTConfig{Steps: cfg.Steps, ClipNorm: cfg.ClipNorm,
		Masking: cfg.DiffusionMasking, Seed: seed})
	if err != nil {
		return nil, err
	}
	return &sftJob{pol: pol, opt: opt, trainer: trainer, seqs: seqs, order: newEpochOrder(len(seqs), seed),
		batch: cfg.BatchSize}, nil
}

// next draws the next batch of min(batch size, examples) sequences.
func (j *sftJob) next() policy.SeqBatch {
	var batch policy.SeqBatch
	for range min(j.batch, len(j.seqs)) {
		s := j.seqs[j.order.next()]
		batch.Prompts = append(batch.Prompts, s.prompt)
		batch.Completions = append(batch.Completions, s.completion)
	}
	return batch
}

// train runs the steps after j.done, keeping j.done current before each
// onStep call (which may be nil), and returns the last step's loss.
func (j *sftJob) train(ctx context.Context, onStep func(learn.SFTProgress) error) (float64, error) {
	return j.trainer.TrainFrom(ctx, j.done, j.next, func(p learn.SFTProgress) error {
		j.done = p.Step
		if onStep == nil {
			return nil
		}
		return onStep(p)
	})
}

// padToCanvas pads completions (each ending with <eos>) with <eos> to
// canvas tokens, dropping those that do not fit.
func padToCanvas(seqs []sftSeq, canvas int) []sftSeq {
	out := seqs[:0]
	for _, s := range seqs {
		if len(s.completion) > canvas {
			continue
		}
		s.completion = policy.FillCanvas(s.completion, canvas)
		out = append(out, s)
	}
	return out
}

// epochOrder yields indices 0..n-1 in a fresh deterministic shuffle per
// epoch.
type epochOrder struct {
	n, pos int
	epoch  uint64
	seed   uint64
	perm   []int
}

func newEpochOrder(n int, seed uint64) *epochOrder {
	o := &epochOrder{n: n, seed: seed}
	o.shuffle()
	return o
}

// seek restores the position of an order that has drawn pos indices of
// epoch: the state a checkpoint records.
func (o *epochOrder) seek(epoch uint64, pos int) {
	o.epoch = epoch
	o.shuffle()
	o.pos = pos
}

func (o *epochOrder) shuffle() {
	o.perm = make([]int, o.n)
	for i := range o.perm {
		o.perm[i] = i
	}
	s := rng.SFTEpochKey(o.seed, o.epoch)
	for i := o.n - 1; i > 0; i-- {
		s = rng.SplitMix64(s)
		j := int(s % uint64(i+1))
		o.perm[i], o.perm[j] = o.perm[j], o.perm[i]
	}
	o.pos = 0
}

func (o *epochOrder) next() int {
	if o.pos == o.n {
		o.epoch++
		o.shuffle()
	}
	i := o.perm[o.pos]
	o.pos++
	return i
}

// weightDecay maps rlpipe's "0 means none" to optim's convention, where a
// zero field takes optim's default.
func weightDecay(wd float64) float64 {
	if wd == 0 {
		return optim.NoWeightDecay
	}
	return wd
}
