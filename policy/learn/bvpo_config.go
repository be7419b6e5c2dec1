package learn

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/rlpipe/rlpipe/policy/objective"
)

// BVPO bases (algorithm.bvpo.base).
const (
	// BVPOBaseDPO mixes DPO losses on on-policy pairs (the paper's setting).
	BVPOBaseDPO = "dpo"
	// BVPOBaseGRPO mixes the GRPO losses of the two rollout modes (rlpipe's
	// extension beyond the paper).
	BVPOBaseGRPO = "grpo"
)

// DPO normalisations (algorithm.bvpo.normalize): what each mode's summed
// pair losses are divided by.
const (
	// BVPONormalizeGroups divides by the number of groups (distinct prompts)
	// of the mode in the batch, counting groups that yielded no pair: an
	// unbiased estimate of the per-prompt loss E_x[ℓ(x)·1(x has a pair)].
	BVPONormalizeGroups = "groups"
	// BVPONormalizePairs divides by the number of pairs: standard DPO over a
	// pair dataset, a ratio estimator when pairs come from on-policy groups.
	BVPONormalizePairs = "pairs"
)

// BVPOConfig configures the BVPO learner (algorithm.bvpo): the loss is
// α·L_trace + (1−α)·L_empty over trace and empty-trace rollouts of the same
// prompts (ALGORITHMS §4, §7). Mixing gives the part the α estimator reads
// (objective.BVPOConfig); the rest configures the base losses.
type BVPOConfig struct {
	// Alpha is the fixed mixing weight in [0,1] (default 0.5) or "auto": the
	// MSE-optimal α* of ALGORITHMS §4.2 estimated each step from
	// micro-batch gradient statistics (rlpipe's extension). With auto, a
	// step where either mode has fewer than objective.MinAlphaMicroBatches
	// kept groups, or the modes have different numbers of micro-batches,
	// trains with the previous α (0.5 before the first estimate) and logs
	// algo bvpo_alpha_fallback 1; other auto steps log 0, so the column's
	// sum counts the fallbacks.
	Alpha Alpha `yaml:"alpha"`
	// Base is "dpo" (default) or "grpo".
	Base string `yaml:"base"`
	// BetaDPO is DPO's β. Default 0.1.
	BetaDPO float64 `yaml:"beta_dpo"`
	// MicroBatches is K, the micro-batches per mode whose gradients feed
	// alpha: auto (>= objective.MinAlphaMicroBatches). Default 4.
	MicroBatches int `yaml:"micro_batches"`
	// Smoothing μ in [0,1) smooths alpha auto's α itself: α ← μ·α +
	// (1−μ)·α* after each estimate (the first estimate is taken as is).
	// Default 0.9.
	Smoothing float64 `yaml:"smoothing"`
	// BiasMomentum μ_b in [0,1) is the momentum of the running means of the
	// two modes' step gradients behind alpha auto's bias proxy ‖b_e‖²
	// (M ← μ_b·M + (1−μ_b)·ḡ, see objective.AlphaEstimator): 0 compares
	// the current step's gradients only, whose difference is mostly noise;
	// larger values average over about 1/(1−μ_b) steps, at the price of
	// lagging a drifting bias. Unlike Smoothing it changes what α* is
	// estimated from, not how α follows it. Default 0.9.
	BiasMomentum float64 `yaml:"bias_momentum"`
	// Normalize is what each mode's summed DPO pair losses are divided by:
	// "groups" (default) or "pairs". On-policy pairs exist only for groups
	// whose rewards differ, so the number of pairs is itself random, and
	// for a mode with low accuracy (few groups with a correct sample) the
	// mean over a handful of pairs is a high-variance ratio estimator;
	// dividing by the fixed number of groups instead is unbiased for the
	// per-prompt loss and keeps a mode's weight proportional to how often
	// it yields a preference signal. "pairs" is the standard DPO mean over
	// a pair dataset. Only base dpo uses it.
	Normalize string `yaml:"normalize"`
}

// DefaultBVPOConfig returns the documented defaults.
func DefaultBVPOConfig() BVPOConfig {
	return BVPOConfig{Alpha: FixedAlpha(0.5), Base: BVPOBaseDPO, BetaDPO: objective.DefaultDPOBeta,
		MicroBatches: objective.MinAlphaMicroBatches, Smoothing: 0.9, BiasMomentum: 0.9, Normalize: BVPONormalizeGroups}
}

// Mixing returns the α estimator's configuration: auto starts from α = 0.5
// before its first estimate; a fixed α is c.Alpha's value.
func (c BVPOConfig) Mixing() objective.BVPOConfig {
	if c.Alpha.IsAuto {
		return objective.BVPOConfig{Alpha: 0.5, Auto: true, Smoothing: c.Smoothing, BiasMomentum: c.BiasMomentum}
	}
	return objective.BVPOConfig{Alpha: c.Alpha.Value, Smoothing: c.Smoothing, BiasMomentum: c.BiasMomentum}
}

// Validate reports the first invalid field, wrapping ErrConfig.
func (c BVPOConfig) Validate() error {
	switch {
	case !c.Alpha.IsAuto && (c.Alpha.Value < 0 || c.Alpha.Value > 1):
		return fmt.Errorf("%w: alpha %v not in [0,1] (or \"auto\")", ErrConfig, c.Alpha.Value)
	case c.Base != BVPOBaseDPO && c.Base != BVPOBaseGRPO:
		return fmt.Errorf("%w: base %q (want %s or %s)", ErrConfig, c.Base, BVPOBaseDPO, BVPOBaseGRPO)
	case !(c.BetaDPO > 0):
		return fmt.Errorf("%w: beta_dpo %v must be > 0", ErrConfig, c.BetaDPO)
	case c.MicroBatches < 0:
		return fmt.Errorf("%w: micro_batches %d is negative", ErrConfig, c.MicroBatches)
	case c.Alpha.IsAuto && c.MicroBatches < objective.MinAlphaMicroBatches:
		return fmt.Errorf("%w: micro_batches %d: alpha auto needs at least %d", ErrConfig, c.MicroBatches, objective.MinAlphaMicroBatches)
	case c.Smoothing < 0 || c.Smoothing >= 1:
		return fmt.Errorf("%w: smoothing %v not in [0,1)", ErrConfig, c.Smoothing)
	case !(c.BiasMomentum >= 0 && c.BiasMomentum < 1):
		return fmt.Errorf("%w: bias_momentum %v not in [0,1)", ErrConfig, c.BiasMomentum)
	case c.Normalize != BVPONormalizeGroups && c.Normalize != BVPONormalizePairs:
		return fmt.Errorf("%w: normalize %q (want %s or %s)", ErrConfig, c.Normalize, BVPONormalizeGroups, BVPONormalizePairs)
	}
	return nil
}

// autoKeyword is the value of an Alpha set to "auto".
const autoKeyword = "auto"

// Alpha is algorithm.bvpo.alpha: a fixed mixing weight or the keyword
// "auto". It follows the run configuration's scalar-or-keyword pattern
// (pipeline/config.OrAuto): the config walker treats it as a leaf that
// decodes and encodes itself. Its zero value is the fixed weight 0.
type Alpha struct {
	// IsAuto reports that "auto" was given; Value is then ignored.
	IsAuto bool
	// Value is the fixed weight when IsAuto is false.
	Value float64
}

// FixedAlpha returns the fixed weight v.
func FixedAlpha(v float64) Alpha { return Alpha{Value: v} }

// AutoAlpha returns "auto".
func AutoAlpha() Alpha { return Alpha{IsAuto: true} }

// String returns "auto" or the weight formatted with %v.
func (a Alpha) String() string {
	if a.IsAuto {
		return autoKeyword
	}
	return fmt.Sprint(a.Value)
}

// MarshalYAML writes "auto" or the weight.
func (a Alpha) MarshalYAML() (any, error) {
	if a.IsAuto {
		return autoKeyword, nil
	}
	return a.Value, nil
}

// UnmarshalYAML accepts the plain scalar auto or a number.
func (a *Alpha) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && n.Value == autoKeyword {
		*a = Alpha{IsAuto: true}
		return nil
	}
	var v float64
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("cannot use %q as %T or %q", n.Value, v, autoKeyword)
	}
	*a = Alpha{Value: v}
	return nil
}
