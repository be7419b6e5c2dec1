package pipeline

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"
)

// TestDynamicSamplingRefillShowsInStageTimings runs DAPO refills (every
// group of the tiny policy is all wrong, so each step refills up to the
// bound) and checks that the refill's generation and scoring are stages
// of the run: metrics.jsonl times them each step, and every record they
// pass is released.
func TestDynamicSamplingRefillShowsInStageTimings(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := withInit(t, smallRunConfig())
	cfg.Train.Steps = 2
	cfg.Sampling.Filter.ZeroVariance = true
	cfg.Sampling.Filter.MaxRefillRounds = 2
	out := t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: out, Allocator: mem}); err != nil {
		t.Fatal(err)
	}
	for i, line := range readLines(t, filepath.Join(out, metricsFile)) {
		var m StepMetrics
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if m.Filter["filter/rounds"] != 3 {
			t.Fatalf("step %d: filter metrics %v, want 3 rounds", i+1, m.Filter)
		}
		for _, name := range []string{refillRolloutStage, refillRewardStage} {
			if st, ok := m.Timing.Stages[name]; !ok || st.BusyS <= 0 {
				t.Errorf("step %d: stage %q timing %+v (present %v), want busy time; stages %v", i+1, name, st, ok, m.Timing.Stages)
			}
		}
	}
}

// TestRunWithoutFilterHasNoRefillStages keeps the stages of a run without
// dynamic sampling as they were.
func TestRunWithoutFilterHasNoRefillStages(t *testing.T) {
	cfg := withInit(t, smallRunConfig())
	cfg.Train.Steps = 1
	out := t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: out}); err != nil {
		t.Fatal(err)
	}
	var m StepMetrics
	if err := json.Unmarshal(readLines(t, filepath.Join(out, metricsFile))[0], &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Timing.Stages[refillRolloutStage]; ok || len(m.Timing.Stages) != 3 {
		t.Errorf("stages %v, want sampler-fed rollout, reward and learner only", m.Timing.Stages)
	}
}
