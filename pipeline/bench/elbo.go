package bench

import (
	"context"
	"fmt"
	"slices"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline"
	"github.com/rlpipe/rlpipe/policy"
	polbench "github.com/rlpipe/rlpipe/policy/bench"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/rollout"
)

// ELBOOptions configure ELBO (the flags of rlpipe bench elbo). The CLI
// validates them: N >= 1, budgets >= 1, RefPasses >= 1, Repeats and
// CountReps >= 2, MaxNewTokens >= 0, Temperature >= 0.
type ELBOOptions struct {
	// Checkpoint is a diffusion policy checkpoint or run directory.
	Checkpoint string
	// Dataset is the spec of the held-out prompts to roll out; Difficulty
	// that of generated tasks (0: the task's default).
	Dataset    string
	Difficulty int
	// N is the number of sequences (one rollout per prompt).
	N int
	// Passes, RefPasses, Repeats and CountReps are polbench.ELBOOptions'.
	Passes                        []int
	RefPasses, Repeats, CountReps int
	// Seed derives the rollouts, masks and bootstrap resamples.
	Seed uint64
	// MaxNewTokens is the generation canvas (0: the checkpoint's
	// policy.diffusion.canvas); Temperature the rollouts' (0: greedy).
	MaxNewTokens int
	Temperature  float64
}

// ELBORow is one estimator at one budget (polbench.ELBOEstimatorStats).
type ELBORow struct {
	Name string `json:"name"`
	// Method is count_moments or monte_carlo (polbench.ELBOEstimatorStats).
	Method     string     `json:"method"`
	Passes     int        `json:"passes"`
	Copies     int        `json:"copies"`
	Repeats    int        `json:"repeats"`
	Variance   float64    `json:"variance"`
	VarianceCI [2]float64 `json:"variance_ci"`
	Bias       float64    `json:"bias"`
	BiasCI     [2]float64 `json:"bias_ci"`
}

// ELBOResult is the result of ELBO, as rlpipe bench elbo --json prints it.
type ELBOResult struct {
	Checkpoint     string  `json:"checkpoint"`
	Dataset        string  `json:"dataset"`
	Sequences      int     `json:"sequences"`
	MeanCompletion float64 `json:"mean_completion_tokens"`
	// Canvas is the length every ELBO is summed over: the completion
	// refilled with <eos> to the generation canvas.
	Canvas     int       `json:"canvas"`
	RefPasses  int       `json:"ref_passes"`
	Seed       uint64    `json:"seed"`
	Estimators []ELBORow `json:"estimators"`
	// RatioAt2 is Variance(sdmc)/Variance(double_mc) at 2 passes (GDPO's
	// acceptance check, target ≤ 0.5); nil when 2 is not among Passes.
	RatioAt2 *float64 `json:"variance_ratio_sdmc_vs_double_mc"`
	// RatioAt2CI is its 95% bootstrap interval (sequences and repeats
	// resampled); nil with RatioAt2.
	RatioAt2CI *[2]float64 `json:"variance_ratio_sdmc_vs_double_mc_ci95"`
	// RatioByPasses is the same ratio at every budget.
	RatioByPasses map[string]float64 `json:"variance_ratio_sdmc_vs_double_mc_by_passes"`
	// BatchRatioAt2 is Variance(sdmc)/Variance(double_mc_batch) at 2
	// passes: against the GDPO reference's MCEstimator as its trainer runs
	// it on a batch of rollouts, the baseline of the GDPO paper's claim.
	BatchRatioAt2   *float64    `json:"variance_ratio_sdmc_vs_double_mc_batch"`
	BatchRatioAt2CI *[2]float64 `json:"variance_ratio_sdmc_vs_double_mc_batch_ci95"`
	// Ratios lists, at every budget and with its bootstrap interval, the
	// variance ratio of sdmc and sdmc_cyclic to double_mc and
	// double_mc_batch, and of sdmc_cyclic to double_mc_cyclic.
	Ratios []ELBORatio `json:"variance_ratios"`
	// Profile is the single-pass value v_k = (L/k)·S_k per mask count k:
	// its mean over sequences and its variance over masks.
	Profile []CountRow `json:"count_profile"`
}

// CountRow is the ELBO integrand at one mask count (polbench.CountProfile).
type CountRow struct {
	K            int     `json:"k"`
	T            float64 `json:"t"`
	Mean         float64 `json:"mean"`
	MaskVariance float64 `json:"mask_variance"`
}

// ELBORatio is Variance(Numerator)/Variance(Denominator) at Passes.
type ELBORatio struct {
	Numerator   string     `json:"numerator"`
	Denominator string     `json:"denominator"`
	Passes      int        `json:"passes"`
	Ratio       float64    `json:"ratio"`
	CI95        [2]float64 `json:"ci95"`
}

// ratioPairs are the variance ratios ELBO reports at every budget: each
// sdmc row against the reference's double MC (per-rollout and batch
// stratification), and the coupled rows against each other. Cyclic
// coupling lowers both estimators' variance, so only the last ratio
// isolates what the quadrature itself gains under it.
var ratioPairs = [][2]string{{"sdmc", "double_mc"}, {"sdmc", "double_mc_batch"},
	{"sdmc_cyclic", "double_mc"}, {"sdmc_cyclic", "double_mc_batch"}, {"sdmc_cyclic", "double_mc_cyclic"}}

// ELBO loads the diffusion checkpoint, samples one completion for each of
// o.N held-out prompts with the policy itself on the canvas it was trained
// on, and measures its ELBO estimators on those rollouts
// (polbench.ELBO). A checkpoint of another kind is an error wrapping
// pipeline.ErrConfig. Results are deterministic in (checkpoint, o).
func ELBO(ctx context.Context, o ELBOOptions) (ELBOResult, error) {
	pol, err := policyfile.Load(o.Checkpoint)
	if err != nil {
		return ELBOResult{}, err
	}
	sampler, ok := pol.Model.(policy.DiffusionSampler)
	if !ok || pol.Kind() != policy.KindDiffusion {
		return ELBOResult{}, configErrorf("--checkpoint %s holds a policy of kind %q; bench elbo needs a diffusion policy (policy.kind %s)",
			o.Checkpoint, pol.Kind(), policy.KindDiffusion)
	}
	// Roll out on the canvas the policy was trained on (as rlpipe eval does).
	d := pol.DiffusionSettings()
	if err := sampler.SetGenConfig(d.Gen); err != nil {
		return ELBOResult{}, err
	}
	if o.MaxNewTokens == 0 {
		o.MaxNewTokens = d.Canvas
	}
	batch, err := elboRollouts(ctx, pol, o)
	if err != nil {
		return ELBOResult{}, err
	}
	bench, err := polbench.ELBO(pol.Model, batch, polbench.ELBOOptions{Passes: o.Passes, RefPasses: o.RefPasses,
		Repeats: o.Repeats, CountReps: o.CountReps, Seed: o.Seed})
	if err != nil {
		return ELBOResult{}, err
	}
	res := ELBOResult{Canvas: o.MaxNewTokens, Checkpoint: o.Checkpoint, Dataset: o.Dataset, Sequences: len(batch.Prompts), RefPasses: o.RefPasses,
		Seed: o.Seed, RatioByPasses: map[string]float64{}}
	for _, c := range batch.Completions {
		res.MeanCompletion += float64(answerLen(c)) / float64(len(batch.Completions))
	}
	for _, s := range bench.Profile {
		res.Profile = append(res.Profile, CountRow{K: s.K, T: s.T, Mean: s.Mean, MaskVariance: s.MaskVariance})
	}
	for _, s := range bench.Rows {
		res.Estimators = append(res.Estimators, ELBORow{Name: s.Name, Method: s.Method, Passes: s.Passes, Copies: s.Copies, Repeats: s.Repeats,
			Variance: s.Variance, VarianceCI: s.VarianceCI, Bias: s.Bias, BiasCI: s.BiasCI})
	}
	res.addRatios(bench.Rows, o.Passes)
	return res, nil
}

// addRatios fills the ratio fields of res from stats at every budget.
func (res *ELBOResult) addRatios(stats []polbench.ELBOEstimatorStats, passes []int) {
	for _, p := range passes {
		for _, pair := range ratioPairs {
			num, den := pair[0], pair[1]
			// A zero double-MC variance (a degenerate batch) leaves the
			// ratio undefined; it is omitted rather than reported as a
			// number.
			r, ci, err := polbench.VarianceRatioCI(stats, num, den, p)
			if err != nil {
				continue
			}
			res.Ratios = append(res.Ratios, ELBORatio{Numerator: num, Denominator: den, Passes: p, Ratio: r, CI95: ci})
			switch {
			case num != "sdmc":
			case den == "double_mc":
				res.RatioByPasses[fmt.Sprint(p)] = r
				if p == 2 {
					res.RatioAt2, res.RatioAt2CI = &r, &ci
				}
			case p == 2:
				res.BatchRatioAt2, res.BatchRatioAt2CI = &r, &ci
			}
		}
	}
}

// elboRollouts samples one completion per held-out prompt with the model
// itself (plain template, trace mode), skipping prompts that leave no room
// for a completion in the model's context.
func elboRollouts(ctx context.Context, pol *policyfile.Policy, o ELBOOptions) (policy.SeqBatch, error) {
	opts := []data.Option{data.WithN(4 * o.N), data.WithSeed(o.Seed)}
	if o.Difficulty > 0 {
		opts = append(opts, data.WithDifficulty(o.Difficulty))
	}
	all, err := data.ReadSpec(ctx, o.Dataset, opts...)
	if err != nil {
		return policy.SeqBatch{}, err
	}
	tmpl, err := data.TemplateByName(data.TemplatePlain)
	if err != nil {
		return policy.SeqBatch{}, err
	}
	ctxLen := 0
	if m, ok := pol.Model.(interface{ Config() policy.Config }); ok {
		ctxLen = m.Config().Context
	}
	var prompts []data.Prompt
	for _, p := range all {
		if len(prompts) == o.N {
			break
		}
		if l := len(pol.Tokenizer.Encode(tmpl.Render(p.Prompt, data.ModeTrace).Text)); l < ctxLen {
			prompts = append(prompts, p)
		}
	}
	if len(prompts) == 0 {
		return policy.SeqBatch{}, fmt.Errorf("bench elbo: no prompt of %s fits the model's context of %d tokens", o.Dataset, ctxLen)
	}
	gen := &rollout.InProcess{Model: pol.Model, Codec: pol.Tokenizer, Renderer: rollout.TemplateRenderer{Template: tmpl}}
	rows, err := gen.Generate(ctx, rollout.Request{Prompts: prompts, G: 1, Modes: []uint8{data.ModeTrace}, Seed: o.Seed,
		Params: data.GenParams{Temperature: o.Temperature, MaxNewTokens: o.MaxNewTokens, Greedy: o.Temperature == 0}})
	if err != nil {
		return policy.SeqBatch{}, fmt.Errorf("bench elbo: rollouts: %w", err)
	}
	var b policy.SeqBatch
	for _, r := range rows {
		if len(r.CompletionTokens) == 0 {
			continue // the ELBO of an empty completion is 0 with no variance
		}
		// The ELBO is taken over the whole canvas, as GDPO takes it.
		b.Prompts = append(b.Prompts, r.PromptTokens)
		b.Completions = append(b.Completions, policy.FillCanvas(r.CompletionTokens, o.MaxNewTokens))
	}
	if len(b.Prompts) == 0 {
		return policy.SeqBatch{}, fmt.Errorf("bench elbo: every rollout is empty")
	}
	return b, nil
}

// answerLen is the completion's length up to and including its first
// <eos> (the rollout before policy.FillCanvas).
func answerLen(c []int32) int {
	if i := slices.Index(c, tokenizer.EOS); i >= 0 {
		return i + 1
	}
	return len(c)
}

// configError is an error in what the caller asked for (a checkpoint of
// the wrong kind): errors.Is(err, pipeline.ErrConfig) holds, so that the
// CLI exits with status 2, while its text is the message alone.
type configError struct{ msg string }

func configErrorf(format string, args ...any) error {
	return configError{fmt.Sprintf(format, args...)}
}

// Error returns the message.
func (e configError) Error() string { return e.msg }

// Is reports whether target is pipeline.ErrConfig.
func (e configError) Is(target error) bool { return target == pipeline.ErrConfig }
