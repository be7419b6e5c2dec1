package app

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline"
	"github.com/rlpipe/rlpipe/pipeline/bench"
)

func newBenchPipelineCmd() *cobra.Command {
	var (
		flags  configFlags
		steps  int
		out    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "pipeline [--json] [--steps N] [--config FILE] [--set key=value]...",
		Short: "Step wall time of a short RL job against its slowest stage",
		Long: "bench pipeline runs a short RL job (the embedded default with a reduced budget: SFT 100 steps,\n" +
			"8 RL steps, train.max_staleness=1, eval.n=20; --config/--set override it) in a temporary run\n" +
			"directory and reports, over the steps after the first, the mean step wall time, each stage's\n" +
			"mean busy time, and ratio = step wall time / slowest stage's busy time. With max_staleness 1\n" +
			"the stages overlap and the ratio approaches 1; with 0 it approaches the sum over the maximum.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("steps") {
				if steps < 2 {
					return usageErrorf("--steps %d: need at least 2 (the first step is warm-up)", steps)
				}
				flags.sets = append(flags.sets, "train.steps="+strconv.Itoa(steps))
			}
			dir := out
			if dir == "" {
				tmp, err := os.MkdirTemp("", "rlpipe-bench-pipeline-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			res, err := benchPipeline(cmd, flags, dir)
			if err != nil {
				return err
			}
			if out != "" {
				res.RunDir = out
			}
			return printPipelineBench(cmd.OutOrStdout(), res, asJSON)
		},
	}
	flags.register(cmd)
	cmd.Flags().IntVar(&steps, "steps", 8, "RL steps (>= 2; the first is warm-up and not measured)")
	cmd.Flags().StringVar(&out, "out", "", "keep the run directory here (default: a temporary directory, removed)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// benchPipeline loads the configuration (bench.PipelineBase first, so
// that every user file and --set wins over it), checks it and runs
// bench.Pipeline in dir/run.
func benchPipeline(cmd *cobra.Command, flags configFlags, dir string) (bench.PipelineResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return bench.PipelineResult{}, err
	}
	base := filepath.Join(dir, "bench-base.yaml")
	if err := os.WriteFile(base, []byte(bench.PipelineBase), 0o644); err != nil {
		return bench.PipelineResult{}, err
	}
	flags.files = append([]string{base}, flags.files...)
	cfg, err := flags.load()
	if err != nil {
		return bench.PipelineResult{}, err
	}
	if cfg.Train.Steps < 2 {
		return bench.PipelineResult{}, usageErrorf("train.steps %d: bench pipeline needs at least 2 (the first step is warm-up)", cfg.Train.Steps)
	}
	runDir := filepath.Join(dir, "run")
	if all, _ := filepath.Glob(filepath.Join(runDir, "checkpoints", "step-*")); len(all) > 0 {
		return bench.PipelineResult{}, usageErrorf("%s already holds a run: choose another --out", runDir)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "bench pipeline: %d RL steps, max_staleness %d, in %s\n", cfg.Train.Steps, cfg.Train.MaxStaleness, runDir)
	return bench.Pipeline(cmd.Context(), cfg, pipeline.RunOptions{OutDir: runDir, Stderr: cmd.ErrOrStderr(),
		WriteConfig: func(d string) error { return writeResolved(d, cfg) }})
}

// printPipelineBench prints res as one JSON object or as a table.
func printPipelineBench(w io.Writer, res bench.PipelineResult, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(res)
	}
	fmt.Fprintf(w, "pipeline (max_staleness %d, %d of %d steps measured): %.3f s/step, %.0f tokens/s\n",
		res.MaxStaleness, res.MeasuredSteps, res.Steps, res.StepWallS, res.TokensPerS)
	names := make([]string, 0, len(res.Stages))
	for name := range res.Stages {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "%-10s %9s %13s %14s\n", "stage", "busy_s", "blocked_in_s", "blocked_out_s")
	for _, name := range names {
		st := res.Stages[name]
		fmt.Fprintf(w, "%-10s %9.3f %13.3f %14.3f\n", name, st.BusyS, st.BlockedInS, st.BlockedOutS)
	}
	fmt.Fprintf(w, "parallelism (sum of stage busy %.3f s / step wall): %.2f\n", res.BusySumS, res.Parallelism)
	_, err := fmt.Fprintf(w, "ratio step_wall / slowest stage busy (%s %.3f s): %.3f\n", res.SlowestStage, res.SlowestBusyS, res.Ratio)
	return err
}
