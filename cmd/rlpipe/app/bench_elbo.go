package app

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline/bench"
	polbench "github.com/rlpipe/rlpipe/policy/bench"
)

func newBenchELBOCmd() *cobra.Command {
	var (
		o      bench.ELBOOptions
		asJSON bool
	)
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
			if err := validateELBOOptions(o); err != nil {
				return err
			}
			res, err := bench.ELBO(cmd.Context(), o)
			if err != nil {
				return err
			}
			return printELBOBench(cmd.OutOrStdout(), res, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "diffusion policy checkpoint or run directory")
	f.StringVar(&o.Dataset, "dataset", "arithmetic:test", "held-out prompts to roll out")
	f.IntVar(&o.Difficulty, "difficulty", 0, "difficulty of generated tasks (0: the task's default)")
	f.IntVar(&o.N, "n", 16, "number of sequences (one rollout per prompt)")
	f.IntSliceVar(&o.Passes, "passes", []int{1, 2, 4, 8}, "forward-pass budgets per sequence")
	f.IntVar(&o.RefPasses, "ref-passes", polbench.DefaultELBORefPasses, "passes of the double-MC bias reference")
	f.IntVar(&o.Repeats, "repeats", polbench.DefaultELBORepeats, "seeds of each Monte Carlo row (one_step and the cyclic rows)")
	f.IntVar(&o.CountReps, "count-reps", polbench.DefaultELBOCountReps, "masks per mask count for the rows computed from count moments (sdmc, double_mc, double_mc_batch)")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the rollouts, masks and bootstrap")
	f.IntVar(&o.MaxNewTokens, "max-new-tokens", 0, "generation canvas of the rollouts (0: the checkpoint's policy.diffusion.canvas)")
	f.Float64Var(&o.Temperature, "temperature", 1, "sampling temperature of the rollouts")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// validateELBOOptions refuses flags bench elbo cannot measure with, as
// usage errors.
func validateELBOOptions(o bench.ELBOOptions) error {
	switch {
	case o.Checkpoint == "":
		return usageErrorf("--checkpoint is required")
	case o.N < 1:
		return usageErrorf("--n %d: need at least 1 sequence", o.N)
	case len(o.Passes) == 0:
		return usageErrorf("--passes is empty")
	case o.RefPasses < 1:
		return usageErrorf("--ref-passes %d: need at least 1", o.RefPasses)
	case o.Repeats < 2:
		return usageErrorf("--repeats %d: need at least 2", o.Repeats)
	case o.CountReps < 2:
		return usageErrorf("--count-reps %d: need at least 2", o.CountReps)
	case o.MaxNewTokens < 0:
		return usageErrorf("--max-new-tokens %d: need at least 1 (or 0 for the default canvas)", o.MaxNewTokens)
	case !(o.Temperature >= 0):
		return usageErrorf("--temperature %v: need >= 0", o.Temperature)
	}
	for _, p := range o.Passes {
		if p < 1 {
			return usageErrorf("--passes: budget %d < 1", p)
		}
	}
	return nil
}

// printELBOBench prints res as one JSON object or as a table.
func printELBOBench(w io.Writer, res bench.ELBOResult, asJSON bool) error {
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
