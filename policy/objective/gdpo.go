package objective

import (
	"fmt"
	"math"
)

// RatioMode selects GDPO's importance ratio (ALGORITHMS §3.3, §3.4).
type RatioMode string

// Ratio modes.
const (
	// RatioLengthNorm is r = exp((ELBO_θ − ELBO_old)/|y|) (NeMo port, rlpipe default).
	RatioLengthNorm RatioMode = "length_norm"
	// RatioELBODiff is r = exp(ELBO_θ − ELBO_old) (the site's ratio read as a likelihood ratio).
	RatioELBODiff RatioMode = "elbo_diff"
	// RatioToken is diffu-GRPO's per-token ratio ρ_{i,k} = exp(ℓ̂_{i,k} −
	// ℓ̂^old_{i,k}) of one-step log-probs, token-mean aggregated (d1, §3.4);
	// it needs the one_step estimator. See [GDPOTokenLoss].
	RatioToken RatioMode = "token"
)

// DefaultGDPOClip is GDPO's symmetric ε.
const DefaultGDPOClip = 0.2

// GDPOConfig configures [GDPOLoss] and [GDPOTokenLoss]. It is independent of
// [LossConfig]: nothing falls back to the GRPO loss section. The zero value
// is rlpipe's GDPO default: length-normalised ratio, ε = 0.2 on both sides,
// no dual clip, no KL. Only the clip bounds are pointers (nil = 0.2), so
// that 0 can be set; DualClip and Beta take 0 literally (off). Advantages
// come from [GroupAdvantages] with Std = StdNone (§3.3, §7).
type GDPOConfig struct {
	// Ratio is length_norm (default when ""), elbo_diff or token.
	Ratio RatioMode `yaml:"ratio"`
	// ClipLow and ClipHigh are ε_low, ε_high; nil means 0.2, 0 is allowed.
	ClipLow  *float64 `yaml:"clip_low"`
	ClipHigh *float64 `yaml:"clip_high"`
	// DualClip is verl's c for A < 0; 0 (default) disables it.
	DualClip float64 `yaml:"dual_clip"`
	// Beta weighs the KL to the reference; 0 disables it (and the reference
	// evaluation). With ratio token it is d1's per-token KL(ℓ̂, ℓ̂^ref) of
	// the one-step log-probs. Otherwise it is sequence-level (the source's
	// form is unknown; rlpipe applies KL on δ = (ELBO_ref − ELBO_θ)/n, n =
	// |y| for length_norm and 1 for elbo_diff).
	Beta float64 `yaml:"beta"`
	// KL is the estimator; "" means k3.
	KL KLType `yaml:"kl"`
	// ELBO is the likelihood estimator's masking plan.
	ELBO ELBOConfig `yaml:"elbo"`
}

// DefaultGDPOConfig returns the zero value's choices written out: the
// length-normalised ratio, ε = 0.2/0.2, no dual clip, no KL (k3 when
// turned on) and [DefaultELBOConfig].
func DefaultGDPOConfig() GDPOConfig {
	return GDPOConfig{Ratio: RatioLengthNorm, ClipLow: new(DefaultGDPOClip), ClipHigh: new(DefaultGDPOClip),
		KL: KLk3, ELBO: DefaultELBOConfig()}
}

// Validate reports unknown names and out-of-range values.
func (c GDPOConfig) Validate() error {
	switch c.Ratio {
	case "", RatioLengthNorm, RatioELBODiff:
	case RatioToken:
		if c.ELBO.Estimator != EstOneStep {
			return fmt.Errorf("%w: gdpo.ratio token needs gdpo.elbo.estimator one_step (per-token log-probs of one pass), not %q", ErrInvalid, c.ELBO.Estimator)
		}
	default:
		return fmt.Errorf("%w: gdpo.ratio %q: want length_norm, elbo_diff or token", ErrInvalid, c.Ratio)
	}
	lc := c.lossConfig()
	if err := lc.Validate(); err != nil {
		return fmt.Errorf("gdpo: %w", err)
	}
	return c.ELBO.Validate()
}

// lossConfig is the clipped surrogate of c: token-mean, which GDPOLoss does
// not read (it averages sequences itself) and GDPOTokenLoss uses as d1 does.
func (c GDPOConfig) lossConfig() LossConfig {
	return LossConfig{ClipLow: new(valueOr(c.ClipLow, DefaultGDPOClip)), ClipHigh: new(valueOr(c.ClipHigh, DefaultGDPOClip)),
		DualClip: c.DualClip, Agg: AggTokenMean, Beta: c.Beta, KL: c.KL}
}

// GDPOInput is a batch of N sequences. Only read.
type GDPOInput struct {
	// ELBO, OldELBO are the estimates under θ and the behaviour policy,
	// computed with the same masks; RefELBO is read only when Beta > 0.
	ELBO, OldELBO, RefELBO []float64
	// Len is |y| of each sequence (the completion length the ELBO sums over).
	Len []int
	// Adv is the per-sequence advantage.
	Adv []float64
	// Seqs overrides N in the mean (global count over micro-batches); 0 = local.
	Seqs float64
}

// GDPOResult is the output of [GDPOLoss]. Metrics are per-sequence means,
// with ratio and KL in the ratio's units.
type GDPOResult struct {
	Loss    float64
	DELBO   []float64 // dLoss/dELBO_θ per sequence
	Metrics LossMetrics
}

// GDPOLoss computes the sequence-level GDPO objective (§3.3):
//
//	r_g = exp(clamp(Δ_g, ±20)), Δ_g = (ELBO_θ − ELBO_old)/n_g  (n_g = |y_g|, or 1 for elbo_diff)
//	loss = (1/N) Σ_g [ max(−r_g A_g, −clip(r_g, 1−ε_l, 1+ε_h) A_g) (dual-clipped if c > 0) + β·KL_g ]
//
// and dLoss/dELBO_θ per sequence into dELBO (reused when long enough). The
// model spreads dLoss/dELBO over tokens with the plan's coefficients
// ([Eval.Coef]). Cost O(N).
func GDPOLoss(dELBO []float64, in *GDPOInput, cfg GDPOConfig) (GDPOResult, error) {
	if err := cfg.Validate(); err != nil {
		return GDPOResult{}, err
	}
	n := len(in.ELBO)
	if len(in.OldELBO) != n || len(in.Len) != n || len(in.Adv) != n || (cfg.Beta > 0 && len(in.RefELBO) != n) {
		return GDPOResult{}, fmt.Errorf("%w: gdpo: ELBO, OldELBO, Len, Adv (and RefELBO when beta > 0) need %d entries", ErrInvalid, n)
	}
	if cfg.Ratio == RatioToken {
		return GDPOResult{}, fmt.Errorf("%w: gdpo: ratio token is per token: use GDPOTokenLoss", ErrInvalid)
	}
	lc := cfg.lossConfig()
	tok := tokenLoss{lo: 1 - lc.clipLow(), hi: 1 + lc.clipHigh(), c: lc.DualClip, beta: lc.Beta, kl: lc.KL}
	dELBO = resizeFloats(dELBO, n)
	norm := float64(n)
	if in.Seqs > 0 {
		norm = in.Seqs
	}
	var res GDPOResult
	var acc metricAcc
	for g := range n {
		scale := 1.0
		if cfg.Ratio != RatioELBODiff {
			if in.Len[g] <= 0 {
				return GDPOResult{}, fmt.Errorf("%w: gdpo: sequence %d has length %d", ErrInvalid, g, in.Len[g])
			}
			scale = float64(in.Len[g])
		}
		var ref float64
		if cfg.Beta > 0 {
			ref = (in.RefELBO[g] - in.OldELBO[g]) / scale
		}
		pg, kl, grad := tok.eval((in.ELBO[g]-in.OldELBO[g])/scale, 0, ref, in.Adv[g], 1, &acc)
		res.Metrics.PGLoss += pg / norm
		res.Metrics.KLLoss += kl / norm
		dELBO[g] = grad / (scale * norm)
	}
	res.Metrics = acc.finish(res.Metrics)
	res.Loss = res.Metrics.PGLoss + cfg.Beta*res.Metrics.KLLoss
	res.DELBO = dELBO
	if math.IsNaN(res.Loss) {
		return res, fmt.Errorf("%w: gdpo: loss is NaN (non-finite ELBO input?)", ErrInvalid)
	}
	return res, nil
}

// GDPOTokenLoss is diffu-GRPO's objective (d1, ALGORITHMS §3.4) on one-step
// log-probs ℓ̂ (in.Logp, in.OldLogp, and in.RefLogp when Beta > 0, all
// evaluated with the same masks):
//
//	ρ_{i,k} = exp(ℓ̂_{i,k} − ℓ̂^old_{i,k})
//	L_{i,k} = −min(ρA_i, clip(ρ, 1−ε_low, 1+ε_high)A_i) (dual-clipped if c > 0) + β·KL(ℓ̂, ℓ̂^ref)
//	loss    = Σ m·L / Σ m   (token-mean; in.Tokens overrides Σ m)
//
// It is [PolicyLoss] with cfg's clip, KL and token-mean settings, so it
// shares verl's ±20 log-ratio clamp and k3 clamps (d1 clamps neither; the
// values differ only past them). cfg.Ratio must be RatioToken. Cost O(Σ
// row lengths).
func GDPOTokenLoss(dLogp [][]float64, in *LossInput, cfg GDPOConfig) (LossResult, error) {
	if err := cfg.Validate(); err != nil {
		return LossResult{}, err
	}
	if cfg.Ratio != RatioToken {
		return LossResult{}, fmt.Errorf("%w: gdpo: GDPOTokenLoss needs ratio token, not %q", ErrInvalid, cfg.Ratio)
	}
	return PolicyLoss(dLogp, in, cfg.lossConfig())
}
