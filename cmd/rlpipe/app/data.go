package app

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/data"
)

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Dataset utilities",
	}
	cmd.AddCommand(newDataExportCmd())
	return cmd
}

func newDataExportCmd() *cobra.Command {
	var (
		task, out, split string
		n, difficulty    int
		seed             uint64
	)
	cmd := &cobra.Command{
		Use:   "export --task NAME --n N [--seed S] --out FILE",
		Short: "Write a built-in task's examples to JSONL, Parquet or Arrow (by extension)",
		Long: "export generates N examples of a built-in task (" + strings.Join(data.TaskNames(), ", ") + ")\n" +
			"or copies N rows of a shipped dataset (" + strings.Join(data.BuiltinNames(), ", ") + "),\n" +
			"writing them as JSONL (.jsonl), Parquet (.parquet) or Arrow IPC (.arrow, .arrows).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if task == "" || out == "" {
				return usageErrorf("--task and --out are required")
			}
			if n < 1 {
				return usageErrorf("--n must be >= 1")
			}
			spec := task
			if split != "" {
				spec += ":" + split
			}
			rows, err := data.ReadSpec(cmd.Context(), spec, data.WithN(n), data.WithSeed(seed), data.WithDifficulty(difficulty))
			if err != nil {
				return err
			}
			if len(rows) > n {
				rows = rows[:n]
			}
			if err := data.WritePromptsFile(out, rows); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d rows of %s to %s\n", len(rows), spec, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&task, "task", "", "task or dataset name (e.g. arithmetic, countdown-gen, gsm8k)")
	cmd.Flags().IntVar(&n, "n", 1000, "number of rows")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "generation seed")
	cmd.Flags().IntVar(&difficulty, "difficulty", 2, "difficulty of generated tasks (1..5)")
	cmd.Flags().StringVar(&split, "split", "", "split: train, test or all (default: the dataset's own)")
	cmd.Flags().StringVar(&out, "out", "", "output file (.jsonl, .parquet, .arrow, .arrows)")
	return cmd
}
