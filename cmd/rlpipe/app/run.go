package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline"
	"github.com/rlpipe/rlpipe/pipeline/checkpoint"
)

func newRunCmd() *cobra.Command {
	var (
		flags  configFlags
		out    string
		resume string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "run [--config FILE] [--set key=value]... [--out DIR] [--resume]",
		Short: "Post-train a policy with RL (no flags: the embedded default job)",
		Long: "run warm-starts a policy (SFT on the built-in task, or --set policy.init=DIR), evaluates it on\n" +
			"held-out prompts, runs the concurrent RL loop (Variance-Aware Sampling, rollouts, rewards,\n" +
			"GRPO-family updates) with checkpoints, and reports held-out accuracy before and after.\n\n" +
			"SIGINT/SIGTERM finish the current step (of RL or of the SFT warm start), write a checkpoint\n" +
			"and exit with status 130; --resume continues from the newest complete checkpoint in --out\n" +
			"(the SFT's, in --out/sft/checkpoints, while the run has no RL checkpoint yet).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join("runs", time.Now().UTC().Format("20060102-150405"))
			}
			doResume, previousGood, err := parseResume(resume)
			if err != nil {
				return err
			}
			if !doResume {
				for _, root := range []string{filepath.Join(out, "checkpoints"), pipeline.SFTCheckpointsDir(out)} {
					if all, _ := checkpoint.List(root); len(all) > 0 {
						return usageErrorf("%s already holds a run's checkpoints: pass --resume to continue it, or choose another --out", out)
					}
				}
			}
			ctx, interrupt, stop := interruptible(cmd.Context())
			defer stop()
			fmt.Fprintf(cmd.ErrOrStderr(), "rlpipe run: writing to %s\n", out)
			res, err := pipeline.Run(ctx, cfg, pipeline.RunOptions{OutDir: out, Resume: doResume, PreviousGood: previousGood,
				Stderr: cmd.ErrOrStderr(), Interrupt: interrupt, WriteConfig: func(dir string) error { return writeResolved(dir, cfg) }})
			if err != nil {
				return err
			}
			return printRunResult(cmd, res, asJSON)
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "run directory (default runs/<UTC time>)")
	cmd.Flags().StringVar(&resume, "resume", "", "continue from the newest complete checkpoint in --out (=previous-good: skip corrupt ones)")
	cmd.Flags().Lookup("resume").NoOptDefVal = "latest"
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the before/after evaluation as JSON")
	return cmd
}

func parseResume(v string) (resume, previousGood bool, err error) {
	switch v {
	case "":
		return false, false, nil
	case "latest", "true":
		return true, false, nil
	case "previous-good":
		return true, true, nil
	}
	return false, false, usageErrorf("--resume=%q: want --resume or --resume=previous-good", v)
}

// interruptible returns a context cancelled by a second signal and a channel
// closed by the first SIGINT/SIGTERM, which asks the run to checkpoint and
// stop after the current step.
func interruptible(parent context.Context) (context.Context, <-chan struct{}, func()) {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	interrupt := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		n := 0
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				n++
				if n == 1 {
					fmt.Fprintf(os.Stderr, "\nrlpipe: %v: finishing the current step and checkpointing (again to abort)\n", s)
					close(interrupt)
				} else {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, interrupt, func() { signal.Stop(sigs); cancel() }
}

// change formats a before → after difference in points, with its paired
// standard error when both evaluations kept per-problem scores (a resumed
// run's "before" comes from eval.jsonl and has none).
func change(diff float64, before, after []float64) string {
	if _, se, ok := pipeline.PairedDiff(before, after); ok {
		return fmt.Sprintf("%+.1f ± %.1f points, paired", 100*diff, 100*se)
	}
	return fmt.Sprintf("%+.1f points", 100*diff)
}

func printRunResult(cmd *cobra.Command, res *pipeline.RunResult, asJSON bool) error {
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"steps": res.Steps, "before": res.Before, "after": res.After})
	}
	for _, a := range res.After {
		for _, b := range res.Before {
			if a.Mode == b.Mode {
				fmt.Fprintf(out, "held-out accuracy (%s, n=%d): %.1f%% ± %.1f → %.1f%% ± %.1f (%s)\n",
					a.Mode, a.N, 100*b.Accuracy, 100*b.Stderr, 100*a.Accuracy, 100*a.Stderr,
					change(a.Accuracy-b.Accuracy, b.PerProblem, a.PerProblem))
				if a.SampledAccuracy != nil && b.SampledAccuracy != nil {
					fmt.Fprintf(out, "sampled pass@1 (%s, K=%d, n=%d): %.1f%% ± %.1f → %.1f%% ± %.1f (%s)\n",
						a.Mode, a.K, a.N, 100**b.SampledAccuracy, 100**b.SampledStderr, 100**a.SampledAccuracy, 100**a.SampledStderr,
						change(*a.SampledAccuracy-*b.SampledAccuracy, b.SampledPerProblem, a.SampledPerProblem))
				}
			}
		}
	}
	return nil
}
