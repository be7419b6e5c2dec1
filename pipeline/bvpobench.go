package pipeline

import (
	"context"
	"fmt"
	"math"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout"
)

// BVPOBenchOptions configure BenchBVPO.
type BVPOBenchOptions struct {
	// Checkpoint is a causal policy checkpoint (also the DPO reference).
	Checkpoint string
	// Dataset is the prompt spec (default "arithmetic:test"); Prompts is how
	// many prompts each estimate uses (default 16).
	Dataset string
	Prompts int
	// G is the samples per prompt (default 8); the mixed estimators use
	// half of the prompts in each mode, the same total.
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
}

// BVPOMSE is one estimator's mean squared error against the reference
// gradient, with a 95% normal confidence interval over repeats.
type BVPOMSE struct {
	MSE float64    `json:"mse"`
	CI  [2]float64 `json:"ci95"`
}

// BVPOBenchResult is the output of BenchBVPO.
type BVPOBenchResult struct {
	// MSE has keys "trace", "empty", "alpha_0.5" and "alpha_star".
	MSE map[string]BVPOMSE `json:"mse"`
	// AlphaStar is α* estimated from the first half of the repeats (and
	// evaluated on the second half, so that its MSE is not optimistic).
	AlphaStar float64 `json:"alpha_star"`
	// RefNorm2 is ‖g_ref‖², for scale.
	RefNorm2 float64 `json:"ref_norm2"`
	Prompts  int     `json:"prompts"`
	G        int     `json:"g"`
	Repeats  int     `json:"repeats"`
}

// BenchBVPO measures how well BVPO's mixed gradient estimates the
// trace-mode DPO gradient at equal sample budget (ALGORITHMS §4): the
// reference g_ref is the mean of RefRepeats trace-only estimates; each
// estimator is drawn Repeats times with fresh samples, and its MSE is the
// mean of ‖ĝ − g_ref‖². trace and empty roll out G samples for each of the
// Prompts prompts in one mode; alpha_0.5 and alpha_star mix a trace estimate
// on half of the prompts with an empty-trace estimate on the other half
// (a fresh split each repeat), so every estimator uses the same number of
// samples and the same group size G, which keeps DPO's best-vs-worst pairs
// comparable.
func BenchBVPO(ctx context.Context, o BVPOBenchOptions) (*BVPOBenchResult, error) {
	o = o.withDefaults()
	pol, err := LoadPolicy(o.Checkpoint)
	if err != nil {
		return nil, err
	}
	if pol.Kind() != KindAR {
		return nil, fmt.Errorf("%w: bench bvpo needs a causal (ar) checkpoint", ErrConfig)
	}
	prompts, err := readSpec(ctx, o.Dataset, dataOptions(o.Prompts, o.Seed, 0)...)
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
	l := &learner{pol: pol, ref: cloneModel(pol.Model), opt: opt, sched: sched, temperature: o.Temperature}
	b := &bvpoBench{o: o, prompts: prompts, scorer: scorer, bl: newBVPOLearner(l, DefaultBVPOConfig())}

	ref := make([]float64, 0)
	for i := 0; i < o.RefRepeats; i++ {
		g, err := b.gradient(ctx, data.ModeTrace, b.prompts, uint64(1_000_000+i))
		if err != nil {
			return nil, err
		}
		ref = addScaled(ref, g, 1/float64(o.RefRepeats))
	}
	return b.measure(ctx, ref)
}

func (o BVPOBenchOptions) withDefaults() BVPOBenchOptions {
	if o.Dataset == "" {
		o.Dataset = "arithmetic:test"
	}
	if o.Prompts == 0 {
		o.Prompts = 16
	}
	o.Prompts += o.Prompts % 2
	if o.G == 0 {
		o.G = 8
	}
	if o.Repeats == 0 {
		o.Repeats = 16
	}
	o.Repeats += o.Repeats % 2
	if o.RefRepeats == 0 {
		o.RefRepeats = 32
	}
	if o.MaxNewTokens == 0 {
		o.MaxNewTokens = 96
	}
	if o.Temperature == 0 {
		o.Temperature = 1
	}
	if o.Reward == "" {
		o.Reward = "math"
	}
	return o
}

type bvpoBench struct {
	o       BVPOBenchOptions
	prompts []data.Prompt
	scorer  *reward.Scorer
	bl      *bvpoLearner
}

// gradient draws G samples for each of prompts in mode with the given seed
// and returns the DPO gradient of that mode's pairs.
func (b *bvpoBench) gradient(ctx context.Context, mode uint8, prompts []data.Prompt, seed uint64) ([]float64, error) {
	gen := b.bl.pol
	in := &rollout.InProcess{Model: gen.Model, Codec: gen.Tokenizer, Renderer: promptRenderer{data.Template{}}}
	rows, err := in.Generate(ctx, rollout.Request{Prompts: prompts, G: b.o.G, Modes: []uint8{mode}, Seed: b.o.Seed ^ seed,
		Params: data.GenParams{Temperature: b.o.Temperature, MaxNewTokens: b.o.MaxNewTokens}})
	if err != nil {
		return nil, err
	}
	scored, err := scoreRollouts(ctx, b.scorer, rows)
	if err != nil {
		return nil, err
	}
	train := make([]data.TrainRow, len(scored))
	for i := range scored {
		train[i] = data.TrainRow{Scored: scored[i], Keep: true}
	}
	b.bl.pol.Model.ZeroGrad()
	st := updateStats{Algo: map[string]float64{}}
	if _, err := b.bl.mixedBackward(train, modeRows(train, mode), nil, 1, &st); err != nil {
		return nil, err
	}
	return flattenGrads(b.bl.pol.Model.Params()), nil
}

// splitPrompts shuffles prompts deterministically by seed and halves them.
func splitPrompts(prompts []data.Prompt, seed uint64) ([]data.Prompt, []data.Prompt) {
	p := append([]data.Prompt(nil), prompts...)
	s := mix64(seed ^ 0x73706c6974)
	for i := len(p) - 1; i > 0; i-- {
		s = mix64(s)
		j := int(s % uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p[:len(p)/2], p[len(p)/2:]
}

// bvpoDraw is one repeat's four gradient estimates.
type bvpoDraw struct{ trace, empty, traceHalf, emptyHalf []float64 }

func (b *bvpoBench) measure(ctx context.Context, ref []float64) (*BVPOBenchResult, error) {
	o := b.o
	errs := map[string][]float64{}
	var firstHalf []bvpoDraw
	var stats objective.AlphaStats
	res := &BVPOBenchResult{MSE: map[string]BVPOMSE{}, Prompts: len(b.prompts), G: o.G, Repeats: o.Repeats, RefNorm2: dot(ref, ref)}
	for rep := 0; rep < o.Repeats; rep++ {
		var d bvpoDraw
		var err error
		seed := uint64(rep) * 4
		if d.trace, err = b.gradient(ctx, data.ModeTrace, b.prompts, seed); err != nil {
			return nil, err
		}
		if d.empty, err = b.gradient(ctx, data.ModeEmpty, b.prompts, seed+1); err != nil {
			return nil, err
		}
		first, second := splitPrompts(b.prompts, seed)
		if d.traceHalf, err = b.gradient(ctx, data.ModeTrace, first, seed+2); err != nil {
			return nil, err
		}
		if d.emptyHalf, err = b.gradient(ctx, data.ModeEmpty, second, seed+3); err != nil {
			return nil, err
		}
		errs["trace"] = append(errs["trace"], sqDist(d.trace, ref))
		errs["empty"] = append(errs["empty"], sqDist(d.empty, ref))
		errs["alpha_0.5"] = append(errs["alpha_0.5"], sqDist(mix(d.traceHalf, d.emptyHalf, 0.5), ref))
		if rep < o.Repeats/2 {
			firstHalf = append(firstHalf, d)
			if rep == o.Repeats/2-1 {
				stats = halfStats(firstHalf, ref)
				res.AlphaStar = math.Min(1, math.Max(0, objective.OptimalAlpha(stats)))
			}
			continue
		}
		errs["alpha_star"] = append(errs["alpha_star"], sqDist(mix(d.traceHalf, d.emptyHalf, res.AlphaStar), ref))
	}
	for k, v := range errs {
		m, se := meanStderr(v)
		res.MSE[k] = BVPOMSE{MSE: m, CI: [2]float64{m - 1.96*se, m + 1.96*se}}
	}
	return res, nil
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

func addScaled(dst, x []float64, w float64) []float64 {
	if len(dst) == 0 {
		dst = make([]float64, len(x))
	}
	for i := range x {
		dst[i] += w * x[i]
	}
	return dst
}

func mix(a, b []float64, alpha float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = alpha*a[i] + (1-alpha)*b[i]
	}
	return out
}

func sqDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
