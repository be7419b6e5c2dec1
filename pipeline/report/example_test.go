package report_test

import (
	"fmt"

	"github.com/rlpipe/rlpipe/pipeline/report"
)

func ExampleSummary_String() {
	s := &report.Summary{
		Dir: "runs/a", OutDir: "runs/a/report", Steps: 2, FirstStep: 1, LastStep: 2,
		Reward:     report.Stat{N: 2, First: 0.1, Last: 0.3, Best: 0.3, FirstStep: 1, LastStep: 2, BestStep: 2},
		EvalNote:   "eval.jsonl not found",
		Stages:     []report.StageBusy{{Name: "rollout", MeanBusyS: 1.5, Steps: 2}, {Name: "learner", MeanBusyS: 0.5, Steps: 2}},
		Bottleneck: "rollout", TokensPerSec: 900, TokensPerSecSteps: 2,
		Plots: []string{"reward.png", "stages.png"},
	}
	fmt.Print(s)
	// Output:
	// run: runs/a
	// steps: 2 (step 1 to 2)
	// train reward: first 0.1000 (step 1), last 0.3000 (step 2), best 0.3000 (step 2)
	// train accuracy: not logged
	// held-out accuracy: no evaluations (eval.jsonl not found)
	// dropped groups: 0 total, filtered groups: 0 total, reward errors: 0 total
	// mean stage busy time per step: rollout 1.500s learner 0.500s; bottleneck: rollout
	// tokens/s: 900.0 mean over 2 steps
	// plots in runs/a/report: reward.png, stages.png
}
