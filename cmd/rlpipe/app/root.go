package app

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline"
)

// Version is rlpipe's release version, written into run directories and
// checkpoints.
const Version = pipeline.Version

// usageError marks errors that should exit with status 2 (bad usage or
// configuration) rather than 1 (a failed job).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Main runs the rlpipe CLI with args (without the program name) and returns
// the process exit code: 0 done, 1 failed, 2 bad usage or configuration, 130
// interrupted after a clean checkpoint.
func Main(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	return execute(root, os.Stderr)
}

// execute runs root and maps its error to an exit code, printing it to
// stderr.
func execute(root *cobra.Command, stderr io.Writer) int {
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "rlpipe:", err)
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, pipeline.ErrConfig) {
		return 2
	}
	var ie interface{ ExitCode() int }
	if errors.As(err, &ie) {
		return ie.ExitCode()
	}
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "rlpipe",
		Short:         "RL post-training pipeline for reasoning models",
		Long:          "rlpipe post-trains reasoning policies with GRPO-family, GDPO and BVPO objectives,\nsampling prompts with Variance-Aware Sampling and scoring with built-in or custom rewards.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	bench := newBenchCmd()
	bench.AddCommand(newBenchBVPOCmd())
	root.AddCommand(newVersionCmd(), newRunCmd(), newSFTCmd(), newEvalCmd(), newInspectCmd(), newDataCmd(),
		newConfigCmd(), bench, newScoreCmd(), newReportCmd(), newServeCmd(), newCurateCmd(), newWorkerCmd(), newExportCmd())
	strictUsage(root)
	return root
}

// strictUsage makes cobra's own usage errors — an unknown (sub)command, the
// wrong number of positional arguments — exit with status 2 like every other
// usage error. Cobra reports them as plain errors (and an unknown
// subcommand of a command group only as its help with status 0), so each
// command's argument check is wrapped, and command groups get one that
// refuses unknown names.
func strictUsage(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictUsage(sub)
	}
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		return
	}
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print rlpipe's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "rlpipe %s\n", Version)
			return err
		},
	}
}
