package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout"
)

// BVPOOptions configure BVPO; zero fields take the defaults named.
type BVPOOptions struct {
	// Checkpoint is a causal policy checkpoint (also the DPO reference).
	Checkpoint string
	// Dataset is the prompt spec (default "arithmetic:test"); Prompts is how
	// many prompts every estimate uses (default 16).
	Dataset string
	Prompts int
	// G is the samples per prompt of the single-mode estimators (default
	// 8). It must be even: the mixed estimators draw G/2 samples per prompt
	// in each mode, so that every estimator sees the same prompts and the
	// same Prompts·G samples.
	G int
	// Repeats is the number of independent estimates per estimator (default
	// 16); RefRepeats the number of trace estimates averaged into the
	// reference gradient (default 32).
	Repeats, RefRepeats int
	Seed                uint64
	MaxNewTokens        int
	Temperature         float64
	// Reward is the reward spec that ranks the pairs (default "math").
	Reward string
	// Normalize is the DPO normalisation, as algorithm.bvpo.normalize
	// (default "groups").
	Normalize string
}

// BVPOMSE is one estimator's mean squared error against the reference
// gradient, with a 95% normal confidence interval over repeats.
type BVPOMSE struct {
	MSE float64    `json:"mse"`
	CI  [2]float64 `json:"ci95"`
}

// BVPOResult is the output of BVPO (rlpipe bench bvpo --json prints it).
type BVPOResult struct {
	// MSE has keys "trace", "empty", "alpha_0.5" and "alpha_star".
	MSE map[string]BVPOMSE `json:"mse"`
	// Controls are shrinkage controls at the same budget: the trace-only
	// estimate scaled by 0.5 ("trace_x0.5") and by α* ("trace_x_alpha_star",
	// second half of the repeats). MSE rewards shrinking a noisy estimate
	// towards zero, and a mix with weight α on trace shrinks the trace part
	// by α; a mix that does not beat its control gains nothing from the
	// empty-trace samples beyond that shrinkage.
	Controls map[string]BVPOMSE `json:"controls"`
	// AlphaStar is α* estimated from the first half of the repeats (and
	// evaluated on the second half, so that its MSE is not optimistic).
	AlphaStar float64 `json:"alpha_star"`
	// MixStats are the §4.2 statistics of the two half-budget estimators
	// that α* was computed from (first half of the repeats), so that a
	// result can be explained by variance and bias, not only read.
	MixStats BVPOMixStats `json:"mix_stats"`
	// RefNorm2 is ‖g_ref‖², for scale.
	RefNorm2 float64 `json:"ref_norm2"`
	// Prompts, G, Repeats, RefRepeats and Normalize echo the design.
	Prompts    int    `json:"prompts"`
	G          int    `json:"g"`
	Repeats    int    `json:"repeats"`
	RefRepeats int    `json:"ref_repeats"`
	Normalize  string `json:"normalize"`
}

// BVPOMixStats are [objective.AlphaStats] of the G/2-per-prompt trace and
// empty-trace estimators against the reference gradient: traces of the
// covariances across repeats and the squared norms of the biases of their
// means (which include the reference's own noise, ‖g_ref − E g_trace‖²).
type BVPOMixStats struct {
	VarTrace   float64 `json:"var_trace"`   // σ_t², tr Cov of the G/2 trace estimate
	VarEmpty   float64 `json:"var_empty"`   // σ_e², tr Cov of the G/2 empty-trace estimate
	Cov        float64 `json:"cov"`         // c, tr Cov between them (independent draws: ≈ 0)
	BiasTrace2 float64 `json:"bias_trace2"` // ‖b_t‖², squared bias of the trace estimate
	BiasEmpty2 float64 `json:"bias_empty2"` // ‖b_e‖², squared bias of the empty-trace estimate
	BiasDot    float64 `json:"bias_dot"`    // ⟨b_t, b_e⟩
}

// BVPO measures how well BVPO's mixed gradient estimates the
// trace-mode DPO gradient at equal sample budget (ALGORITHMS §4): the
// reference g_ref is the mean of RefRepeats trace-only estimates on the
// Prompts prompts; each estimator is drawn Repeats times with fresh
// samples, and its MSE is the mean of ‖ĝ − g_ref‖². trace and empty roll
// out G samples for each prompt in one mode; alpha_0.5 and alpha_star mix
// a trace estimate and an empty-trace estimate that each roll out G/2
// samples for every prompt, as `rlpipe run` rolls out both modes on the
// same prompts. Every estimator thus sees the same prompts as the
// reference and the same Prompts·G samples, so none carries prompt-subset
// noise that the others do not. The price is that the mixed estimators'
// DPO pairs come from groups of G/2: a group yields a pair less often, which
// the groups normalisation turns into a smaller expected gradient (a bias
// the MSE includes) rather than into a noisier pair mean.
// Option errors wrap pipeline.ErrConfig.
func BVPO(ctx context.Context, o BVPOOptions) (*BVPOResult, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	pol, err := policyfile.Load(o.Checkpoint)
	if err != nil {
		return nil, err
	}
	if pol.Kind() != policy.KindAR {
		return nil, fmt.Errorf("%w: bench bvpo needs a causal (ar) checkpoint", pipeline.ErrConfig)
	}
	prompts, err := data.ReadSpec(ctx, o.Dataset, data.WithN(o.Prompts), data.WithSeed(o.Seed))
	if err != nil {
		return nil, err
	}
	prompts = prompts[:min(len(prompts), o.Prompts)]
	scorer, err := reward.NewScorer(reward.Config{Spec: o.Reward, OnError: reward.OnErrorZero, MaxErrorRate: 1})
	if err != nil {
		return nil, err
	}
	defer scorer.Close()
	opt, _ := optim.NewAdamW(optim.AdamWConfig{})
	sched, _ := optim.NewSchedule(optim.ScheduleConfig{}, 1)
	cfg := learn.DefaultBVPOConfig()
	cfg.Normalize = o.Normalize
	bl, err := learn.New(learn.Env{Policy: pol.Model, Ref: pol.Model.Clone(), Opt: opt, Sched: sched,
		Algo: learn.Config{Name: learn.NameBVPO, BVPO: cfg}, Temperature: o.Temperature})
	if err != nil {
		return nil, err
	}
	b := &bvpoBench{o: o, prompts: prompts, scorer: scorer, pol: pol, bl: bl}

	ref := make([]float64, 0)
	for i := 0; i < o.RefRepeats; i++ {
		g, err := b.gradient(ctx, data.ModeTrace, o.G, uint64(1_000_000+i))
		if err != nil {
			return nil, err
		}
		ref = addScaled(ref, g, 1/float64(o.RefRepeats))
	}
	return b.measure(ctx, ref)
}

func (o BVPOOptions) withDefaults() BVPOOptions {
	o.Dataset = cmp.Or(o.Dataset, "arithmetic:test")
	o.Prompts = cmp.Or(o.Prompts, 16)
	o.G = cmp.Or(o.G, 8)
	o.Repeats = cmp.Or(o.Repeats, 16)
	o.Repeats += o.Repeats % 2
	o.RefRepeats = cmp.Or(o.RefRepeats, 32)
	o.MaxNewTokens = cmp.Or(o.MaxNewTokens, 96)
	o.Temperature = cmp.Or(o.Temperature, 1)
	o.Reward = cmp.Or(o.Reward, "math")
	o.Normalize = cmp.Or(o.Normalize, learn.BVPONormalizeGroups)
	return o
}

// validate reports options that would make the estimators' budgets
// unequal or the normalisation unknown. Errors wrap [pipeline.ErrConfig].
func (o BVPOOptions) validate() error {
	switch {
	case o.G < 2 || o.G%2 != 0:
		return fmt.Errorf("%w: bench bvpo: --g %d must be even and at least 2: the mixed estimators draw G/2 samples per prompt in each mode", pipeline.ErrConfig, o.G)
	case o.Prompts < 1 || o.Repeats < 2 || o.RefRepeats < 1:
		return fmt.Errorf("%w: bench bvpo: need at least 1 prompt, 2 repeats and 1 reference repeat (got --prompts %d, --repeats %d, --ref-repeats %d)", pipeline.ErrConfig, o.Prompts, o.Repeats, o.RefRepeats)
	case o.Normalize != learn.BVPONormalizeGroups && o.Normalize != learn.BVPONormalizePairs:
		return fmt.Errorf("%w: bench bvpo: --normalize %q (want %s or %s)", pipeline.ErrConfig, o.Normalize, learn.BVPONormalizeGroups, learn.BVPONormalizePairs)
	}
	return nil
}

// bvpoBench is one BVPO measurement: its prompts, scorer, policy and
// learner.
type bvpoBench struct {
	o       BVPOOptions
	prompts []data.Prompt
	scorer  *reward.Scorer
	pol     *policyfile.Policy
	bl      learn.Learner // a bvpo learner, for learn.ModeGradient
}

// gradient draws g samples for each of the bench's prompts in mode with the
// given seed and returns the DPO gradient of that mode's pairs.
func (b *bvpoBench) gradient(ctx context.Context, mode uint8, g int, seed uint64) ([]float64, error) {
	gen := b.pol
	in := &rollout.InProcess{Model: gen.Model, Codec: gen.Tokenizer, Renderer: rollout.TemplateRenderer{}}
	rows, err := in.Generate(ctx, rollout.Request{Prompts: b.prompts, G: g, Modes: []uint8{mode}, Seed: b.o.Seed ^ seed,
		Params: data.GenParams{Temperature: b.o.Temperature, MaxNewTokens: b.o.MaxNewTokens}})
	if err != nil {
		return nil, err
	}
	// The scorer's max_error_rate is 1: Err never fails, rows in error
	// score 0 (on_error zero).
	scored, sum, err := b.scorer.ScoreRollouts(ctx, rows)
	if err == nil {
		err = sum.Err()
	}
	if err != nil {
		return nil, err
	}
	train := make([]data.TrainRow, len(scored))
	for i := range scored {
		train[i] = data.TrainRow{Scored: scored[i], Keep: true}
	}
	return learn.ModeGradient(b.bl, train, mode)
}

// bvpoDraw is one repeat's four gradient estimates: trace and empty with G
// samples per prompt, traceHalf and emptyHalf with G/2.
type bvpoDraw struct{ trace, empty, traceHalf, emptyHalf []float64 }

// measure draws o.Repeats bvpoDraws and summarises each estimator's and
// control's squared distances to ref; α* comes from the first half of the
// repeats and is evaluated on the second.
func (b *bvpoBench) measure(ctx context.Context, ref []float64) (*BVPOResult, error) {
	o := b.o
	errs := map[string][]float64{}
	var firstHalf []bvpoDraw
	var stats objective.AlphaStats
	ctl := map[string][]float64{}
	res := &BVPOResult{MSE: map[string]BVPOMSE{}, Controls: map[string]BVPOMSE{}, Prompts: len(b.prompts), G: o.G, Repeats: o.Repeats, RefRepeats: o.RefRepeats,
		Normalize: o.Normalize, RefNorm2: dot(ref, ref)}
	for rep := 0; rep < o.Repeats; rep++ {
		var d bvpoDraw
		var err error
		seed := uint64(rep) * 4
		if d.trace, err = b.gradient(ctx, data.ModeTrace, o.G, seed); err != nil {
			return nil, err
		}
		if d.empty, err = b.gradient(ctx, data.ModeEmpty, o.G, seed+1); err != nil {
			return nil, err
		}
		if d.traceHalf, err = b.gradient(ctx, data.ModeTrace, o.G/2, seed+2); err != nil {
			return nil, err
		}
		if d.emptyHalf, err = b.gradient(ctx, data.ModeEmpty, o.G/2, seed+3); err != nil {
			return nil, err
		}
		errs["trace"] = append(errs["trace"], sqDist(d.trace, ref))
		errs["empty"] = append(errs["empty"], sqDist(d.empty, ref))
		errs["alpha_0.5"] = append(errs["alpha_0.5"], sqDist(objective.MixGrad(nil, d.traceHalf, d.emptyHalf, 0.5), ref))
		ctl["trace_x0.5"] = append(ctl["trace_x0.5"], sqDist(scaled(d.trace, 0.5), ref))
		if rep < o.Repeats/2 {
			firstHalf = append(firstHalf, d)
			if rep == o.Repeats/2-1 {
				stats = halfStats(firstHalf, ref)
				res.AlphaStar = math.Min(1, math.Max(0, objective.OptimalAlpha(stats)))
				res.MixStats = BVPOMixStats(stats)
			}
			continue
		}
		errs["alpha_star"] = append(errs["alpha_star"], sqDist(objective.MixGrad(nil, d.traceHalf, d.emptyHalf, res.AlphaStar), ref))
		ctl["trace_x_alpha_star"] = append(ctl["trace_x_alpha_star"], sqDist(scaled(d.trace, res.AlphaStar), ref))
	}
	summarize := func(dst map[string]BVPOMSE, src map[string][]float64) {
		for k, v := range src {
			m, se := pipeline.MeanStderr(v)
			dst[k] = BVPOMSE{MSE: m, CI: [2]float64{m - 1.96*se, m + 1.96*se}}
		}
	}
	summarize(res.MSE, errs)
	summarize(res.Controls, ctl)
	return res, nil
}

// scaled returns w·x in a new slice.
func scaled(x []float64, w float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		out[i] = w * x[i]
	}
	return out
}

// halfStats estimates the §4.2 statistics of the half-budget estimators
// against the reference: variances and covariance across repeats, and the
// biases of their means.
func halfStats(ds []bvpoDraw, ref []float64) objective.AlphaStats {
	n := float64(len(ds))
	mt, me := make([]float64, len(ref)), make([]float64, len(ref))
	for _, d := range ds {
		mt = addScaled(mt, d.traceHalf, 1/n)
		me = addScaled(me, d.emptyHalf, 1/n)
	}
	var st objective.AlphaStats
	for _, d := range ds {
		st.VarTrace += sqDist(d.traceHalf, mt) / (n - 1)
		st.VarEmpty += sqDist(d.emptyHalf, me) / (n - 1)
		for i := range ref {
			st.Cov += (d.traceHalf[i] - mt[i]) * (d.emptyHalf[i] - me[i]) / (n - 1)
		}
	}
	bt, be := make([]float64, len(ref)), make([]float64, len(ref))
	for i := range ref {
		bt[i], be[i] = mt[i]-ref[i], me[i]-ref[i]
	}
	st.BiasTrace2, st.BiasEmpty2, st.BiasDot = dot(bt, bt), dot(be, be), dot(bt, be)
	return st
}

// addScaled adds w·x into dst (allocated when empty) and returns it.
func addScaled(dst, x []float64, w float64) []float64 {
	if len(dst) == 0 {
		dst = make([]float64, len(x))
	}
	for i := range x {
		dst[i] += w * x[i]
	}
	return dst
}

// sqDist returns ‖a − b‖².
func sqDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// dot returns ⟨a, b⟩.
func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
