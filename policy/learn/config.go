package learn

import (
	"errors"

	"github.com/rlpipe/rlpipe/policy/objective"
)

// ErrConfig marks an invalid learner configuration.
var ErrConfig = errors.New("learn: invalid configuration")

// Algorithm names beyond objective's presets (which name the GRPO family).
const (
	NameBVPO      = "bvpo"
	NameGDPO      = "gdpo"
	NameDiffuGRPO = "diffu_grpo"
)

// Config is the algorithm section of the run configuration. Name picks the
// learner (a GRPO-family preset of objective.Preset — grpo, dr_grpo, dapo,
// or rlpipe's own defaults "rlpipe" — or bvpo, gdpo, diffu_grpo); the
// other fields configure it. DefaultConfig gives the defaults.
type Config struct {
	Name      string                    `yaml:"name"`
	Advantage objective.AdvantageConfig `yaml:"advantage"`
	// Loss is the GRPO family's clipped surrogate (also bvpo's base grpo).
	// Its max_len (dr_grpo) and scale_factor (seq-mean-token-sum-norm) of 0
	// mean rollout.max_new_tokens, a constant normaliser (§1.6); the
	// pipeline fills them in before building the learner.
	Loss objective.LossConfig `yaml:"loss"`
	// KLInReward is β of verl's use_kl_in_reward (ALGORITHMS §1.4): each
	// rollout's reward becomes R − β·Σ_t(ℓ^old_t − ℓ^ref_t), the k1 KL of
	// the behaviour policy to the frozen reference (the starting policy),
	// before advantages. 0 (default) is off; > 0 pays one reference forward
	// pass per step. GRPO family only, and mutually exclusive with the
	// loss's KL term (loss.beta > 0): choose where the KL goes. The train
	// batch's reward column keeps the scorer's reward; metrics.jsonl
	// reports algo.kl_in_reward/penalty_mean and kl_mean.
	KLInReward float64 `yaml:"kl_in_reward"`
	// Epochs is the number of inner passes over each step's batch. Default 1.
	Epochs int `yaml:"epochs"`
	// MiniBatches splits each step's kept rows into this many consecutive
	// chunks (a chunk may cut a group), one optimizer step each. Default 1.
	MiniBatches int `yaml:"mini_batches"`
	// MicroBatchSize runs each mini-batch's forward and backward passes on
	// at most this many sequences at a time and sums their gradients
	// (gradient accumulation, verl's ppo_micro_batch_size_per_gpu): the
	// update is the mini-batch's (objective.MicroBatchNorms keeps every
	// aggregation's normaliser), the memory a micro-batch's. 0 (default)
	// runs the whole mini-batch at once. GRPO family only.
	MicroBatchSize int `yaml:"micro_batch_size"`
	// BVPO configures algorithm bvpo (which rolls out both trace and
	// empty-trace modes).
	BVPO BVPOConfig `yaml:"bvpo"`
	// GDPO configures algorithms gdpo and diffu_grpo (the ELBO estimator,
	// ratio form, clipping and KL). It is self-contained: those algorithms
	// read neither the loss section nor its defaults. Its clip_low and
	// clip_high are written out by the presets (null means GDPO's 0.2);
	// dual_clip 0 and beta 0 mean off.
	GDPO objective.GDPOConfig `yaml:"gdpo"`
}

// DefaultConfig returns rlpipe's defaults: the "rlpipe" preset's advantage
// and loss, one epoch of one mini-batch, and the BVPO and GDPO defaults.
func DefaultConfig() Config {
	preset, err := objective.Preset(objective.PresetDefault)
	if err != nil {
		panic("learn: " + err.Error())
	}
	return Config{Name: objective.PresetDefault, Advantage: preset.Advantage, Loss: preset.Loss,
		Epochs: 1, MiniBatches: 1, BVPO: DefaultBVPOConfig(), GDPO: objective.DefaultGDPOConfig()}
}

// IsDiffusion reports whether the named algorithm trains masked diffusion
// policies (gdpo, diffu_grpo) rather than causal ones.
func IsDiffusion(name string) bool { return name == NameGDPO || name == NameDiffuGRPO }
