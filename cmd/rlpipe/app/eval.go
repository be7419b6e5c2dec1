package app

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline"
)

func newEvalCmd() *cobra.Command {
	var (
		opts     pipeline.EvalOptions
		modes    []string
		asJSON   bool
		baseline string
	)
	opts.Config = pipeline.DefaultEvalConfig()
	cmd := &cobra.Command{
		Use:   "eval --checkpoint DIR [--dataset SPEC] [--samples K] [--json]",
		Short: "Held-out pass@1 (greedy and sampled) and pass@K with standard errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Checkpoint == "" {
				return usageErrorf("--checkpoint is required")
			}
			for _, m := range modes {
				switch m {
				case "trace":
					opts.Modes = append(opts.Modes, data.ModeTrace)
				case "empty":
					opts.Modes = append(opts.Modes, data.ModeEmpty)
				default:
					return usageErrorf("--mode %q: want trace or empty", m)
				}
			}
			if err := opts.Config.Validate(); err != nil {
				return usageError{err}
			}
			if baseline != "" {
				// Resolve the checkpoint's defaults once: the baseline must
				// see the same problems.
				resolved, err := pipeline.ResolveEvalDefaults(opts)
				if err != nil {
					return err
				}
				opts = resolved
			}
			res, err := pipeline.EvaluateCheckpoint(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if baseline == "" {
				return printEval(cmd, res, asJSON)
			}
			// Same problems, seeds and settings for the baseline, so that
			// the difference can be paired problem by problem.
			bopts := opts
			bopts.Checkpoint = baseline
			base, err := pipeline.EvaluateCheckpoint(cmd.Context(), bopts)
			if err != nil {
				return fmt.Errorf("--baseline %s: %w", baseline, err)
			}
			return printComparison(cmd, base, res, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Checkpoint, "checkpoint", "", "policy checkpoint or run directory")
	f.StringVar(&opts.Dataset, "dataset", "", "held-out dataset spec (default: the test split of the checkpoint's data.train, else arithmetic:test)")
	f.IntVar(&opts.Difficulty, "difficulty", 0, "difficulty of generated tasks (0: the checkpoint's data.difficulty, else the task's default)")
	f.IntVar(&opts.Config.N, "n", opts.Config.N, "number of problems")
	f.IntVar(&opts.Config.Samples, "samples", 0, "K samples per problem for sampled pass@1 and pass@K (0: greedy only)")
	f.Float64Var(&opts.Config.Temperature, "temperature", 1, "sampling temperature for --samples")
	f.StringVar(&opts.Config.Verifier, "verifier", opts.Config.Verifier, "reward deciding correctness")
	f.IntVar(&opts.MaxNewTokens, "max-new-tokens", 0, "completion budget (0: 96 tokens, or the canvas a diffusion policy was trained on)")
	f.IntVar(&opts.DiffusionSteps, "diffusion-steps", 0, "denoising steps of a diffusion policy (0: the checkpoint's policy.diffusion.gen.steps)")
	f.IntVar(&opts.DiffusionBlockLen, "diffusion-block-len", 0, "semi-autoregressive block length of a diffusion policy (0: the checkpoint's policy.diffusion.gen.block_len)")
	f.Uint64Var(&opts.Seed, "seed", 1, "the run's seed: sampled evaluation uses it and a generated held-out set seed+1, as rlpipe run does")
	f.StringSliceVar(&modes, "mode", []string{"trace"}, "rollout modes: trace, empty")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.StringVar(&baseline, "baseline", "", "also evaluate this checkpoint on the same problems and report the paired difference")
	return cmd
}

// evalChange is a --baseline comparison for one mode: checkpoint minus
// baseline on the same problems, with paired standard errors.
type evalChange struct {
	Mode          string   `json:"mode"`
	Greedy        float64  `json:"greedy_diff"`
	GreedyStderr  float64  `json:"greedy_diff_stderr"`
	Sampled       *float64 `json:"sampled_diff,omitempty"`
	SampledStderr *float64 `json:"sampled_diff_stderr,omitempty"`
}

func printComparison(cmd *cobra.Command, base, res []pipeline.EvalResult, asJSON bool) error {
	var changes []evalChange
	for i, r := range res {
		b := base[i]
		c := evalChange{Mode: r.Mode}
		c.Greedy, c.GreedyStderr, _ = pipeline.PairedDiff(b.PerProblem, r.PerProblem)
		if d, se, ok := pipeline.PairedDiff(b.SampledPerProblem, r.SampledPerProblem); ok {
			c.Sampled, c.SampledStderr = &d, &se
		}
		changes = append(changes, c)
	}
	out := cmd.OutOrStdout()
	if asJSON {
		return json.NewEncoder(out).Encode(map[string]any{"results": res, "baseline": base, "paired": changes})
	}
	if err := printEval(cmd, res, false); err != nil {
		return err
	}
	fmt.Fprintln(out, "baseline:")
	if err := printEval(cmd, base, false); err != nil {
		return err
	}
	for _, c := range changes {
		fmt.Fprintf(out, "%s: greedy pass@1 %+.1f ± %.1f points vs baseline (paired, n=%d)\n", c.Mode, 100*c.Greedy, 100*c.GreedyStderr, res[0].N)
		if c.Sampled != nil {
			fmt.Fprintf(out, "%s: sampled pass@1 %+.1f ± %.1f points vs baseline (paired)\n", c.Mode, 100**c.Sampled, 100**c.SampledStderr)
		}
	}
	return nil
}

// printEval prints one line per mode, or with asJSON one object (a single
// mode) or an array of objects.
func printEval(cmd *cobra.Command, res []pipeline.EvalResult, asJSON bool) error {
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		if len(res) == 1 {
			return enc.Encode(res[0])
		}
		return enc.Encode(res)
	}
	for _, r := range res {
		fmt.Fprintf(out, "%s: greedy pass@1 %.1f%% ± %.1f (n=%d, mean length %.1f tokens)\n",
			r.Mode, 100*r.Accuracy, 100*r.Stderr, r.N, r.MeanLength)
		if r.SampledAccuracy != nil {
			fmt.Fprintf(out, "%s: sampled pass@1 %.1f%% ± %.1f, pass@%d %.1f%%\n",
				r.Mode, 100**r.SampledAccuracy, 100**r.SampledStderr, r.K, 100**r.PassAtK)
		}
	}
	return nil
}
