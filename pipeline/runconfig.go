package pipeline

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/sampling"
)

// RunConfig is the whole configuration of `rlpipe run` (and of `rlpipe sft`,
// which reads its data, policy and sft sections). Every section has usable
// defaults from DefaultRunConfig; YAML files and --set overrides are applied
// on top by cmd/rlpipe.
type RunConfig struct {
	// Seed keys every random draw of the run.
	Seed      uint64          `yaml:"seed"`
	Data      DataConfig      `yaml:"data"`
	Policy    PolicyConfig    `yaml:"policy"`
	SFT       SFTConfig       `yaml:"sft"`
	Rollout   RolloutConfig   `yaml:"rollout"`
	Reward    reward.Config   `yaml:"reward"`
	Sampling  sampling.Config `yaml:"sampling"`
	Algorithm learn.Config    `yaml:"algorithm"`
	Train     TrainConfig     `yaml:"train"`
	Check     CheckConfig     `yaml:"checkpoint"`
	Eval      EvalConfig      `yaml:"eval"`
	Log       LogConfig       `yaml:"log"`
	Export    ExportConfig    `yaml:"export"`
	// Distributed moves rollout and reward stages onto Arrow Flight workers
	// (`rlpipe worker --role rollout|reward`).
	Distributed DistributedConfig `yaml:"distributed"`
}

// DistributedConfig lists remote stage workers. Rollout workers receive the
// weights of every policy version they generate with, so a distributed run
// gives the same results as an in-process one; a worker that dies has its
// work retried on the others.
type DistributedConfig struct {
	RolloutWorkers []string `yaml:"rollout_workers"`
	RewardWorkers  []string `yaml:"reward_workers"`
	// RequestTimeout bounds one request to one worker (default 10m).
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// ExportConfig writes training data for external trainers.
type ExportConfig struct {
	// TrainBatches, when set, is a directory that receives each step's train
	// batch (tokens, behaviour log-probs, rewards, advantages, keep flags) as
	// Parquet: step-000001.parquet, ...
	TrainBatches string `yaml:"train_batches"`
}

// DataConfig selects the training and held-out prompts.
type DataConfig struct {
	// Train is a dataset spec (data.OpenSpec): a built-in name such as
	// "arithmetic", "gsm8k:train", "countdown", or a file path.
	Train string `yaml:"train"`
	// Eval is the held-out spec; "" means Train's held-out split.
	Eval string `yaml:"eval"`
	// TrainSize caps the number of training prompts (generated tasks draw
	// this many). Default 2000.
	TrainSize int `yaml:"train_size"`
	// Difficulty is the generated tasks' difficulty knob. Default 1.
	Difficulty int `yaml:"difficulty"`
	// Template is "plain" (in-process policy) or "chat" (remote chat model).
	Template string `yaml:"template"`
	// Fields maps dataset columns for file specs.
	Fields data.FieldMap `yaml:"fields"`
}

// PolicyConfig selects and shapes the policy.
type PolicyConfig struct {
	// Kind is "ar" (causal transformer) or "diffusion" (masked diffusion LM,
	// trained with algorithm gdpo or diffu_grpo).
	Kind string `yaml:"kind"`
	// Init is a checkpoint directory to start from; "" warm-starts with SFT.
	Init  string        `yaml:"init"`
	Model policy.Config `yaml:"model"`
	// Diffusion configures generation of policy.kind diffusion.
	Diffusion policy.DiffusionConfig `yaml:"diffusion"`
}

// Rollout kinds (rollout.kind).
const (
	// RolloutInProcess generates with the policy being trained.
	RolloutInProcess = "inprocess"
	// RolloutOpenAI generates through an OpenAI-compatible server (vLLM,
	// SGLang, llama.cpp, rlpipe serve); the in-process policy still learns
	// from those rollouts, and export.train_batches hands them to an
	// external trainer.
	RolloutOpenAI = "openai"
)

// RolloutConfig configures generation.
type RolloutConfig struct {
	// Kind is "inprocess" (default) or "openai".
	Kind string `yaml:"kind"`
	// OpenAI configures the remote generator of kind openai (base_url,
	// model, api_key_env, api, concurrency, timeout, max_retries, ...).
	OpenAI rollout.OpenAIConfig `yaml:"openai"`
	// G is the number of completions per prompt. Default 8.
	G int `yaml:"g"`
	// Temperature is the sampling temperature; the training forward uses the
	// same one. Default 1.
	Temperature float64 `yaml:"temperature"`
	TopP        float64 `yaml:"top_p"`
	TopK        int     `yaml:"top_k"`
	// MaxNewTokens bounds completions. Default 96.
	MaxNewTokens int `yaml:"max_new_tokens"`
	// Workers is the number of parallel rollout workers. Default 2.
	Workers int `yaml:"workers"`
	// Modes lists "trace" and/or "empty". Default [trace].
	Modes []string `yaml:"modes"`
}

// TrainConfig configures the RL optimisation.
type TrainConfig struct {
	// Steps is the number of RL steps. Default 60.
	Steps int `yaml:"steps"`
	// PromptsPerStep is B, the number of groups per step. Default 16.
	PromptsPerStep int `yaml:"prompts_per_step"`
	// LR is AdamW's learning rate. Default 1e-5.
	LR          float64 `yaml:"lr"`
	WeightDecay float64 `yaml:"weight_decay"`
	ClipNorm    float64 `yaml:"clip_norm"`
	WarmupSteps int     `yaml:"warmup_steps"`
	// MaxStaleness 0 is strictly on-policy; 1 overlaps the rollouts of step
	// n+1 with the update of step n.
	MaxStaleness int `yaml:"max_staleness"`
}

// CheckConfig configures checkpoints.
type CheckConfig struct {
	// Every writes a checkpoint every this many steps (0: only at the end).
	Every int `yaml:"every"`
	// KeepLast prunes to this many checkpoints (0 keeps all). Default 3.
	KeepLast int `yaml:"keep_last"`
}

// LogConfig configures progress output and dumps.
type LogConfig struct {
	// Progress shows a live progress bar on stderr. Default true.
	Progress bool `yaml:"progress"`
	// DumpRollouts writes each step's scored batch under rollouts/.
	DumpRollouts bool `yaml:"dump_rollouts"`
}

// DefaultRunConfig returns the embedded default: SFT warm start on the
// built-in arithmetic task, then GRPO with Variance-Aware Sampling.
func DefaultRunConfig() RunConfig {
	sft := DefaultSFTConfig()
	// The warm start stops early on purpose: a policy that is right about
	// half the time leaves RL room to improve it.
	sft.Steps = 400
	return RunConfig{
		Seed:   1,
		Data:   DataConfig{Train: "arithmetic", TrainSize: 2000, Difficulty: 1, Template: data.TemplatePlain},
		Policy: PolicyConfig{Kind: policy.KindAR, Model: policy.DefaultConfig(), Diffusion: policy.DefaultDiffusionConfig()},
		SFT:    sft,
		Rollout: RolloutConfig{Kind: RolloutInProcess, OpenAI: defaultOpenAI(), G: 8, Temperature: 1, TopP: 1, MaxNewTokens: 96, Workers: 2,
			Modes: []string{"trace"}},
		Reward:    reward.Config{Spec: "math", OnError: reward.OnErrorDropGroup, MaxErrorRate: 0.1, Timeout: 10 * time.Second},
		Sampling:  sampling.DefaultConfig(),
		Algorithm: learn.DefaultConfig(),
		Train:     TrainConfig{Steps: 400, PromptsPerStep: 16, LR: 2e-5, WeightDecay: 0, ClipNorm: 1, WarmupSteps: 3},
		Check:     CheckConfig{Every: 10, KeepLast: 3},
		Eval:      DefaultEvalConfig(),
		Log:       LogConfig{Progress: true},
	}
}

// defaultOpenAI is the remote generator's configuration with every default
// written out, so that `rlpipe config default` shows them.
func defaultOpenAI() rollout.OpenAIConfig {
	return rollout.OpenAIConfig{BaseURL: rollout.DefaultOpenAIBaseURL, APIKeyEnv: rollout.DefaultOpenAIAPIKeyEnv,
		API: rollout.APICompletions, Concurrency: rollout.DefaultOpenAIConcurrency, Timeout: rollout.DefaultOpenAITimeout,
		MaxRetries: rollout.DefaultOpenAIMaxRetries, BackoffBase: rollout.DefaultOpenAIBackoffBase,
		BackoffMax: rollout.DefaultOpenAIBackoffMax, ReturnTokenIDs: true}
}

// DiffusionSFTSteps is the SFT length preset for diffusion policies. A
// masked diffusion LM learns the task far more slowly than the causal model
// (it must predict every position from every masking level), and more
// slowly the longer its canvas. Greedy held-out accuracy on the default
// task (n = 400): on a 32-token canvas 7.8% after 1500 steps and 52.8%
// after 4000; on the default 64-token canvas 10.8% after 4000 and 58.2%
// after 8000 (51 min on two cores); the causal model reaches 48% after 400.
const DiffusionSFTSteps = 8000

// DiffusionEvalSamples is the eval.samples preset for diffusion policies:
// RL moves a diffusion policy's sampled accuracy more than its greedy
// (low-confidence) decoding — a default GDPO run gained +2.2 ± 0.4 points
// sampled and +1.3 ± 0.6 greedy on all 1331 held-out problems — so the run
// reports both.
const DiffusionEvalSamples = 4

// ApplyInitPreset sets policy.diffusion to the canvas and generation
// settings the diffusion checkpoint init was trained with
// (Policy.DiffusionSettings), so that RL from a checkpoint generates on the
// canvas it was trained on rather than on the default one. LoadRunConfig
// calls it before applying the user's overrides a second time, so explicit
// policy.diffusion fields still win.
func (c *RunConfig) ApplyInitPreset(init string) error {
	if init == "" || c.Policy.Kind != policy.KindDiffusion {
		return nil
	}
	pol, err := policyfile.Load(init)
	if err != nil {
		return fmt.Errorf("%w: policy.init: %v", ErrConfig, err)
	}
	if pol.Kind() == policy.KindDiffusion {
		c.Policy.Diffusion = pol.DiffusionSettings()
	}
	return nil
}

// ApplyPreset replaces the advantage and loss sections with the preset
// named by Algorithm.Name (learn.Config.ApplyPreset), and for a diffusion policy (Policy.Kind) sets
// the SFT length to DiffusionSFTSteps and eval.samples to
// DiffusionEvalSamples; LoadRunConfig calls it before applying
// the user's overrides a second time, so that explicit fields win over the
// preset.
func (c *RunConfig) ApplyPreset() error {
	if c.Policy.Kind == policy.KindDiffusion {
		c.SFT.Steps = DiffusionSFTSteps
		c.Eval.Samples = DiffusionEvalSamples
	}
	if err := c.Algorithm.ApplyPreset(); err != nil {
		return fmt.Errorf("%w: algorithm.name: %v", ErrConfig, err)
	}
	return nil
}

// Validate reports the first invalid field, naming its path.
func (c RunConfig) Validate() error {
	checks := []struct {
		path string
		err  error
	}{
		{"sft", c.SFT.Validate()},
		{"policy.model", c.Policy.Model.WithDefaults().Validate()},
		{"reward", c.Reward.Validate()},
		{"sampling", c.Sampling.Validate()},
		{"algorithm", (objective.GRPOConfig{Advantage: c.Algorithm.Advantage, Loss: c.Algorithm.Loss}).Validate()},
		{"algorithm.bvpo", c.Algorithm.BVPO.Validate()},
		{"algorithm.gdpo", c.Algorithm.GDPO.Validate()},
		{"policy.diffusion", c.Policy.Diffusion.Validate()},
		{"eval", c.Eval.Validate()},
	}
	for _, ch := range checks {
		if ch.err != nil {
			return fmt.Errorf("%w: %s: %v", ErrConfig, ch.path, ch.err)
		}
	}
	switch {
	case c.Data.Train == "":
		return fmt.Errorf("%w: data.train is empty", ErrConfig)
	case c.Data.TrainSize < 1:
		return fmt.Errorf("%w: data.train_size %d < 1", ErrConfig, c.Data.TrainSize)
	case !slices.Contains(policy.Kinds(), c.Policy.Kind):
		return fmt.Errorf("%w: policy.kind %q (want %s)", ErrConfig, c.Policy.Kind, strings.Join(policy.Kinds(), " or "))
	case c.Rollout.Kind != RolloutInProcess && c.Rollout.Kind != RolloutOpenAI:
		return fmt.Errorf("%w: rollout.kind %q (want %s or %s)", ErrConfig, c.Rollout.Kind, RolloutInProcess, RolloutOpenAI)
	case c.Rollout.Kind == RolloutOpenAI && c.Policy.Kind == policy.KindDiffusion:
		// OpenAI-compatible servers generate left to right; a diffusion
		// policy's denoising sampler is not one of theirs.
		return fmt.Errorf("%w: rollout.kind openai serves causal policies (policy.kind %s or %s), not policy.kind %s", ErrConfig, policy.KindAR, policy.KindHF, c.Policy.Kind)
	case len(c.Distributed.RolloutWorkers) > 0 && c.Policy.Kind != policy.KindAR && c.Policy.Kind != policy.KindDiffusion:
		return fmt.Errorf("%w: distributed.rollout_workers serve rlpipe's byte-level policies (policy.kind %s or %s), not policy.kind %s", ErrConfig, policy.KindAR, policy.KindDiffusion, c.Policy.Kind)
	case c.Rollout.G < 1:
		return fmt.Errorf("%w: rollout.g %d < 1", ErrConfig, c.Rollout.G)
	case c.Rollout.Workers < 1:
		return fmt.Errorf("%w: rollout.workers %d < 1", ErrConfig, c.Rollout.Workers)
	case c.Rollout.MaxNewTokens < 1:
		return fmt.Errorf("%w: rollout.max_new_tokens %d < 1", ErrConfig, c.Rollout.MaxNewTokens)
	case c.Algorithm.Epochs < 1 || c.Algorithm.MiniBatches < 1:
		return fmt.Errorf("%w: algorithm.epochs and algorithm.mini_batches must be >= 1", ErrConfig)
	case c.Algorithm.MicroBatchSize < 0:
		return fmt.Errorf("%w: algorithm.micro_batch_size %d < 0 (0: whole mini-batches)", ErrConfig, c.Algorithm.MicroBatchSize)
	case c.Algorithm.MicroBatchSize > 0 && !objective.IsGRPOFamily(c.Algorithm.Name):
		return fmt.Errorf("%w: algorithm.micro_batch_size is implemented for the GRPO family (rlpipe, grpo, dr_grpo, dapo), not algorithm %s; set it to 0",
			ErrConfig, c.Algorithm.Name)
	case c.Train.Steps < 0 || c.Train.PromptsPerStep < 1:
		return fmt.Errorf("%w: train.steps must be >= 0 and train.prompts_per_step >= 1", ErrConfig)
	case !(c.Train.LR > 0):
		return fmt.Errorf("%w: train.lr %v must be > 0", ErrConfig, c.Train.LR)
	case c.Train.MaxStaleness < 0 || c.Train.MaxStaleness > 1:
		return fmt.Errorf("%w: train.max_staleness %d (supported: 0 or 1)", ErrConfig, c.Train.MaxStaleness)
	case c.Check.Every < 0 || c.Check.KeepLast < 0:
		return fmt.Errorf("%w: checkpoint.every and checkpoint.keep_last must be >= 0", ErrConfig)
	}
	if err := c.validateRanges(); err != nil {
		return err
	}
	if err := c.validateEntropyBonus(); err != nil {
		return err
	}
	if err := c.validateKLInReward(); err != nil {
		return err
	}
	if _, err := c.modes(); err != nil {
		return err
	}
	if _, err := data.TemplateByName(c.Data.Template); err != nil {
		return fmt.Errorf("%w: data.template: %v", ErrConfig, err)
	}
	return nil
}

// validateEntropyBonus refuses algorithm.loss.entropy_coef where no learner
// would apply it: a key that is accepted must act.
func (c RunConfig) validateEntropyBonus() error {
	coef := c.Algorithm.Loss.EntropyCoef
	if coef == 0 {
		return nil
	}
	switch {
	case c.Policy.Kind == policy.KindDiffusion || learn.IsDiffusion(c.Algorithm.Name):
		return fmt.Errorf("%w: algorithm.loss.entropy_coef %v: not supported for diffusion policies (gdpo, diffu_grpo), "+
			"which sample by iterative unmasking and train on sequence-level ELBO estimates, so there is no per-token "+
			"policy entropy at the sampling temperature for the bonus to raise; set it to 0", ErrConfig, coef)
	case c.Algorithm.Name == learn.NameBVPO && c.Algorithm.BVPO.Base == learn.BVPOBaseDPO:
		return fmt.Errorf("%w: algorithm.loss.entropy_coef %v: bvpo with base dpo trains on DPO pair losses, not on the "+
			"policy loss the bonus belongs to; use algorithm.bvpo.base grpo or set it to 0", ErrConfig, coef)
	}
	return nil
}

// validateKLInReward checks algorithm.kl_in_reward: a coefficient >= 0,
// used only by the GRPO family (whose rollouts carry per-token behaviour
// log-probs) and never together with the loss's KL term — verl offers both
// but one KL is what ALGORITHMS §1.4 describes, and two would silently
// double it.
func (c RunConfig) validateKLInReward() error {
	a := c.Algorithm
	k := a.KLInReward
	switch {
	case math.IsNaN(k) || math.IsInf(k, 0) || k < 0:
		return fmt.Errorf("%w: algorithm.kl_in_reward %v: want >= 0 (0 = off)", ErrConfig, k)
	case k == 0:
		return nil
	case a.Loss.Beta > 0:
		return fmt.Errorf("%w: algorithm.kl_in_reward (%v) and algorithm.loss.beta (%v) are mutually exclusive: put the KL in the reward or in the loss, and set the other to 0", ErrConfig, k, a.Loss.Beta)
	case a.Name == learn.NameBVPO || learn.IsDiffusion(a.Name):
		return fmt.Errorf("%w: algorithm.kl_in_reward applies to the GRPO family (rlpipe, grpo, dr_grpo, dapo), not algorithm.name %s", ErrConfig, a.Name)
	}
	return nil
}

// validateAlgorithm checks that the algorithm suits the policy kind (RL
// only; SFT trains either kind) and that its learner accepts the settings
// (after presets, so not in Validate, which also sees configurations
// before their preset).
func (c RunConfig) validateAlgorithm() error {
	if err := learn.Check(c.Algorithm); err != nil {
		return fmt.Errorf("%w: algorithm: %v", ErrConfig, err)
	}
	diffusionAlgo := learn.IsDiffusion(c.Algorithm.Name)
	switch {
	case c.Policy.Kind == policy.KindDiffusion && !diffusionAlgo:
		return fmt.Errorf("%w: policy.kind diffusion trains with algorithm.name gdpo or diffu_grpo, not %q", ErrConfig, c.Algorithm.Name)
	case c.Policy.Kind != policy.KindDiffusion && diffusionAlgo:
		return fmt.Errorf("%w: algorithm.name %q needs policy.kind diffusion", ErrConfig, c.Algorithm.Name)
	}
	return nil
}

// lossConfig is algorithm.loss as the learner applies it: a constant
// normaliser the user left at 0 — dr_grpo's max_len, the S (scale_factor)
// of seq-mean-token-sum-norm — becomes the generation budget, so that the
// divisor is ALGORITHMS §1.6's G·L_max rather than the width of each
// mini-batch's longest completion. Other modes ignore both fields, so the
// default run's loss is unchanged.
func (c RunConfig) lossConfig() objective.LossConfig {
	l := c.Algorithm.Loss
	switch l.Agg {
	case objective.AggDrGRPO:
		if l.MaxLen == 0 {
			l.MaxLen = c.maxNewTokens()
		}
	case objective.AggSeqMeanTokenSumNorm:
		if l.ScaleFactor == 0 {
			l.ScaleFactor = float64(c.maxNewTokens())
		}
	}
	return l
}

// maxNewTokens is the generation budget: rollout.max_new_tokens, or the
// diffusion canvas for diffusion policies.
func (c RunConfig) maxNewTokens() int {
	if c.Policy.Kind == policy.KindDiffusion {
		return c.Policy.Diffusion.Canvas
	}
	return c.Rollout.MaxNewTokens
}

func (c RunConfig) modes() ([]uint8, error) {
	if c.Algorithm.Name == learn.NameBVPO {
		// BVPO mixes the two modes' losses: it always rolls out both.
		return []uint8{data.ModeTrace, data.ModeEmpty}, nil
	}
	if len(c.Rollout.Modes) == 0 {
		return []uint8{data.ModeTrace}, nil
	}
	var out []uint8
	for _, m := range c.Rollout.Modes {
		switch m {
		case "trace":
			out = append(out, data.ModeTrace)
		case "empty":
			out = append(out, data.ModeEmpty)
		default:
			return nil, fmt.Errorf("%w: rollout.modes: unknown mode %q (want trace or empty)", ErrConfig, m)
		}
	}
	return out, nil
}
