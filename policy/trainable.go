package policy

import (
	"context"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// Policy kinds: the values of the run configuration's policy.kind and of
// Trainable.Kind. A model family registers its kind with RegisterFamily.
const (
	// KindAR is the causal transformer (Model), trained with the GRPO
	// family or BVPO.
	KindAR = "ar"
	// KindDiffusion is the masked diffusion LM (DiffusionModel), trained
	// with GDPO or diffu-GRPO.
	KindDiffusion = "diffusion"
)

// Trainable is what every in-process policy offers whatever its family:
// generation (rollout.Model's method, so that rollout generates with it
// without importing policy), its parameters for the optimizer, a frozen
// copy, saving, and the name of its family. How a family scores and trains
// on sequences differs, so that lives in the capability interfaces below
// (Causal, ELBOScorer, OneStepScorer, MaskedLM, DiffusionSampler), which
// learners assert once when they are built.
//
// *Model and *DiffusionModel implement it; a new family is one more
// implementation plus a RegisterFamily call. Concurrency follows Model's
// rules: Generate may run concurrently with itself while nobody changes the
// weights; everything else is driven by one goroutine.
type Trainable interface {
	// Generate samples one completion per request.
	Generate(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams) ([]data.GenResult, error)
	// Params returns one optim.Param per tensor, aliasing the weight and
	// gradient buffers, in the fixed order of the saved file.
	Params() []optim.Param
	// ZeroGrad sets every gradient buffer to zero.
	ZeroGrad()
	// Clone returns a deep copy with its own buffers (a frozen snapshot
	// for rollouts or the reference policy).
	Clone() Trainable
	// Save writes the weights and meta to path (safetensors) so that
	// LoadTrainable reads them back; meta is not modified.
	Save(path string, meta map[string]string) error
	// Kind names the family (KindAR, KindDiffusion, ...).
	Kind() string
}

// Causal is a policy that scores a completion token by token under teacher
// forcing at a sampling temperature, with the per-position entropies, and
// trains through those log-probs: what the GRPO family, BVPO, KL in the
// reward and SFT's mean NLL need. *Model implements it.
type Causal interface {
	// LogProbs returns each completion token's log-probability and its
	// position's entropy (forward only).
	LogProbs(b SeqBatch, temperature float64) (logp, entropy [][]float32, err error)
	// Accumulate adds the gradient of lossGrad's loss into the gradient
	// buffers and returns the loss.
	Accumulate(b SeqBatch, temperature float64, lossGrad LossGradFunc) (float64, error)
	// AccumulateWithEntropy is Accumulate for a loss that also depends on
	// the per-position entropies (an entropy bonus).
	AccumulateWithEntropy(b SeqBatch, temperature float64, lossGrad EntropyLossGradFunc) (float64, error)
}

// ELBOScorer is a policy scored by a sequence-level ELBO estimate under a
// masking plan keyed by (seed, rollout key), so that the current, behaviour
// and reference evaluations of a rollout share their masks (GDPO).
// *DiffusionModel implements it.
type ELBOScorer interface {
	// ELBO returns each sequence's ELBO estimate (forward only).
	ELBO(b SeqBatch, cfg objective.ELBOConfig, seed uint64, rolloutKeys []uint64) ([]float64, error)
	// AccumulateELBO adds the gradient of lossGrad's loss of the ELBOs into
	// the gradient buffers and returns the loss.
	AccumulateELBO(b SeqBatch, cfg objective.ELBOConfig, seed uint64, rolloutKeys []uint64, lossGrad ELBOLossFunc) (float64, error)
}

// OneStepScorer is a policy scored by per-token one-step log-probs of the
// fully masked completion (diffu-GRPO), with the same plans as ELBOScorer.
// *DiffusionModel implements it.
type OneStepScorer interface {
	// OneStepLogProbs returns each completion token's one-step log-prob.
	OneStepLogProbs(b SeqBatch, cfg objective.ELBOConfig, seed uint64, rolloutKeys []uint64) ([][]float64, error)
	// AccumulateOneStep adds the gradient of lossGrad's loss of those
	// log-probs into the gradient buffers and returns the loss.
	AccumulateOneStep(b SeqBatch, cfg objective.ELBOConfig, seed uint64, rolloutKeys []uint64, lossGrad TokenLossFunc) (float64, error)
}

// MaskedLM is a policy supervised by the masked-diffusion objective
// instead of teacher forcing (SFT of a diffusion policy). *DiffusionModel
// implements it.
type MaskedLM interface {
	// AccumulateMaskedLMWith adds the gradient of the masked-LM loss of the
	// sequences, masks drawn from seed with masking (MaskingDiscrete or
	// MaskingContinuous), and returns the loss.
	AccumulateMaskedLMWith(prompts, completions [][]int32, seed uint64, masking string) (float64, error)
}

// DiffusionSampler is a policy whose Generate follows iterative-unmasking
// settings held in the model (rollout's requests carry only
// data.GenParams). *DiffusionModel implements it.
type DiffusionSampler interface {
	// GenConfig returns the settings Generate uses.
	GenConfig() DiffusionGenConfig
	// SetGenConfig validates and installs c; not while Generate runs.
	SetGenConfig(c DiffusionGenConfig) error
}

// Kind returns KindAR.
func (m *Model) Kind() string { return KindAR }

// Kind returns KindDiffusion.
func (m *DiffusionModel) Kind() string { return KindDiffusion }

// Compile-time checks of the families' capabilities.
var (
	_ Trainable        = (*Model)(nil)
	_ Causal           = (*Model)(nil)
	_ Trainable        = (*DiffusionModel)(nil)
	_ ELBOScorer       = (*DiffusionModel)(nil)
	_ OneStepScorer    = (*DiffusionModel)(nil)
	_ MaskedLM         = (*DiffusionModel)(nil)
	_ DiffusionSampler = (*DiffusionModel)(nil)
)
