package app

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

func newInspectCmd() *cobra.Command {
	var rows int
	cmd := &cobra.Command{
		Use:   "inspect FILE|DIR",
		Short: "Show a dataset, batch dump or checkpoint: schema, row count, first rows",
		Long: "inspect prints the schema, the row count and the first rows of a JSONL, JSON, Parquet or\n" +
			"Arrow IPC file. Given a checkpoint directory (or a run directory) it lists the checkpoint's\n" +
			"files and state, verifies its MANIFEST (sha256 of every file) and shows its sampler\n" +
			"statistics table; a checkpoint that fails verification exits with status 1.",
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

// inspectDir shows a checkpoint directory: its files, the verification of
// its MANIFEST, its state.json and sampler table. A failed verification is
// shown and returned after the listing.
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
	verr := showManifest(out, dir)
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
	return verr
}

// showManifest prints the verification status of dir's MANIFEST and
// returns the verification error.
func showManifest(out io.Writer, dir string) error {
	status, err := policyfile.CheckManifest(dir)
	switch {
	case err != nil:
		fmt.Fprintf(out, "MANIFEST: FAILED: %v\n", err)
	case status == policyfile.ManifestVerified:
		fmt.Fprintf(out, "MANIFEST: verified (every listed file matches its sha256)\n")
	default:
		fmt.Fprintf(out, "MANIFEST: none (not a run checkpoint; nothing to verify)\n")
	}
	return err
}

func trimNewline(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
