package objective

import (
	"fmt"
	"math"
)

// LossInput is one batch for [PolicyLoss]. All matrices have B rows; row i of
// each has the same length as Mask[i]. The function only reads it.
type LossInput struct {
	// Logp is ℓ[i][t], the current policy's log-prob of each completion token.
	Logp [][]float64
	// OldLogp is ℓ_old, the behaviour policy (use a copy of Logp on the first
	// inner iteration).
	OldLogp [][]float64
	// RefLogp is ℓ_ref; read only when Beta > 0 (may be nil otherwise).
	RefLogp [][]float64
	// Mask is 1 on completion tokens (through EOS), 0 on padding.
	Mask [][]float64
	// Adv is the per-row advantage A_i from [GroupAdvantages].
	Adv []float64
	// Entropy is the per-token entropy H[i][t] of the policy's tempered
	// next-token distribution; required when EntropyCoef != 0, otherwise
	// optional (nil: not reported).
	Entropy [][]float64
	// Tokens and Seqs override the local normalisers (see [AggParams]) so that
	// micro-batches of one mini-batch sum to the mini-batch loss.
	Tokens, Seqs float64
}

// LossMetrics are the diagnostics of one [PolicyLoss] call. Fractions and
// means are mask-weighted over tokens.
type LossMetrics struct {
	PGLoss       float64 // aggregated clipped-surrogate term
	KLLoss       float64 // aggregated KL term (before β); 0 when β = 0
	Entropy      float64 // aggregated entropy; 0 without Entropy input
	ClipFracLow  float64 // A < 0 and ρ < 1−ε_low (lower clip active, gradient 0)
	ClipFracHigh float64 // A > 0 and ρ > 1+ε_high (upper clip active, gradient 0)
	ClipFracDual float64 // A < 0 and −A·c below the clipped loss (dual clip active)
	RatioMean    float64 // mean ρ
	RatioMax     float64 // max ρ over unmasked tokens
	KLMean       float64 // mean per-token KL estimate vs the reference; 0 when β = 0
	ApproxKL     float64 // mean(ℓ_old − ℓ), verl ppo_kl
	Tokens       float64 // Σ mask
}

// LossResult is the output of [PolicyLoss].
type LossResult struct {
	// Loss = PGLoss + β·KLLoss; DLogp is its exact gradient.
	Loss float64
	// EntropyLoss = −EntropyCoef·agg(H) (verl: the entropy term is
	// aggregated with the same mode and subtracted), reported separately
	// because its gradient is with respect to H, not ℓ.
	EntropyLoss float64
	// DLogp is dLoss/dℓ[i][t], zero where the mask is 0.
	DLogp [][]float64
	// DEntropy is dEntropyLoss/dH[i][t] = −EntropyCoef·mask·s_i (s_i from
	// [AggScales]), zero where the mask is 0; nil when EntropyCoef is 0.
	// The model back-propagates it through H's dependence on the logits.
	DEntropy [][]float64
	Metrics  LossMetrics
}

// Total returns Loss + EntropyLoss, the full objective value.
func (r LossResult) Total() float64 { return r.Loss + r.EntropyLoss }

// PolicyLoss computes the GRPO-family loss (ALGORITHMS §1.3–1.5) and its
// gradient with respect to in.Logp. Per token, with ρ = exp(clamp(ℓ−ℓ_old, ±20)):
//
//	L1 = −A·ρ;  L2 = −A·clip(ρ, 1−ε_low, 1+ε_high);  Lc = max(L1, L2)
//	L  = min(Lc, −A·c) if A < 0 and c > 0, else Lc
//	loss = agg(L) + β·agg(KL(ℓ, ℓ_ref))
//	entropy loss = −EntropyCoef·agg(H)
//
// dLogp is reused as the gradient's storage when its shape matches (no
// allocation), otherwise a new matrix is allocated; DEntropy is allocated
// only when EntropyCoef != 0. Cost O(Σ row lengths).
func PolicyLoss(dLogp [][]float64, in *LossInput, cfg LossConfig) (LossResult, error) {
	if err := cfg.Validate(); err != nil {
		return LossResult{}, err
	}
	if err := checkLossInput(in, cfg.Beta > 0); err != nil {
		return LossResult{}, err
	}
	if cfg.EntropyCoef != 0 && in.Entropy == nil {
		// Without entropies the bonus would silently be zero.
		return LossResult{}, fmt.Errorf("%w: loss: entropy_coef %v needs the per-token entropies", ErrInvalid, cfg.EntropyCoef)
	}
	dLogp = shapeLike(dLogp, in.Mask)
	var dEnt [][]float64
	if cfg.EntropyCoef != 0 {
		dEnt = shapeLike(nil, in.Mask)
	}
	mode := cfg.agg()
	norm := aggNorm(in.Mask, mode, AggParams{ScaleFactor: cfg.ScaleFactor, MaxLen: cfg.MaxLen, Tokens: in.Tokens, Seqs: in.Seqs})
	tok := tokenLoss{lo: 1 - cfg.clipLow(), hi: 1 + cfg.clipHigh(), c: cfg.DualClip, beta: cfg.Beta, kl: cfg.KL}
	var res LossResult
	var acc metricAcc
	for i, mrow := range in.Mask {
		s := rowScale(mrow, mode, norm)
		var pgRow, klRow, hRow float64
		grow := dLogp[i]
		for t, m := range mrow {
			if m == 0 {
				grow[t] = 0
				continue
			}
			var ref float64
			if cfg.Beta > 0 {
				ref = in.RefLogp[i][t]
			}
			pg, kl, g := tok.eval(in.Logp[i][t], in.OldLogp[i][t], ref, in.Adv[i], m, &acc)
			pgRow += m * pg
			klRow += m * kl
			if in.Entropy != nil {
				hRow += m * in.Entropy[i][t]
			}
			grow[t] = s * m * g
			if dEnt != nil {
				dEnt[i][t] = -cfg.EntropyCoef * s * m
			}
		}
		res.Metrics.PGLoss += s * pgRow
		res.Metrics.KLLoss += s * klRow
		res.Metrics.Entropy += s * hRow
	}
	res.Metrics = acc.finish(res.Metrics)
	res.Loss = res.Metrics.PGLoss + cfg.Beta*res.Metrics.KLLoss
	if cfg.EntropyCoef != 0 {
		res.EntropyLoss = -cfg.EntropyCoef * res.Metrics.Entropy
	}
	res.DLogp, res.DEntropy = dLogp, dEnt
	return res, nil
}

// tokenLoss holds the per-token constants of the surrogate.
type tokenLoss struct {
	lo, hi, c, beta float64
	kl              KLType
}

// eval returns the surrogate loss, the KL value and d(L + β·KL)/dℓ of one
// token, and records metrics weighted by m.
func (p tokenLoss) eval(logp, old, ref, a, m float64, acc *metricAcc) (pg, kl, grad float64) {
	lr := logp - old
	lrc := math.Max(-logRatioClamp, math.Min(logRatioClamp, lr))
	rho := math.Exp(lrc)
	drho := rho
	if lr != lrc {
		drho = 0
	}
	l1 := -a * rho
	l2 := -a * math.Max(p.lo, math.Min(p.hi, rho))
	var clipLow, clipHigh, dual bool
	if l2 > l1 {
		pg = l2 // clip active: constant in ℓ
		clipLow, clipHigh = a < 0, a > 0
	} else {
		pg, grad = l1, -a*drho
	}
	if p.c > 0 && a < 0 {
		if l3 := -a * p.c; l3 < pg {
			pg, grad, dual = l3, 0, true
		}
	}
	if p.beta > 0 {
		v, dv := p.kl.KL(logp, ref)
		kl = v
		grad += p.beta * dv
	}
	acc.add(m, rho, old-logp, kl, clipLow, clipHigh, dual)
	return pg, kl, grad
}

// metricAcc accumulates mask-weighted token metrics.
type metricAcc struct {
	w, low, high, dual, ratio, approx, kl float64
	ratioMax                              float64
	seen                                  bool
}

func (a *metricAcc) add(m, rho, approx, kl float64, low, high, dual bool) {
	a.w += m
	a.ratio += m * rho
	a.approx += m * approx
	a.kl += m * kl
	if low {
		a.low += m
	}
	if high {
		a.high += m
	}
	if dual {
		a.dual += m
	}
	if !a.seen || rho > a.ratioMax {
		a.ratioMax, a.seen = rho, true
	}
}

func (a *metricAcc) finish(m LossMetrics) LossMetrics {
	m.Tokens = a.w
	m.RatioMax = a.ratioMax
	if a.w == 0 {
		return m
	}
	m.ClipFracLow = a.low / a.w
	m.ClipFracHigh = a.high / a.w
	m.ClipFracDual = a.dual / a.w
	m.RatioMean = a.ratio / a.w
	m.ApproxKL = a.approx / a.w
	m.KLMean = a.kl / a.w
	return m
}

// checkLossInput verifies that every matrix matches the mask's shape.
func checkLossInput(in *LossInput, needRef bool) error {
	b := len(in.Mask)
	if len(in.Adv) != b {
		return fmt.Errorf("%w: loss: %d mask rows but %d advantages", ErrInvalid, b, len(in.Adv))
	}
	mats := []struct {
		name string
		x    [][]float64
		need bool
	}{{"logp", in.Logp, true}, {"old_logp", in.OldLogp, true}, {"ref_logp", in.RefLogp, needRef}, {"entropy", in.Entropy, false}}
	for _, mt := range mats {
		if mt.x == nil && !mt.need {
			continue
		}
		if err := sameShape(mt.name, mt.x, in.Mask); err != nil {
			return err
		}
	}
	return nil
}

func sameShape(name string, x, mask [][]float64) error {
	if len(x) != len(mask) {
		return fmt.Errorf("%w: %s has %d rows, mask %d", ErrInvalid, name, len(x), len(mask))
	}
	for i := range x {
		if len(x[i]) != len(mask[i]) {
			return fmt.Errorf("%w: %s row %d has %d tokens, mask %d", ErrInvalid, name, i, len(x[i]), len(mask[i]))
		}
	}
	return nil
}

// shapeLike returns dst if it has like's shape, else a new zeroed matrix.
func shapeLike(dst, like [][]float64) [][]float64 {
	if sameShape("", dst, like) == nil {
		return dst
	}
	if len(dst) != len(like) {
		dst = make([][]float64, len(like))
	}
	for i, r := range like {
		if len(dst[i]) != len(r) {
			if cap(dst[i]) >= len(r) {
				dst[i] = dst[i][:len(r)]
			} else {
				dst[i] = make([]float64, len(r))
			}
		}
	}
	return dst
}
