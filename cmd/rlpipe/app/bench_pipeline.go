package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline"
)

// benchPipelineBase is the reduced budget bench pipeline starts from, applied
// before the user's --config files and --set overrides: a short SFT warm
// start, a few RL steps with rollouts of step n+1 overlapping the update of
// step n, and no evaluation or checkpoint work inside the loop, so that the
// step times measure the stages and nothing else.
const benchPipelineBase = `
sft: {steps: 100}
train: {steps: 8, max_staleness: 1}
eval: {n: 20, every: 0}
checkpoint: {every: 0, keep_last: 1}
log: {progress: false, dump_rollouts: false}
`

// pipelineStageNames are the stages of the RL loop whose busy time bounds a
// step from below: at best the step takes as long as the slowest of them.
var pipelineStageNames = []string{"rollout", "reward", "learner"}

// stageTiming is one stage's mean seconds per step.
type stageTiming struct {
	BusyS       float64 `json:"busy_s"`
	BlockedInS  float64 `json:"blocked_in_s"`
	BlockedOutS float64 `json:"blocked_out_s"`
}

// pipelineBench is the result of bench pipeline: means over the measured
// steps (every step after the first, which fills the pipeline).
type pipelineBench struct {
	Steps         int                    `json:"steps"`
	MeasuredSteps int                    `json:"measured_steps"`
	MaxStaleness  int                    `json:"max_staleness"`
	StepWallS     float64                `json:"step_wall_s"`
	Stages        map[string]stageTiming `json:"stages"`
	SlowestStage  string                 `json:"slowest_stage"`
	SlowestBusyS  float64                `json:"slowest_stage_busy_s"`
	Ratio         float64                `json:"ratio"`
	// BusySumS is the sum of the stages' mean busy seconds, and Parallelism
	// BusySumS / StepWallS: how much the stages overlapped (1 when they ran
	// one after another). On a machine with fewer cores than busy stages,
	// overlapping stages also slow each other down, so Ratio near 1 does not
	// by itself mean the step got faster; compare StepWallS across
	// max_staleness.
	BusySumS    float64 `json:"busy_sum_s"`
	Parallelism float64 `json:"parallelism"`
	TokensPerS  float64 `json:"tokens_per_s"`
	RunDir      string  `json:"run_dir,omitempty"`
}

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

// benchPipeline runs the job in dir and summarises its metrics.jsonl.
func benchPipeline(cmd *cobra.Command, flags configFlags, dir string) (pipelineBench, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return pipelineBench{}, err
	}
	base := filepath.Join(dir, "bench-base.yaml")
	if err := os.WriteFile(base, []byte(benchPipelineBase), 0o644); err != nil {
		return pipelineBench{}, err
	}
	// The base goes first so that every user file and --set wins over it.
	flags.files = append([]string{base}, flags.files...)
	cfg, err := flags.load()
	if err != nil {
		return pipelineBench{}, err
	}
	if cfg.Train.Steps < 2 {
		return pipelineBench{}, usageErrorf("train.steps %d: bench pipeline needs at least 2 (the first step is warm-up)", cfg.Train.Steps)
	}
	runDir := filepath.Join(dir, "run")
	if all, _ := filepath.Glob(filepath.Join(runDir, "checkpoints", "step-*")); len(all) > 0 {
		return pipelineBench{}, usageErrorf("%s already holds a run: choose another --out", runDir)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "bench pipeline: %d RL steps, max_staleness %d, in %s\n", cfg.Train.Steps, cfg.Train.MaxStaleness, runDir)
	if _, err := pipeline.Run(cmd.Context(), cfg, pipeline.RunOptions{OutDir: runDir, Stderr: cmd.ErrOrStderr(),
		WriteConfig: func(d string) error { return writeResolved(d, cfg) }}); err != nil {
		return pipelineBench{}, err
	}
	f, err := os.Open(filepath.Join(runDir, "metrics.jsonl"))
	if err != nil {
		return pipelineBench{}, err
	}
	defer f.Close()
	res, err := summarizeStepTimings(f)
	if err != nil {
		return pipelineBench{}, fmt.Errorf("bench pipeline: %s: %w", f.Name(), err)
	}
	res.MaxStaleness = cfg.Train.MaxStaleness
	return res, nil
}

// summarizeStepTimings reads metrics.jsonl lines and averages the timing of
// every step after the first (the warm-up step also pays for starting the
// stages and, with max_staleness 1, for filling the pipeline).
func summarizeStepTimings(r io.Reader) (pipelineBench, error) {
	var rows []pipeline.StepTiming
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var m pipeline.StepMetrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return pipelineBench{}, fmt.Errorf("line %d: %w", line, err)
		}
		rows = append(rows, m.Timing)
	}
	if err := sc.Err(); err != nil {
		return pipelineBench{}, err
	}
	if len(rows) < 2 {
		return pipelineBench{}, fmt.Errorf("%d steps logged, need at least 2 (the first is warm-up)", len(rows))
	}
	res := pipelineBench{Steps: len(rows), MeasuredSteps: len(rows) - 1, Stages: map[string]stageTiming{}}
	n := float64(res.MeasuredSteps)
	for _, t := range rows[1:] {
		res.StepWallS += t.WallS / n
		res.TokensPerS += t.TokensPerSec / n
		for name, st := range t.Stages {
			acc := res.Stages[name]
			acc.BusyS += st.BusyS / n
			acc.BlockedInS += st.BlockedInS / n
			acc.BlockedOutS += st.BlockedOutS / n
			res.Stages[name] = acc
		}
	}
	for _, name := range pipelineStageNames {
		st, ok := res.Stages[name]
		if !ok {
			return pipelineBench{}, fmt.Errorf("no timing.stages.%s in the measured steps", name)
		}
		res.BusySumS += st.BusyS
		if st.BusyS > res.SlowestBusyS {
			res.SlowestStage, res.SlowestBusyS = name, st.BusyS
		}
	}
	if res.SlowestBusyS <= 0 {
		return pipelineBench{}, fmt.Errorf("every stage reports zero busy time")
	}
	res.Ratio = res.StepWallS / res.SlowestBusyS
	if res.StepWallS > 0 {
		res.Parallelism = res.BusySumS / res.StepWallS
	}
	return res, nil
}

func printPipelineBench(w io.Writer, res pipelineBench, asJSON bool) error {
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
