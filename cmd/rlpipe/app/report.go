package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline/report"
)

func newReportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report DIR",
		Short: "PNG plots and a text summary of a run directory",
		Long: "report reads DIR/metrics.jsonl and DIR/eval.jsonl and writes PNG plots (reward, accuracy,\n" +
			"KL, lengths, clipping, optimizer, groups, stage utilization, sampler) and summary.txt into\n" +
			"DIR/report (or --out), then prints the summary.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := report.Generate(args[0], out)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), s.String())
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "output directory (default DIR/report)")
	return cmd
}
