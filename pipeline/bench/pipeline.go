package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rlpipe/rlpipe/pipeline"
)

// PipelineBase is the reduced budget bench pipeline starts from, applied
// before the user's --config files and --set overrides: a short SFT warm
// start, a few RL steps with rollouts of step n+1 overlapping the update of
// step n, and no evaluation or checkpoint work inside the loop, so that the
// step times measure the stages and nothing else.
const PipelineBase = `
sft: {steps: 100}
train: {steps: 8, max_staleness: 1}
eval: {n: 20, every: 0}
checkpoint: {every: 0, keep_last: 1}
log: {progress: false, dump_rollouts: false}
`

// Stages are the stages of the RL loop whose busy time bounds a step from
// below: at best the step takes as long as the slowest of them.
var Stages = []string{"rollout", "reward", "learner"}

// StageTiming is one stage's mean seconds per step.
type StageTiming struct {
	BusyS       float64 `json:"busy_s"`
	BlockedInS  float64 `json:"blocked_in_s"`
	BlockedOutS float64 `json:"blocked_out_s"`
}

// PipelineResult is the result of bench pipeline: means over the measured
// steps (every step after the first, which fills the pipeline).
type PipelineResult struct {
	Steps         int                    `json:"steps"`
	MeasuredSteps int                    `json:"measured_steps"`
	MaxStaleness  int                    `json:"max_staleness"`
	StepWallS     float64                `json:"step_wall_s"`
	Stages        map[string]StageTiming `json:"stages"`
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

// Pipeline runs the RL job cfg in opts.OutDir (pipeline.Run) and
// summarises the step timings of its metrics.jsonl (SummarizeStepTimings).
// The caller chooses the budget (see PipelineBase) and checks that cfg has
// at least 2 steps.
func Pipeline(ctx context.Context, cfg pipeline.RunConfig, opts pipeline.RunOptions) (PipelineResult, error) {
	if _, err := pipeline.Run(ctx, cfg, opts); err != nil {
		return PipelineResult{}, err
	}
	f, err := os.Open(filepath.Join(opts.OutDir, "metrics.jsonl"))
	if err != nil {
		return PipelineResult{}, err
	}
	defer f.Close()
	res, err := SummarizeStepTimings(f)
	if err != nil {
		return PipelineResult{}, fmt.Errorf("bench pipeline: %s: %w", f.Name(), err)
	}
	res.MaxStaleness = cfg.Train.MaxStaleness
	return res, nil
}

// SummarizeStepTimings reads metrics.jsonl lines and averages the timing of
// every step after the first (the warm-up step also pays for starting the
// stages and, with max_staleness 1, for filling the pipeline). It fails on
// fewer than 2 steps, a malformed line (named by number), a step without
// one of Stages, or stages that were never busy.
func SummarizeStepTimings(r io.Reader) (PipelineResult, error) {
	rows, err := readStepTimings(r)
	if err != nil {
		return PipelineResult{}, err
	}
	if len(rows) < 2 {
		return PipelineResult{}, fmt.Errorf("%d steps logged, need at least 2 (the first is warm-up)", len(rows))
	}
	res := PipelineResult{Steps: len(rows), MeasuredSteps: len(rows) - 1, Stages: map[string]StageTiming{}}
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
	for _, name := range Stages {
		st, ok := res.Stages[name]
		if !ok {
			return PipelineResult{}, fmt.Errorf("no timing.stages.%s in the measured steps", name)
		}
		res.BusySumS += st.BusyS
		if st.BusyS > res.SlowestBusyS {
			res.SlowestStage, res.SlowestBusyS = name, st.BusyS
		}
	}
	if res.SlowestBusyS <= 0 {
		return PipelineResult{}, fmt.Errorf("every stage reports zero busy time")
	}
	res.Ratio = res.StepWallS / res.SlowestBusyS
	if res.StepWallS > 0 {
		res.Parallelism = res.BusySumS / res.StepWallS
	}
	return res, nil
}

// readStepTimings returns the timing of every non-empty metrics.jsonl line.
func readStepTimings(r io.Reader) ([]pipeline.StepTiming, error) {
	var rows []pipeline.StepTiming
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var m pipeline.StepMetrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rows = append(rows, m.Timing)
	}
	return rows, sc.Err()
}
