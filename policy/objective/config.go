package objective

import (
	"fmt"
	"math"
)

// Defaults of the clipped surrogate (ALGORITHMS §7).
const (
	DefaultClipLow  = 0.2
	DefaultClipHigh = 0.28 // clip-higher on by default (DAPO)
	DefaultDualClip = 3.0  // verl clip_ratio_c
	logRatioClamp   = 20.0 // verl clamps ℓ − ℓ_old to ±20 before exp
)

// LossConfig configures [PolicyLoss]. Every number is taken literally,
// zero included (ClipHigh 0 clips at exactly 1 + 0, DualClip 0 = off, Beta
// 0 = no KL, EntropyCoef 0 = no bonus); only the clip bounds, which have a
// meaningful 0, are pointers so that "unset" (nil, YAML null) can take the
// default. Agg and KL take a default when "". [DefaultGRPOConfig] returns
// rlpipe's §7 values (which turn the dual clip on); the zero value is valid
// and equals them except DualClip.
type LossConfig struct {
	// ClipLow is ε_low; nil means 0.2. 0 is allowed (no room below ρ = 1).
	ClipLow *float64 `yaml:"clip_low"`
	// ClipHigh is ε_high; nil means 0.28. 0 is allowed (ρ clipped at 1 for
	// A > 0).
	ClipHigh *float64 `yaml:"clip_high"`
	// DualClip is verl's c (> 1) bounding the loss of A < 0 tokens by −A·c;
	// 0 disables it (TRL, EasyR1 numbers).
	DualClip float64 `yaml:"dual_clip"`
	// Agg is the aggregation mode; "" means token-mean.
	Agg AggMode `yaml:"agg"`
	// ScaleFactor is S for seq-mean-token-sum-norm; 0 uses the padded width,
	// which changes with padding (pitfall §1.10.9). The pipeline replaces 0
	// by rollout.max_new_tokens, keeping S constant (§1.6).
	ScaleFactor float64 `yaml:"scale_factor"`
	// MaxLen is the constant length of dr_grpo; 0 uses the padded width. The
	// pipeline replaces 0 by rollout.max_new_tokens (§1.6's L_max).
	MaxLen int `yaml:"max_len"`
	// Beta is the KL coefficient; the reference log-probs are needed only
	// when Beta > 0.
	Beta float64 `yaml:"beta"`
	// KL is the estimator used when Beta > 0; "" means k3 (verl low_var_kl).
	KL KLType `yaml:"kl"`
	// EntropyCoef weighs the entropy bonus −EntropyCoef·agg(H), H the
	// per-token entropy of the policy at the sampling temperature, agg the
	// loss's own aggregation (verl entropy_coeff; positive raises entropy,
	// 0 is off). Its value is [LossResult.EntropyLoss]; its gradient is with
	// respect to H ([LossResult.DEntropy]), which the model back-propagates
	// through the logits, so it is not part of DLogp.
	EntropyCoef float64 `yaml:"entropy_coef"`
}

// Validate reports out-of-range values.
func (c LossConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"clip_low", c.clipLow()}, {"clip_high", c.clipHigh()}, {"dual_clip", c.DualClip},
		{"scale_factor", c.ScaleFactor}, {"beta", c.Beta}, {"entropy_coef", c.EntropyCoef}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%w: loss.%s is %v", ErrInvalid, f.name, f.v)
		}
	}
	switch {
	case c.clipLow() < 0 || c.clipLow() >= 1:
		return fmt.Errorf("%w: loss.clip_low %v: want 0 <= ε_low < 1", ErrInvalid, c.clipLow())
	case c.clipHigh() < 0:
		return fmt.Errorf("%w: loss.clip_high %v: want >= 0", ErrInvalid, c.clipHigh())
	case c.DualClip != 0 && c.DualClip <= 1:
		return fmt.Errorf("%w: loss.dual_clip %v: want 0 (off) or > 1", ErrInvalid, c.DualClip)
	case c.ScaleFactor < 0 || c.MaxLen < 0 || c.Beta < 0:
		return fmt.Errorf("%w: loss: scale_factor, max_len and beta must be >= 0", ErrInvalid)
	}
	if err := c.Agg.Validate(); err != nil {
		return fmt.Errorf("loss.agg: %w", err)
	}
	if err := c.KL.Validate(); err != nil {
		return fmt.Errorf("loss.kl: %w", err)
	}
	return nil
}

func (c LossConfig) clipLow() float64 { return valueOr(c.ClipLow, DefaultClipLow) }

func (c LossConfig) clipHigh() float64 { return valueOr(c.ClipHigh, DefaultClipHigh) }

// valueOr is *p, or def when p is nil (an unset optional number).
func valueOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

func (c LossConfig) agg() AggMode {
	if c.Agg == "" {
		return AggTokenMean
	}
	return c.Agg
}

// GRPOConfig bundles the advantage and loss settings of a GRPO-family run.
type GRPOConfig struct {
	Advantage AdvantageConfig `yaml:"advantage"`
	Loss      LossConfig      `yaml:"loss"`
}

// Validate validates both parts.
func (c GRPOConfig) Validate() error {
	if err := c.Advantage.Validate(); err != nil {
		return err
	}
	return c.Loss.Validate()
}

// DefaultGRPOConfig returns rlpipe's defaults (ALGORITHMS §7): unbiased
// group std with ε = 1e-6, ε_low/ε_high = 0.2/0.28, dual clip c = 3,
// token-mean, no KL (β = 0; k3 when turned on), no entropy bonus.
func DefaultGRPOConfig() GRPOConfig {
	return GRPOConfig{
		Advantage: AdvantageConfig{Std: StdGroup, Eps: DefaultAdvantageEps},
		Loss: LossConfig{ClipLow: new(DefaultClipLow), ClipHigh: new(DefaultClipHigh), DualClip: DefaultDualClip,
			Agg: AggTokenMean, KL: KLk3},
	}
}

// Preset names accepted by [Preset].
const (
	PresetDefault = "rlpipe"
	PresetGRPO    = "grpo"
	PresetDrGRPO  = "dr_grpo"
	PresetDAPO    = "dapo"
)

// Preset returns a documented combination (ALGORITHMS §1.6–1.8, §7):
//
//   - "rlpipe" (or ""): [DefaultGRPOConfig].
//   - "grpo": DeepSeekMath GRPO through verl's knobs — group std, ε 0.2/0.2,
//     dual clip 3, seq-mean-token-mean (the paper's 1/|o_i|), KL in the loss
//     with k3 and β = 0.001 (verl kl_loss_coef, DeepSeek-R1).
//   - "dr_grpo": no std division, ε 0.2/0.2, dual clip 3, TRL's dr_grpo
//     normaliser B·MaxLen, β = 0. MaxLen stays 0 here (the padded width):
//     the caller knows the completion budget and must set it for §1.6's
//     constant G·L_max (the pipeline uses rollout.max_new_tokens).
//   - "dapo": group std, clip-higher 0.2/0.28, dual clip 3, token-mean, β = 0.
//     DAPO's dynamic sampling and overlong shaping live in the sampler and the
//     reward package, not here.
func Preset(name string) (GRPOConfig, error) {
	c := DefaultGRPOConfig()
	switch name {
	case "", PresetDefault:
	case PresetGRPO:
		c.Loss.ClipHigh = new(0.2)
		c.Loss.Agg = AggSeqMeanTokenMean
		c.Loss.Beta = 0.001
	case PresetDrGRPO:
		c.Advantage.Std = StdNone
		c.Loss.ClipHigh = new(0.2)
		c.Loss.Agg = AggDrGRPO
	case PresetDAPO:
		c.Loss.ClipHigh = new(0.28)
		c.Loss.Agg = AggTokenMean
	default:
		return GRPOConfig{}, fmt.Errorf("%w: preset %q: want rlpipe, grpo, dr_grpo or dapo", ErrInvalid, name)
	}
	return c, nil
}

// IsGRPOFamily reports whether name is one of Preset's names: an
// algorithm trained with PolicyLoss.
func IsGRPOFamily(name string) bool {
	_, err := Preset(name)
	return err == nil
}
