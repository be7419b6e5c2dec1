package bench

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/pipeline"
)

// stepLine is a metrics.jsonl line with the given timings (stage busy
// seconds in rollout, reward, learner order).
func stepLine(step int, wall float64, busy [3]float64) string {
	m := pipeline.StepMetrics{Step: int64(step), Timing: pipeline.StepTiming{WallS: wall, TokensPerSec: 100 * float64(step),
		Stages: map[string]pipeline.StageTimes{
			"rollout": {BusyS: busy[0], BlockedOutS: 0.5},
			"reward":  {BusyS: busy[1], BlockedInS: 1},
			"learner": {BusyS: busy[2]},
			"sampler": {},
		}}}
	b, _ := json.Marshal(m)
	return string(b)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12+1e-9*math.Abs(b) }

func TestSummarizeStepTimings(t *testing.T) {
	t.Run("the warm-up step is left out of every mean", func(t *testing.T) {
		in := strings.Join([]string{
			stepLine(1, 100, [3]float64{50, 50, 50}),
			stepLine(2, 2.2, [3]float64{2, 0.1, 1}),
			stepLine(3, 2.6, [3]float64{1.8, 0.3, 1.2}),
			"",
		}, "\n")
		res, err := SummarizeStepTimings(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != 3 || res.MeasuredSteps != 2 {
			t.Fatalf("steps %d measured %d, want 3 and 2", res.Steps, res.MeasuredSteps)
		}
		checks := []struct {
			name      string
			got, want float64
		}{
			{"step_wall_s", res.StepWallS, 2.4},
			{"rollout busy", res.Stages["rollout"].BusyS, 1.9},
			{"reward busy", res.Stages["reward"].BusyS, 0.2},
			{"learner busy", res.Stages["learner"].BusyS, 1.1},
			{"rollout blocked out", res.Stages["rollout"].BlockedOutS, 0.5},
			{"reward blocked in", res.Stages["reward"].BlockedInS, 1},
			{"slowest busy", res.SlowestBusyS, 1.9},
			{"ratio", res.Ratio, 2.4 / 1.9},
			{"tokens/s", res.TokensPerS, 250},
			{"busy sum", res.BusySumS, 1.9 + 0.2 + 1.1},
			{"parallelism", res.Parallelism, 3.2 / 2.4},
		}
		for _, c := range checks {
			if !near(c.got, c.want) {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		if res.SlowestStage != "rollout" {
			t.Errorf("slowest stage %q, want rollout", res.SlowestStage)
		}
	})
	errs := []struct {
		name, in, msg string
	}{
		{"a single step cannot be measured", stepLine(1, 1, [3]float64{1, 1, 1}), "at least 2"},
		{"a malformed line is located", stepLine(1, 1, [3]float64{1, 1, 1}) + "\n{oops\n", "line 2"},
		{"a missing stage is named", stepLine(1, 1, [3]float64{1, 1, 1}) + "\n" + `{"step":2,"timing":{"wall_s":1,"stages":{"rollout":{"busy_s":1}}}}`, "reward"},
		{"all-idle stages are refused", stepLine(1, 1, [3]float64{}) + "\n" + stepLine(2, 1, [3]float64{}), "zero busy"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SummarizeStepTimings(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.msg)
			}
		})
	}
}
