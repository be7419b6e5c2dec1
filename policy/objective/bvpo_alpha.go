package objective

import "fmt"

// AlphaEstimator implements "alpha: auto" (ALGORITHMS §7, rlpipe's extension
// of §4.2). Each step it receives K ≥ 4 micro-batch gradients per mode, where
// micro-batch k of both modes covers the same prompts, and estimates:
//
//	ḡ_t, ḡ_e     the micro-batch means (the step's gradient of each mode)
//	σ_t², σ_e²   Σ_k ‖g^k − ḡ‖² / ((K−1)·K)   variance of the step mean
//	c            Σ_k ⟨g_t^k − ḡ_t, g_e^k − ḡ_e⟩ / ((K−1)·K)
//	M_t, M_e     running means (EMA with BiasMomentum) of ḡ_t and ḡ_e
//	b_t = 0      the trace gradient is taken as unbiased for the marginal,
//	             so G ≈ M_t
//	‖b_e‖²       max(0, ‖M_e − M_t‖² − W₂·(σ_t² + σ_e² − 2c))
//
// where W₂ is the sum of the squared EMA weights, so the subtraction removes
// the expected noise in the running means. α* = [OptimalAlpha], then
// α ← μ·α + (1−μ)·α* with μ = Smoothing (the first update takes α*), and
// clipped to [0,1]. It keeps two parameter-sized vectors. Not safe for
// concurrent use.
type AlphaEstimator struct {
	cfg          BVPOConfig
	meanT, meanE []float64
	w2           float64
	alpha        float64
	steps        int
}

// NewAlphaEstimator returns an estimator for cfg; it panics if cfg is invalid.
func NewAlphaEstimator(cfg BVPOConfig) *AlphaEstimator {
	if err := cfg.Validate(); err != nil {
		panic("objective: NewAlphaEstimator: " + err.Error())
	}
	return &AlphaEstimator{cfg: cfg, alpha: cfg.Alpha}
}

// Alpha returns the α to use now: the fixed value, or the smoothed estimate
// (cfg.Alpha before the first update).
func (e *AlphaEstimator) Alpha() float64 { return e.alpha }

// Steps returns how many updates have been applied.
func (e *AlphaEstimator) Steps() int { return e.steps }

// Update folds one step's micro-batch gradients into the estimate and
// returns the statistics used. With a fixed α (cfg.Auto false) it returns
// zero statistics and leaves α unchanged. gt[k] and ge[k] must all have the
// same length; the inputs are only read. Cost O(K·P).
func (e *AlphaEstimator) Update(gt, ge [][]float64) (AlphaStats, error) {
	if !e.cfg.Auto {
		return AlphaStats{}, nil
	}
	k := len(gt)
	if k < MinAlphaMicroBatches || len(ge) != k {
		return AlphaStats{}, fmt.Errorf("%w: bvpo alpha: need the same K >= %d micro-batches per mode, got %d and %d", ErrInvalid, MinAlphaMicroBatches, len(gt), len(ge))
	}
	p := len(gt[0])
	for j := range k {
		if len(gt[j]) != p || len(ge[j]) != p {
			return AlphaStats{}, fmt.Errorf("%w: bvpo alpha: micro-batch %d gradient lengths %d/%d, want %d", ErrInvalid, j, len(gt[j]), len(ge[j]), p)
		}
	}
	if e.meanT != nil && len(e.meanT) != p {
		return AlphaStats{}, fmt.Errorf("%w: bvpo alpha: gradient length changed from %d to %d", ErrInvalid, len(e.meanT), p)
	}
	var s AlphaStats
	mu := e.cfg.BiasMomentum
	if e.meanT == nil {
		e.meanT, e.meanE = make([]float64, p), make([]float64, p)
		mu = 0
	}
	e.w2 = mu*mu*e.w2 + (1-mu)*(1-mu)
	kf := float64(k)
	var bias2 float64
	for i := range p {
		var mt, me float64
		for j := range k {
			mt += gt[j][i]
			me += ge[j][i]
		}
		mt /= kf
		me /= kf
		for j := range k {
			dt, de := gt[j][i]-mt, ge[j][i]-me
			s.VarTrace += dt * dt
			s.VarEmpty += de * de
			s.Cov += dt * de
		}
		e.meanT[i] = mu*e.meanT[i] + (1-mu)*mt
		e.meanE[i] = mu*e.meanE[i] + (1-mu)*me
		d := e.meanE[i] - e.meanT[i]
		bias2 += d * d
	}
	scale := 1 / ((kf - 1) * kf)
	s.VarTrace *= scale
	s.VarEmpty *= scale
	s.Cov *= scale
	s.BiasEmpty2 = max(0, bias2-e.w2*(s.VarTrace+s.VarEmpty-2*s.Cov))
	a := OptimalAlpha(s)
	if e.steps > 0 {
		a = e.cfg.Smoothing*e.alpha + (1-e.cfg.Smoothing)*a
	}
	e.alpha = max(0, min(1, a))
	e.steps++
	return s, nil
}

// AlphaState is the resumable state of an [AlphaEstimator], for checkpoints.
type AlphaState struct {
	Alpha, W2            float64
	Steps                int
	MeanTrace, MeanEmpty []float64
}

// State returns a copy of the estimator's state.
func (e *AlphaEstimator) State() AlphaState {
	return AlphaState{Alpha: e.alpha, W2: e.w2, Steps: e.steps,
		MeanTrace: append([]float64(nil), e.meanT...), MeanEmpty: append([]float64(nil), e.meanE...)}
}

// SetState restores a state returned by [AlphaEstimator.State] (copied).
func (e *AlphaEstimator) SetState(s AlphaState) error {
	if len(s.MeanTrace) != len(s.MeanEmpty) || !(s.Alpha >= 0 && s.Alpha <= 1) || s.Steps < 0 {
		return fmt.Errorf("%w: bvpo alpha state: inconsistent", ErrInvalid)
	}
	e.alpha, e.w2, e.steps = s.Alpha, s.W2, s.Steps
	e.meanT, e.meanE = nil, nil
	if len(s.MeanTrace) > 0 {
		e.meanT = append([]float64(nil), s.MeanTrace...)
		e.meanE = append([]float64(nil), s.MeanEmpty...)
	}
	return nil
}
