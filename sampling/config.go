package sampling

import (
	"fmt"
	"math"
)

// Sampler kinds accepted in Config.Kind.
const (
	KindUniform = "uniform" // epoch-based shuffling without replacement
	KindVAS     = "vas"     // Variance-Aware Sampling (MMR1), mixed with the uniform cursor
)

// Trajectory diversity scores accepted in VASConfig.TDS (ALGORITHMS §2.2, §2.5, §7).
// All are computed over completion tokens with padding stripped.
const (
	// TDSInverseSelfBLEU is 1 − self-BLEU-123 (nltk method1 smoothing): the default.
	TDSInverseSelfBLEU = "inverse_self_bleu"
	// TDSDistinct3 is |unique 3-grams| / |3-grams| pooled over the group.
	TDSDistinct3 = "distinct_3"
	// TDSEditDistance is the mean over pairs of Levenshtein(a, b)/max(|a|, |b|).
	TDSEditDistance = "edit_distance"
	// TDSMMR1CodeSelfBLEU is raw self-BLEU-123, which rewards similarity; it
	// reproduces MMR1's code exactly and exists for that purpose only.
	TDSMMR1CodeSelfBLEU = "mmr1_code_selfbleu"
)

// Refresh modes accepted in VASConfig.Refresh.
const (
	// RefreshIncremental updates a prompt's statistics from every scored
	// training group and re-weights before each pick (rlpipe's default).
	RefreshIncremental = "incremental"
	// RefreshFull is MMR1-faithful (Alg. 1): before step 0 and every
	// RefreshEvery steps the pipeline re-rolls RefreshSamples rollouts of
	// every prompt of the pool with the policy of that step, and P, OVS,
	// TDS, VPS and the weights are recomputed from them (ObserveRefresh).
	// Training groups only count; weights change only when a refresh
	// completes.
	RefreshFull = "full"
)

// Config selects and parameterises the prompt sampler. The zero value is a
// usable uniform sampler with seed 0 and no filter; DefaultConfig holds the
// documented defaults.
type Config struct {
	// Kind is KindUniform or KindVAS; "" means KindUniform. Default "vas".
	Kind string `yaml:"kind"`
	// Seed keys every draw of the sampler. Default 0.
	Seed uint64 `yaml:"seed"`
	// VAS configures Variance-Aware Sampling; ignored by the uniform sampler.
	VAS VASConfig `yaml:"vas"`
	// Filter configures DAPO dynamic sampling, applied with either kind.
	Filter FilterConfig `yaml:"filter"`
}

// VASConfig holds Variance-Aware Sampling's knobs (ALGORITHMS §2.3, §7).
// Zero values are legal settings, not "use the default"; start from
// DefaultConfig().VAS.
type VASConfig struct {
	// Lambda is the VPS-weighted share of each batch, floor(λ·B) prompts drawn
	// with replacement; the rest come from the uniform cursor. Default 0.5.
	Lambda float64 `yaml:"lambda"`
	// Alpha weights OVS = P(1−P) in VPS. Default 0.8.
	Alpha float64 `yaml:"alpha"`
	// Beta weights TDS in VPS. Default 0.2. With 0, TDS is not computed.
	Beta float64 `yaml:"beta"`
	// WMin floors every min-max weight so no prompt is starved. Default 0.01.
	WMin float64 `yaml:"w_min"`
	// EMA is the momentum μ in W = μ·W_old + (1−μ)·W_new; 1 freezes the
	// weights (MMR1's dataclass default), 0 uses the newest. Default 0.
	EMA float64 `yaml:"ema"`
	// TDS names the diversity score; "" means TDSInverseSelfBLEU.
	TDS string `yaml:"tds"`
	// Refresh is RefreshIncremental (default; "" means it): statistics from
	// the training groups, re-weighted before each pick; or RefreshFull:
	// MMR1's whole-pool re-rolls, which cost RefreshSamples rollouts per
	// prompt of the pool (and rollout mode) every RefreshEvery steps. A full
	// refresh runs in chunks of train.prompts_per_step prompts, with the
	// rollout generator (in-process, OpenAI-compatible or Flight workers)
	// and the binary verifier (eval.verifier) of the run, on a seed stream
	// of its own; its progress is checkpointed, so a run stopped mid-refresh
	// resumes at the next chunk with bit-identical results.
	Refresh string `yaml:"refresh"`
	// RefreshEvery is T_update in RefreshFull mode: refresh before the
	// steps that are multiples of it, step 0 included (unless restored from
	// a checkpoint that holds it). Default 35 (MMR1 paper, main text).
	RefreshEvery int64 `yaml:"refresh_every"`
	// RefreshSamples is N, the rollouts per prompt of a full refresh.
	// Default 8 (MMR1 yaml and code).
	RefreshSamples int `yaml:"refresh_samples"`
	// HistoryLen bounds each prompt's pass-rate history. Default 16.
	HistoryLen int `yaml:"history_len"`
}

// FilterConfig configures DAPO dynamic sampling (ALGORITHMS §1.7, §7).
type FilterConfig struct {
	// ZeroVariance drops groups whose binary accuracy has zero variance and
	// refills with newly sampled prompts. Default false.
	ZeroVariance bool `yaml:"zero_variance"`
	// MaxRefillRounds bounds the refill rounds after the first generation;
	// past it the step proceeds with fewer groups and counts it. Default 4.
	MaxRefillRounds int `yaml:"max_refill_rounds"`
}

// DefaultConfig returns rlpipe's decided defaults (ALGORITHMS §7): VAS with
// λ = 0.5, α = 0.8, β = 0.2, w_min = 0.01, μ = 0, TDS = 1 − self-BLEU-123,
// incremental statistics; the zero-variance filter off with 4 refill rounds.
func DefaultConfig() Config {
	return Config{
		Kind: KindVAS,
		VAS: VASConfig{
			Lambda: 0.5, Alpha: 0.8, Beta: 0.2, WMin: 0.01, EMA: 0,
			TDS: TDSInverseSelfBLEU, Refresh: RefreshIncremental,
			RefreshEvery: 35, RefreshSamples: 8, HistoryLen: 16,
		},
		Filter: FilterConfig{MaxRefillRounds: 4},
	}
}

// Validate reports the first invalid field, wrapping ErrConfig.
func (c Config) Validate() error {
	switch c.Kind {
	case "", KindUniform:
	case KindVAS:
		if err := c.VAS.Validate(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: kind %q, want %q or %q", ErrConfig, c.Kind, KindUniform, KindVAS)
	}
	return c.Filter.Validate()
}

// Validate reports the first invalid field, wrapping ErrConfig.
func (c VASConfig) Validate() error {
	unit := []struct {
		name string
		v    float64
	}{{"lambda", c.Lambda}, {"w_min", c.WMin}, {"ema", c.EMA}}
	for _, f := range unit {
		if !(f.v >= 0 && f.v <= 1) {
			return fmt.Errorf("%w: vas.%s = %v, want within [0, 1]", ErrConfig, f.name, f.v)
		}
	}
	if !(c.Alpha >= 0) || !(c.Beta >= 0) || math.IsInf(c.Alpha+c.Beta, 0) || c.Alpha+c.Beta == 0 {
		return fmt.Errorf("%w: vas.alpha = %v, vas.beta = %v: want finite, non-negative, not both 0", ErrConfig, c.Alpha, c.Beta)
	}
	if _, err := tdsFunc(c.TDS); err != nil {
		return err
	}
	if c.RefreshEvery < 0 || c.RefreshSamples < 0 {
		return fmt.Errorf("%w: vas.refresh_every = %d, vas.refresh_samples = %d, want >= 0", ErrConfig, c.RefreshEvery, c.RefreshSamples)
	}
	switch c.Refresh {
	case "", RefreshIncremental:
	case RefreshFull:
		if c.RefreshEvery <= 0 || c.RefreshSamples < 2 {
			return fmt.Errorf("%w: vas.refresh = full needs refresh_every > 0 and refresh_samples >= 2, got %d and %d",
				ErrConfig, c.RefreshEvery, c.RefreshSamples)
		}
	default:
		return fmt.Errorf("%w: vas.refresh %q, want %q or %q", ErrConfig, c.Refresh, RefreshIncremental, RefreshFull)
	}
	if c.HistoryLen < 0 || c.HistoryLen > 1<<16 {
		return fmt.Errorf("%w: vas.history_len = %d, want within [0, 65536]", ErrConfig, c.HistoryLen)
	}
	return nil
}

// Validate reports an invalid field, wrapping ErrConfig.
func (c FilterConfig) Validate() error {
	if c.MaxRefillRounds < 0 {
		return fmt.Errorf("%w: filter.max_refill_rounds = %d, want >= 0", ErrConfig, c.MaxRefillRounds)
	}
	return nil
}
