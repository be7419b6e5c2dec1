package learn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rlpipe/rlpipe/data/rng"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// SFTConfig configures the supervised learner.
type SFTConfig struct {
	// Steps is the number of optimizer steps Train runs.
	Steps int
	// ClipNorm bounds the global gradient norm (0: no clipping).
	ClipNorm float64
	// Masking is the masked-diffusion objective of a policy.MaskedLM
	// (policy.MaskingDiscrete or policy.MaskingContinuous; "" is discrete).
	Masking string
	// Seed keys the masks of the masked-diffusion objective.
	Seed uint64
}

// SFTProgress is reported after every SFT step.
type SFTProgress struct {
	Step, Steps  int
	Loss         float64
	LR           float64
	GradNorm     float64
	TokensPerSec float64
}

// SFT is the supervised learner of the warm start: teacher forcing with
// the token-mean negative log-likelihood of the completion tokens at
// temperature 1 for a policy.Causal, the masked-diffusion objective
// (policy.MaskedLM) for a diffusion policy. Driven by one goroutine.
type SFT struct {
	pol   policy.Trainable
	opt   *optim.AdamW
	sched *optim.Schedule
	cfg   SFTConfig
	// accumulate adds the gradient of the batch's loss at step.
	accumulate func(b policy.SeqBatch, step int) (float64, error)
}

// NewSFT builds the supervised learner of m, stepping opt with sched's
// learning rate. m must be a policy.Causal or a policy.MaskedLM.
func NewSFT(m policy.Trainable, opt *optim.AdamW, sched *optim.Schedule, cfg SFTConfig) (*SFT, error) {
	s := &SFT{pol: m, opt: opt, sched: sched, cfg: cfg}
	switch {
	case asCausal(m) != nil:
		c := asCausal(m)
		s.accumulate = func(b policy.SeqBatch, _ int) (float64, error) { return c.Accumulate(b, 1, meanNLL) }
	case asMaskedLM(m) != nil:
		d := asMaskedLM(m)
		s.accumulate = func(b policy.SeqBatch, step int) (float64, error) {
			// Masks are keyed by (seed, step) so that every step draws new
			// masking times and positions.
			return d.AccumulateMaskedLMWith(b.Prompts, b.Completions, rng.SFTMaskSeed(cfg.Seed, step), cfg.Masking)
		}
	default:
		return nil, fmt.Errorf("%w: SFT of a %s policy is not supported", ErrConfig, m.Kind())
	}
	return s, nil
}

func asCausal(m policy.Trainable) policy.Causal {
	c, _ := m.(policy.Causal)
	return c
}

func asMaskedLM(m policy.Trainable) policy.MaskedLM {
	d, _ := m.(policy.MaskedLM)
	return d
}

// Step trains on b as step step (0-based): zero the gradients, add the
// loss gradient, clip, step the optimizer. It returns the loss, the
// gradient norm before clipping and the learning rate.
func (s *SFT) Step(b policy.SeqBatch, step int) (loss, gradNorm, lr float64, err error) {
	s.pol.ZeroGrad()
	if loss, err = s.accumulate(b, step); err != nil {
		return loss, 0, 0, fmt.Errorf("learn: sft step %d: %w", step, err)
	}
	params := s.pol.Params()
	gradNorm = optim.ClipGradNorm(params, s.cfg.ClipNorm)
	lr = s.sched.LR(step)
	s.opt.Step(params, lr)
	return loss, gradNorm, lr, nil
}

// Train runs cfg.Steps steps, each on the batch next returns, reporting
// each to onStep (which may be nil; its error stops training), and returns
// the last step's loss. It stops early with ctx's error.
func (s *SFT) Train(ctx context.Context, next func() policy.SeqBatch, onStep func(SFTProgress) error) (float64, error) {
	return s.TrainFrom(ctx, 0, next, onStep)
}

// TrainFrom is Train continuing after done completed steps (a resumed
// SFT whose weights and optimizer state were restored): it runs steps
// done..cfg.Steps−1, with the learning rates and masks of those steps, and
// returns 0 when done >= cfg.Steps.
func (s *SFT) TrainFrom(ctx context.Context, done int, next func() policy.SeqBatch, onStep func(SFTProgress) error) (float64, error) {
	var loss float64
	for step := done; step < s.cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return loss, err
		}
		start := time.Now()
		batch := next()
		tokens := 0
		for i := range batch.Prompts {
			tokens += len(batch.Prompts[i]) + len(batch.Completions[i])
		}
		l, norm, lr, err := s.Step(batch, step)
		loss = l
		if err != nil {
			return loss, err
		}
		if onStep != nil {
			if err := onStep(SFTProgress{Step: step + 1, Steps: s.cfg.Steps, Loss: loss, LR: lr, GradNorm: norm,
				TokensPerSec: float64(tokens) / time.Since(start).Seconds()}); err != nil {
				return loss, err
			}
		}
	}
	return loss, nil
}

// meanNLL is the token-mean negative log-likelihood and its gradient.
func meanNLL(logp [][]float64) (float64, [][]float64, error) {
	n := 0
	for _, row := range logp {
		n += len(row)
	}
	if n == 0 {
		return 0, nil, errors.New("learn: empty SFT batch")
	}
	inv := 1 / float64(n)
	var loss float64
	grad := make([][]float64, len(logp))
	for i, row := range logp {
		grad[i] = make([]float64, len(row))
		for t, v := range row {
			loss -= v * inv
			grad[i][t] = -inv
		}
	}
	return loss, grad, nil
}
