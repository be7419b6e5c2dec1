package objective

import (
	"fmt"
	"math"
)

// MinAlphaMicroBatches is the fewest micro-batches per mode [AlphaEstimator]
// accepts: fewer make the covariance estimates useless.
const MinAlphaMicroBatches = 4

// BVPOConfig configures BVPO mixing (ALGORITHMS §4, §7): loss = α·L_trace +
// (1−α)·L_empty. The zero value is valid (α = 0, fixed: empty-trace loss
// only); [DefaultBVPOConfig] gives rlpipe's defaults.
type BVPOConfig struct {
	// Alpha is the fixed α in [0,1] (default 0.5), and the value reported by
	// an auto estimator before its first update.
	Alpha float64 `yaml:"alpha"`
	// Auto turns on "alpha: auto": α is the MSE-optimal α* of §4.2 estimated
	// from micro-batch gradients by [AlphaEstimator] (rlpipe's extension, not
	// the paper's).
	Auto bool `yaml:"auto"`
	// Smoothing μ of the EMA on α*: α ← μ·α + (1−μ)·α*; 0 = none, default 0.9.
	Smoothing float64 `yaml:"smoothing"`
	// BiasMomentum is the momentum of the running gradient means behind the
	// bias proxy; 0 = current step only, default 0.9.
	BiasMomentum float64 `yaml:"bias_momentum"`
}

// DefaultBVPOConfig returns α = 0.5 fixed, smoothing 0.9, bias momentum 0.9.
func DefaultBVPOConfig() BVPOConfig {
	return BVPOConfig{Alpha: 0.5, Smoothing: 0.9, BiasMomentum: 0.9}
}

// Validate reports values outside their ranges.
func (c BVPOConfig) Validate() error {
	switch {
	case !(c.Alpha >= 0 && c.Alpha <= 1):
		return fmt.Errorf("%w: bvpo.alpha %v: want [0,1]", ErrInvalid, c.Alpha)
	case !(c.Smoothing >= 0 && c.Smoothing < 1):
		return fmt.Errorf("%w: bvpo.smoothing %v: want [0,1)", ErrInvalid, c.Smoothing)
	case !(c.BiasMomentum >= 0 && c.BiasMomentum < 1):
		return fmt.Errorf("%w: bvpo.bias_momentum %v: want [0,1)", ErrInvalid, c.BiasMomentum)
	}
	return nil
}

// MixLoss returns α·trace + (1−α)·empty. A zero-weighted term is skipped, so
// α = 1 returns trace and α = 0 returns empty bit for bit (even if the other
// is NaN or ±Inf).
func MixLoss(alpha, trace, empty float64) float64 {
	switch alpha {
	case 1:
		return trace
	case 0:
		return empty
	}
	return alpha*trace + (1-alpha)*empty
}

// ScaleGrad multiplies every entry of d in place by w: use w = α on the
// trace rows' dLoss/dℓ and w = 1−α on the empty-trace rows'. w = 1 leaves d
// untouched and w = 0 writes +0, so the end points reproduce the unmixed
// gradients exactly.
func ScaleGrad(d [][]float64, w float64) {
	if w == 1 {
		return
	}
	for _, row := range d {
		if w == 0 {
			clear(row)
			continue
		}
		for t := range row {
			row[t] *= w
		}
	}
}

// MixGrad writes α·gt + (1−α)·ge into dst (reused when long enough) for
// flat parameter gradients; α = 1 copies gt and α = 0 copies ge exactly. It
// panics if gt and ge differ in length.
func MixGrad(dst, gt, ge []float64, alpha float64) []float64 {
	if len(gt) != len(ge) {
		panic("objective: MixGrad with mismatched lengths")
	}
	dst = resizeFloats(dst, len(gt))
	switch alpha {
	case 1:
		copy(dst, gt)
	case 0:
		copy(dst, ge)
	default:
		for i := range dst {
			dst[i] = alpha*gt[i] + (1-alpha)*ge[i]
		}
	}
	return dst
}

// AlphaStats are the second-moment statistics of §4.2, all traces/squared
// norms over the parameter dimension.
type AlphaStats struct {
	VarTrace   float64 // σ_t² = tr Cov(g_t)
	VarEmpty   float64 // σ_e² = tr Cov(g_e)
	Cov        float64 // c = tr Cov(g_t, g_e)
	BiasTrace2 float64 // ‖b_t‖²
	BiasEmpty2 float64 // ‖b_e‖²
	BiasDot    float64 // ⟨b_t, b_e⟩
}

// MSE is ‖α b_t + (1−α) b_e‖² + α²σ_t² + (1−α)²σ_e² + 2α(1−α)c (§4.2).
func (s AlphaStats) MSE(alpha float64) float64 {
	b := 1 - alpha
	return alpha*alpha*s.BiasTrace2 + b*b*s.BiasEmpty2 + 2*alpha*b*s.BiasDot +
		alpha*alpha*s.VarTrace + b*b*s.VarEmpty + 2*alpha*b*s.Cov
}

// OptimalAlpha returns the minimiser of [AlphaStats.MSE] clipped to [0,1]
// (§4.2, derived form):
//
//	α* = (σ_e² − c + ‖b_e‖² − ⟨b_t,b_e⟩) / (σ_t² + σ_e² − 2c + ‖b_t − b_e‖²)
//
// A non-positive or non-finite denominator (the two estimators are
// indistinguishable) gives 0.5.
func OptimalAlpha(s AlphaStats) float64 {
	num := s.VarEmpty - s.Cov + s.BiasEmpty2 - s.BiasDot
	den := s.VarTrace + s.VarEmpty - 2*s.Cov + s.BiasTrace2 + s.BiasEmpty2 - 2*s.BiasDot
	a := num / den
	if !(den > 0) || math.IsNaN(a) || math.IsInf(a, 0) {
		return 0.5
	}
	return math.Max(0, math.Min(1, a))
}
