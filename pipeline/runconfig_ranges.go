package pipeline

import (
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// validateRanges checks the numeric keys of the run configuration that no
// section's own Validate covers, against the ranges docs/config.md gives
// them, so that a bad value stops the run before the SFT warm start rather
// than inside it. Each error names the key's full path. NaN and infinities
// are refused earlier, for every float key, by config.Validate.
func (c RunConfig) validateRanges() error {
	type check struct {
		bad  bool
		key  string
		val  any
		want string
	}
	fresh := c.Policy.Init == "" && c.Policy.Kind != policy.KindHF
	checks := []check{
		{c.Data.Difficulty < 0 || c.Data.Difficulty > data.MaxDifficulty, "data.difficulty", c.Data.Difficulty, fmt.Sprintf("0 (default) or 1..%d", data.MaxDifficulty)},
		{fresh && c.Policy.Model.Vocab != 0 && c.Policy.Model.Vocab != tokenizer.Size, "policy.model.vocab", c.Policy.Model.Vocab, fmt.Sprintf("%d, the byte tokenizer's size (or 0)", tokenizer.Size)},
		{c.SFT.WeightDecay < 0, "sft.weight_decay", c.SFT.WeightDecay, ">= 0"},
		{c.SFT.ClipNorm < 0, "sft.clip_norm", c.SFT.ClipNorm, ">= 0 (0 disables clipping)"},
		{c.Rollout.Temperature < 0, "rollout.temperature", c.Rollout.Temperature, ">= 0 (0 is greedy)"},
		{c.Rollout.TopP < 0 || c.Rollout.TopP > 1, "rollout.top_p", c.Rollout.TopP, "within [0, 1] (0 and 1 are off)"},
		{c.Rollout.TopK < 0, "rollout.top_k", c.Rollout.TopK, ">= 0 (0 is off)"},
		{c.Train.WeightDecay < 0, "train.weight_decay", c.Train.WeightDecay, ">= 0"},
		{c.Train.ClipNorm < 0, "train.clip_norm", c.Train.ClipNorm, ">= 0 (0 disables clipping)"},
		{c.Train.WarmupSteps < 0, "train.warmup_steps", c.Train.WarmupSteps, ">= 0"},
		{c.Distributed.RequestTimeout < 0, "distributed.request_timeout", c.Distributed.RequestTimeout, ">= 0 (0 means 10m)"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("%w: %s = %v, want %s", ErrConfig, ch.key, ch.val, ch.want)
		}
	}
	return nil
}
