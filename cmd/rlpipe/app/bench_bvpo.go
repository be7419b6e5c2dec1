package app

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline/bench"
	"github.com/rlpipe/rlpipe/policy/learn"
)

func newBenchBVPOCmd() *cobra.Command {
	var (
		o      bench.BVPOOptions
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "bvpo --checkpoint DIR [--json]",
		Short: "MSE of trace-only, empty-only, α=0.5 and α* DPO gradients against a high-sample reference",
		Long: "bench bvpo draws, on a causal checkpoint, repeated DPO gradient estimates at equal sample\n" +
			"budget on the same prompts: trace-only and empty-trace-only (G samples per prompt), and BVPO\n" +
			"mixes of a trace and an empty-trace estimate with G/2 samples per prompt each (G must be\n" +
			"even), with α=0.5 and with α* (estimated on half of the repeats, evaluated on the other half).\n" +
			"The reference is the mean of --ref-repeats trace-only estimates. --normalize is\n" +
			"algorithm.bvpo.normalize. Controls: the trace-only estimate scaled by 0.5 and by α*, which show\n" +
			"how much of a mix's MSE gain is mere shrinkage. --json prints {\"mse\": {...}, ...}.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Checkpoint == "" {
				return usageErrorf("--checkpoint is required")
			}
			res, err := bench.BVPO(cmd.Context(), o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(res)
			}
			fmt.Fprintf(out, "reference: %d trace estimates, ‖g_ref‖² = %.4g; %d prompts, G = %d, %d repeats, normalize %s\n",
				res.RefRepeats, res.RefNorm2, res.Prompts, res.G, res.Repeats, res.Normalize)
			keys := make([]string, 0, len(res.MSE))
			for k := range res.MSE {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				m := res.MSE[k]
				fmt.Fprintf(out, "%-11s MSE %.4g  (95%% CI %.4g .. %.4g)\n", k, m.MSE, m.CI[0], m.CI[1])
			}
			for _, k := range []string{"trace_x0.5", "trace_x_alpha_star"} {
				m := res.Controls[k]
				fmt.Fprintf(out, "control %-18s MSE %.4g  (95%% CI %.4g .. %.4g)\n", k, m.MSE, m.CI[0], m.CI[1])
			}
			ms := res.MixStats
			fmt.Fprintf(out, "alpha* = %.3f (G/2 estimators: var trace %.4g, var empty %.4g, cov %.4g, ‖b_t‖² %.4g, ‖b_e‖² %.4g)\n",
				res.AlphaStar, ms.VarTrace, ms.VarEmpty, ms.Cov, ms.BiasTrace2, ms.BiasEmpty2)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "causal policy checkpoint or run directory")
	f.StringVar(&o.Dataset, "dataset", "arithmetic:test", "prompt dataset spec")
	f.IntVar(&o.Prompts, "prompts", 16, "prompts per estimate")
	f.IntVar(&o.G, "g", 8, "samples per prompt, even: the mixes use G/2 per mode (every estimator uses Prompts×G samples)")
	f.IntVar(&o.Repeats, "repeats", 16, "independent estimates per estimator")
	f.IntVar(&o.RefRepeats, "ref-repeats", 32, "trace estimates averaged into the reference")
	f.Uint64Var(&o.Seed, "seed", 1, "seed")
	f.IntVar(&o.MaxNewTokens, "max-new-tokens", 96, "completion budget")
	f.StringVar(&o.Reward, "reward", "math", "reward spec that ranks each group's DPO pair")
	f.StringVar(&o.Normalize, "normalize", learn.BVPONormalizeGroups, "DPO normalisation: groups (sum over pairs / prompts) or pairs (mean over pairs)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
