package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline"
)

func newSFTCmd() *cobra.Command {
	var (
		flags configFlags
		out   string
	)
	cmd := &cobra.Command{
		Use:   "sft [--config FILE] [--set key=value]... --out DIR",
		Short: "Supervised warm start: train a policy on a task's worked solutions",
		Long: "sft trains a fresh policy (policy.model) on the worked solutions of data.train (a generated\n" +
			"task such as arithmetic) with the loss on completion tokens only, as configured in the sft\n" +
			"section, writes DIR/model.safetensors atomically and reports greedy held-out accuracy.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageErrorf("--out is required")
			}
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			if err := writeResolved(out, cfg); err != nil {
				return err
			}
			res, err := pipeline.RunSFT(cmd.Context(), cfg, pipeline.RunOptions{OutDir: out, Stderr: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			for _, r := range res {
				fmt.Fprintf(cmd.OutOrStdout(), "held-out accuracy (%s, greedy, n=%d): %.1f%% ± %.1f\n", r.Mode, r.N, 100*r.Accuracy, 100*r.Stderr)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "checkpoint: %s\n", out)
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "output directory for the checkpoint")
	return cmd
}
