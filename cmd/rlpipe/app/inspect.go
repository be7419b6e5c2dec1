package app

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/data"
)

func newInspectCmd() *cobra.Command {
	var rows int
	cmd := &cobra.Command{
		Use:   "inspect FILE|DIR",
		Short: "Show a dataset, batch dump or checkpoint: schema, row count, first rows",
		Long: "inspect prints the schema, the row count and the first rows of a JSONL, JSON, Parquet or\n" +
			"Arrow IPC file. Given a checkpoint directory (or a run directory) it lists the checkpoint's\n" +
			"files and state and shows its sampler statistics table.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			st, err := os.Stat(path)
			if err != nil {
				return usageError{err}
			}
			if st.IsDir() {
				return inspectDir(cmd, path, rows)
			}
			res, err := data.Inspect(path, rows)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), res.String())
			return err
		},
	}
	cmd.Flags().IntVarP(&rows, "rows", "n", 5, "number of first rows to show")
	return cmd
}

// inspectDir shows a checkpoint directory: its state.json and sampler table.
func inspectDir(cmd *cobra.Command, dir string, rows int) error {
	out := cmd.OutOrStdout()
	if latest, err := os.ReadFile(filepath.Join(dir, "checkpoints", "latest")); err == nil {
		dir = filepath.Join(dir, "checkpoints", trimNewline(string(latest)))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "checkpoint %s\n", dir)
	for _, e := range entries {
		info, _ := e.Info()
		fmt.Fprintf(out, "  %-24s %10d bytes\n", e.Name(), info.Size())
	}
	if state, err := os.ReadFile(filepath.Join(dir, "state.json")); err == nil {
		fmt.Fprintf(out, "state.json:\n%s\n", state)
	}
	sampler := filepath.Join(dir, "sampler.arrow")
	if _, err := os.Stat(sampler); err == nil {
		res, err := data.Inspect(sampler, rows)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "sampler statistics:\n%s", res.String())
	}
	return nil
}

func trimNewline(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
