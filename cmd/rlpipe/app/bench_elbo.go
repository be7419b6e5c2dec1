package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	polbench "github.com/rlpipe/rlpipe/policy/bench"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/rollout"
)

// benchELBOOptions are the flags of bench elbo.
type benchELBOOptions struct {
	checkpoint   string
	dataset      string
	difficulty   int
	n            int
	passes       []int
	refPasses    int
	repeats      int
	countReps    int
	seed         uint64
	maxNewTokens int
	temperature  float64
	asJSON       bool
}

// elboRow is one estimator at one budget, as printed by bench elbo --json.
type elboRow struct {
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

// elboBench is the result of bench elbo.
type elboBench struct {
	Checkpoint     string  `json:"checkpoint"`
	Dataset        string  `json:"dataset"`
	Sequences      int     `json:"sequences"`
	MeanCompletion float64 `json:"mean_completion_tokens"`
	// Canvas is the length every ELBO is summed over: the completion
	// refilled with <eos> to the generation canvas.
	Canvas     int       `json:"canvas"`
	RefPasses  int       `json:"ref_passes"`
	Seed       uint64    `json:"seed"`
	Estimators []elboRow `json:"estimators"`
	// RatioAt2 is Variance(sdmc)/Variance(double_mc) at 2 passes (GDPO's
	// acceptance check, target ≤ 0.5); nil when 2 is not among --passes.
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
	Ratios []elboRatio `json:"variance_ratios"`
	// Profile is the single-pass value v_k = (L/k)·S_k per mask count k:
	// its mean over sequences and its variance over masks.
	Profile []countRow `json:"count_profile"`
}

// countRow is the ELBO integrand at one mask count (polbench.CountProfile).
type countRow struct {
	K            int     `json:"k"`
	T            float64 `json:"t"`
	Mean         float64 `json:"mean"`
	MaskVariance float64 `json:"mask_variance"`
}

// elboRatio is Variance(Numerator)/Variance(Denominator) at Passes.
type elboRatio struct {
	Numerator   string     `json:"numerator"`
	Denominator string     `json:"denominator"`
	Passes      int        `json:"passes"`
	Ratio       float64    `json:"ratio"`
	CI95        [2]float64 `json:"ci95"`
}

func newBenchELBOCmd() *cobra.Command {
	var o benchELBOOptions
	cmd := &cobra.Command{
		Use:   "elbo --checkpoint DIR [--json] [--n SEQS] [--passes 1,2,4,8] [--ref-passes 256] [--seed S]",
		Short: "Variance and bias of a diffusion policy's ELBO estimators at equal forward-pass budgets",
		Long: "bench elbo loads a diffusion checkpoint, samples one completion for each of --n held-out\n" +
			"prompts with the model itself, and measures the ELBO estimators (sdmc, double_mc, one_step)\n" +
			"on those rollouts at each budget of --passes forward passes per sequence: the variance across\n" +
			"independent seeds and the bias against a --ref-passes double-MC reference, each with a 95%\n" +
			"bootstrap interval, and the variance ratios of sdmc to double_mc. double_mc stratifies the\n" +
			"mask counts over a rollout's own passes (LLaDA's likelihood evaluation); double_mc_batch over\n" +
			"the batch of rollouts, as the GDPO reference's trainer does, so that one rollout's passes are\n" +
			"independent (vanilla double Monte Carlo per rollout).\n\n" +
			"sdmc, double_mc and double_mc_batch draw independent exact-k masks, so their rows are computed\n" +
			"from --count-reps masks at every mask count k of every sequence (method count_moments): the\n" +
			"variance follows from the law of total variance, exact over the count. Double MC's variance\n" +
			"comes mostly from rare small counts (weight L/k), which plain repeats sample badly. one_step\n" +
			"and the cyclic rows couple their masks and are run --repeats times (method monte_carlo).\n" +
			"count_profile in the JSON is the integrand per count: mean and mask variance of (L/k)·S_k.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			res, err := benchELBO(cmd.Context(), o)
			if err != nil {
				return err
			}
			return printELBOBench(cmd.OutOrStdout(), res, o.asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.checkpoint, "checkpoint", "", "diffusion policy checkpoint or run directory")
	f.StringVar(&o.dataset, "dataset", "arithmetic:test", "held-out prompts to roll out")
	f.IntVar(&o.difficulty, "difficulty", 0, "difficulty of generated tasks (0: the task's default)")
	f.IntVar(&o.n, "n", 16, "number of sequences (one rollout per prompt)")
	f.IntSliceVar(&o.passes, "passes", []int{1, 2, 4, 8}, "forward-pass budgets per sequence")
	f.IntVar(&o.refPasses, "ref-passes", polbench.DefaultELBORefPasses, "passes of the double-MC bias reference")
	f.IntVar(&o.repeats, "repeats", polbench.DefaultELBORepeats, "seeds of each Monte Carlo row (one_step and the cyclic rows)")
	f.IntVar(&o.countReps, "count-reps", polbench.DefaultELBOCountReps, "masks per mask count for the rows computed from count moments (sdmc, double_mc, double_mc_batch)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the rollouts, masks and bootstrap")
	f.IntVar(&o.maxNewTokens, "max-new-tokens", 0, "generation canvas of the rollouts (0: the checkpoint's policy.diffusion.canvas)")
	f.Float64Var(&o.temperature, "temperature", 1, "sampling temperature of the rollouts")
	f.BoolVar(&o.asJSON, "json", false, "print one JSON object")
	return cmd
}

func (o benchELBOOptions) validate() error {
	switch {
	case o.checkpoint == "":
		return usageErrorf("--checkpoint is required")
	case o.n < 1:
		return usageErrorf("--n %d: need at least 1 sequence", o.n)
	case len(o.passes) == 0:
		return usageErrorf("--passes is empty")
	case o.refPasses < 1:
		return usageErrorf("--ref-passes %d: need at least 1", o.refPasses)
	case o.repeats < 2:
		return usageErrorf("--repeats %d: need at least 2", o.repeats)
	case o.countReps < 2:
		return usageErrorf("--count-reps %d: need at least 2", o.countReps)
	case o.maxNewTokens < 0:
		return usageErrorf("--max-new-tokens %d: need at least 1 (or 0 for the default canvas)", o.maxNewTokens)
	case !(o.temperature >= 0):
		return usageErrorf("--temperature %v: need >= 0", o.temperature)
	}
	for _, p := range o.passes {
		if p < 1 {
			return usageErrorf("--passes: budget %d < 1", p)
		}
	}
	return nil
}

// benchELBO loads the checkpoint, rolls out o.n prompts and runs
// polbench.ELBO on the rollouts.
func benchELBO(ctx context.Context, o benchELBOOptions) (elboBench, error) {
	pol, err := policyfile.Load(o.checkpoint)
	if err != nil {
		return elboBench{}, err
	}
	sampler, ok := pol.Model.(policy.DiffusionSampler)
	if !ok || pol.Kind() != policy.KindDiffusion {
		return elboBench{}, usageErrorf("--checkpoint %s holds a policy of kind %q; bench elbo needs a diffusion policy (policy.kind %s)",
			o.checkpoint, pol.Kind(), policy.KindDiffusion)
	}
	// Roll out on the canvas the policy was trained on (as rlpipe eval does).
	d := pol.DiffusionSettings()
	if err := sampler.SetGenConfig(d.Gen); err != nil {
		return elboBench{}, err
	}
	if o.maxNewTokens == 0 {
		o.maxNewTokens = d.Canvas
	}
	batch, err := elboRollouts(ctx, pol, o)
	if err != nil {
		return elboBench{}, err
	}
	bench, err := polbench.ELBO(pol.Model, batch, polbench.ELBOOptions{Passes: o.passes, RefPasses: o.refPasses,
		Repeats: o.repeats, CountReps: o.countReps, Seed: o.seed})
	if err != nil {
		return elboBench{}, err
	}
	res := elboBench{Canvas: o.maxNewTokens, Checkpoint: o.checkpoint, Dataset: o.dataset, Sequences: len(batch.Prompts), RefPasses: o.refPasses,
		Seed: o.seed, RatioByPasses: map[string]float64{}}
	for _, c := range batch.Completions {
		res.MeanCompletion += float64(answerLen(c)) / float64(len(batch.Completions))
	}
	stats := bench.Rows
	for _, s := range bench.Profile {
		res.Profile = append(res.Profile, countRow{K: s.K, T: s.T, Mean: s.Mean, MaskVariance: s.MaskVariance})
	}
	for _, s := range stats {
		res.Estimators = append(res.Estimators, elboRow{Name: s.Name, Method: s.Method, Passes: s.Passes, Copies: s.Copies, Repeats: s.Repeats,
			Variance: s.Variance, VarianceCI: s.VarianceCI, Bias: s.Bias, BiasCI: s.BiasCI})
	}
	// Each sdmc row against the reference's double MC (per-rollout and
	// batch stratification), and the coupled rows against each other:
	// cyclic coupling lowers both estimators' variance, so only the last
	// ratio isolates what the quadrature itself gains under it.
	pairs := [][2]string{{"sdmc", "double_mc"}, {"sdmc", "double_mc_batch"},
		{"sdmc_cyclic", "double_mc"}, {"sdmc_cyclic", "double_mc_batch"}, {"sdmc_cyclic", "double_mc_cyclic"}}
	for _, p := range o.passes {
		for _, pair := range pairs {
			num, den := pair[0], pair[1]
			// A zero double-MC variance (a degenerate batch) leaves the
			// ratio undefined; it is omitted rather than reported as a
			// number.
			r, ci, err := polbench.VarianceRatioCI(stats, num, den, p)
			if err != nil {
				continue
			}
			res.Ratios = append(res.Ratios, elboRatio{Numerator: num, Denominator: den, Passes: p, Ratio: r, CI95: ci})
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
	return res, nil
}

// elboRollouts samples one completion per held-out prompt with the model
// itself (plain template, trace mode), skipping prompts that leave no room
// for a completion in the model's context.
func elboRollouts(ctx context.Context, pol *policyfile.Policy, o benchELBOOptions) (policy.SeqBatch, error) {
	opts := []data.Option{data.WithN(4 * o.n), data.WithSeed(o.seed)}
	if o.difficulty > 0 {
		opts = append(opts, data.WithDifficulty(o.difficulty))
	}
	rd, err := data.OpenSpec(o.dataset, opts...)
	if err != nil {
		return policy.SeqBatch{}, err
	}
	all, err := rd.ReadAll(ctx)
	rd.Close()
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
		if len(prompts) == o.n {
			break
		}
		if l := len(pol.Tokenizer.Encode(tmpl.Render(p.Prompt, data.ModeTrace).Text)); l < ctxLen {
			prompts = append(prompts, p)
		}
	}
	if len(prompts) == 0 {
		return policy.SeqBatch{}, fmt.Errorf("bench elbo: no prompt of %s fits the model's context of %d tokens", o.dataset, ctxLen)
	}
	gen := &rollout.InProcess{Model: pol.Model, Codec: pol.Tokenizer, Renderer: templateRenderer{tmpl}}
	rows, err := gen.Generate(ctx, rollout.Request{Prompts: prompts, G: 1, Modes: []uint8{data.ModeTrace}, Seed: o.seed,
		Params: data.GenParams{Temperature: o.temperature, MaxNewTokens: o.maxNewTokens, Greedy: o.temperature == 0}})
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
		b.Completions = append(b.Completions, policy.FillCanvas(r.CompletionTokens, o.maxNewTokens))
	}
	if len(b.Prompts) == 0 {
		return policy.SeqBatch{}, fmt.Errorf("bench elbo: every rollout is empty")
	}
	return b, nil
}

// templateRenderer adapts a data.Template to rollout.Renderer.
type templateRenderer struct{ tmpl data.Template }

func (r templateRenderer) Render(p data.Prompt, mode uint8) string {
	return r.tmpl.Render(p.Prompt, mode).Text
}

// answerLen is the completion's length up to and including its first
// <eos> (the rollout before policy.FillCanvas).
func answerLen(c []int32) int {
	if i := slices.Index(c, tokenizer.EOS); i >= 0 {
		return i + 1
	}
	return len(c)
}

func printELBOBench(w io.Writer, res elboBench, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(res)
	}
	fmt.Fprintf(w, "ELBO estimators on %d rollouts of %s (mean completion %.1f tokens on a %d-token canvas), reference double_mc × %d passes\n",
		res.Sequences, res.Dataset, res.MeanCompletion, res.Canvas, res.RefPasses)
	fmt.Fprintf(w, "%-16s %6s  %-34s  %s\n", "estimator", "passes", "variance [95% CI]", "bias [95% CI]")
	for _, r := range res.Estimators {
		fmt.Fprintf(w, "%-16s %6d  %-34s  %s\n", r.Name, r.Passes,
			fmt.Sprintf("%.4g [%.4g, %.4g]", r.Variance, r.VarianceCI[0], r.VarianceCI[1]),
			fmt.Sprintf("%+.4g [%+.4g, %+.4g]", r.Bias, r.BiasCI[0], r.BiasCI[1]))
	}
	for _, r := range res.Ratios {
		fmt.Fprintf(w, "variance ratio %s/%s at %d passes: %.3f [95%% CI %.3f, %.3f]\n", r.Numerator, r.Denominator, r.Passes, r.Ratio, r.CI95[0], r.CI95[1])
	}
	return nil
}
