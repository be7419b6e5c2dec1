package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/checkpoint"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/sampling"
)

// refreshRunConfig is smallRunConfig with MMR1's full refresh before steps
// 0 and 2 (4 is past the budget): 6 prompts in chunks of 4
// (prompts_per_step), 3 rollouts each, so every refresh has two chunks and,
// with checkpoint.every 1, a checkpoint after the first.
func refreshRunConfig() RunConfig {
	cfg := smallRunConfig()
	cfg.Sampling.Kind = sampling.KindVAS
	cfg.Sampling.VAS.Refresh, cfg.Sampling.VAS.RefreshEvery, cfg.Sampling.VAS.RefreshSamples = sampling.RefreshFull, 2, 3
	return cfg
}

// samplerState reads a checkpoint's sampler.arrow: the scalar state and the
// per-prompt statistics.
func samplerState(t *testing.T, dir string) (map[string]any, []data.SamplerStats) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, samplerFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := ipc.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if !rd.Next() {
		t.Fatalf("%s: no record", dir)
	}
	js, _ := rd.Record().Schema().Metadata().GetValue(sampling.StateMetaKey)
	var scalar map[string]any
	if err := json.Unmarshal([]byte(js), &scalar); err != nil {
		t.Fatal(err)
	}
	rows, err := data.SamplerStatsFromRecord(rd.Record())
	if err != nil {
		t.Fatal(err)
	}
	return scalar, rows
}

func ckptDir(out string, step int64) string {
	return filepath.Join(out, "checkpoints", checkpoint.DirName(step))
}

func TestVASRefreshRunsAtItsSteps(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := refreshRunConfig()
	out := t.TempDir()
	var log bytes.Buffer
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: out, Allocator: mem, Stderr: &log}); err != nil {
		t.Fatal(err)
	}
	type line struct {
		Step    int64              `json:"step"`
		Refresh map[string]float64 `json:"vas_refresh"`
		Timing  StepTiming         `json:"timing"`
	}
	var refreshed []int64
	for _, l := range readLines(t, filepath.Join(out, metricsFile)) {
		var m line
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		if m.Refresh == nil {
			continue
		}
		refreshed = append(refreshed, m.Step-1)
		want := map[string]float64{"vas_refresh/step": float64(m.Step - 1), "vas_refresh/count": float64(len(refreshed)),
			"vas_refresh/prompts": 6, "vas_refresh/missing": 0, "vas_refresh/rollouts": 18}
		for k, v := range want {
			if m.Refresh[k] != v {
				t.Errorf("step %d: %s = %v, want %v", m.Step, k, m.Refresh[k], v)
			}
		}
		if m.Timing.RefreshS <= 0 {
			t.Errorf("step %d: no refresh duration in timing", m.Step)
		}
	}
	if want := []int64{0, 2}; !reflect.DeepEqual(refreshed, want) {
		t.Errorf("refreshes reported before steps %v, want %v", refreshed, want)
	}
	for _, s := range []string{"vas refresh step 0: 4/6 prompts", "vas refresh step 0: 6/6 prompts", "vas refresh step 2: done, 6 prompts"} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, log.String())
		}
	}
	if strings.Contains(log.String(), "vas refresh step 4") {
		t.Errorf("the refresh past the step budget ran:\n%s", log.String())
	}
	// Checkpoint k holds the state after k steps; step-2 was last written
	// after the first chunk of the step-2 refresh.
	var weights [5][]float64
	for k := int64(0); k <= 4; k++ {
		_, rows := samplerState(t, ckptDir(out, k))
		for _, r := range rows {
			if r.HasWeight {
				weights[k] = append(weights[k], r.Weight)
			}
		}
		if k == 0 && (len(rows) != 4 || weights[0] != nil) {
			t.Errorf("checkpoint step-0 has %d prompts with statistics and weights %v, want 4 and none (one chunk done)", len(rows), weights[0])
		}
	}
	if !reflect.DeepEqual(weights[1], weights[2]) || !reflect.DeepEqual(weights[3], weights[4]) {
		t.Errorf("training steps or a partial refresh moved the weights:\n%v", weights)
	}
	if reflect.DeepEqual(weights[2], weights[3]) || len(weights[1]) != 6 {
		t.Errorf("the step-2 refresh did not re-weight the 6 prompts:\n%v", weights)
	}
	_, rows := samplerState(t, ckptDir(out, 4))
	samples := int64(0)
	for _, r := range rows {
		samples += r.SamplesSeen
	}
	if want := int64(2*6*3 + 4*4*4); samples != want { // two refreshes + four training steps
		t.Errorf("sampler saw %d samples, want %d", samples, want)
	}
}

func TestVASRefreshIsIndependentOfRolloutWorkers(t *testing.T) {
	var dirs []string
	for _, workers := range []int{1, 3} {
		cfg := refreshRunConfig()
		cfg.Rollout.Workers = workers
		cfg.Sampling.VAS.RefreshEvery = 3 // refreshes before steps 0 and 3
		out := t.TempDir()
		if _, err := Run(context.Background(), cfg, RunOptions{OutDir: out}); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, out)
	}
	sameCheckpointFiles(t, dirs[0], dirs[1], 4, "between 1 and 3 rollout workers", policyfile.ModelFile, samplerFile, optimizerFile)
	sameMetrics(t, dirs[0], dirs[1])
}

// TestVASRefreshResumeIsBitIdentical compares the final checkpoint of an
// uninterrupted 4-step run with runs resumed after 2 steps (the step-2
// refresh then runs in the resumed process) and with runs resumed from the
// checkpoints a kill after the first chunk of a refresh leaves behind.
func TestVASRefreshResumeIsBitIdentical(t *testing.T) {
	for _, staleness := range []int64{0, 1} {
		cfg := refreshRunConfig()
		cfg.Train.MaxStaleness = int(staleness)
		full, part := runFullAndPart(t, cfg)
		resumed := map[string]string{"resumed after 2 steps": part}
		// The refresh before step s > 0 runs while s − staleness steps are
		// done; the one before step 0 before any.
		for _, kill := range []int64{0, 2} {
			done := max(kill-staleness, 0)
			scalar, _ := samplerState(t, ckptDir(full, done))
			rf, _ := scalar["refresh"].(map[string]any)
			if rf["step"] != float64(kill) || rf["done"] != float64(4) || rf["complete"] != false {
				t.Fatalf("staleness %d: checkpoint step-%d holds refresh %v, want the step-%d refresh after one chunk", staleness, done, rf, kill)
			}
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(full)); err != nil {
				t.Fatal(err)
			}
			for k := done + 1; k <= 4; k++ {
				os.RemoveAll(ckptDir(dir, k))
			}
			resumed[fmt.Sprintf("killed in the step-%d refresh", kill)] = dir
		}
		for name, dir := range resumed {
			t.Run(fmt.Sprintf("staleness %d %s", staleness, name), func(t *testing.T) {
				if _, err := Run(context.Background(), cfg, RunOptions{OutDir: dir, Resume: true}); err != nil {
					t.Fatal(err)
				}
				sameCheckpointFiles(t, full, dir, 4, "between the uninterrupted and the resumed run", policyfile.ModelFile, samplerFile, optimizerFile, stateFile)
				sameMetrics(t, full, dir)
				if dir == part {
					return // its eval.jsonl also holds the 2-step run's final evaluation
				}
				a, _ := os.ReadFile(filepath.Join(full, evalFile))
				b, _ := os.ReadFile(filepath.Join(dir, evalFile))
				if !bytes.Equal(a, b) {
					t.Errorf("eval.jsonl differs:\n%s\n%s", a, b)
				}
			})
		}
	}
}

// TestVASRefreshWithRemoteGenerators runs the refresh through Flight rollout
// and reward workers (it must equal the in-process run) and through an
// OpenAI-compatible server.
func TestVASRefreshWithRemoteGenerators(t *testing.T) {
	cfg := refreshRunConfig()
	local := t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: local}); err != nil {
		t.Fatal(err)
	}
	t.Run("Flight workers give the in-process result", func(t *testing.T) {
		dcfg := cfg
		dcfg.Distributed = DistributedConfig{RolloutWorkers: []string{startRolloutWorker(t).Addr(), startRolloutWorker(t).Addr()},
			RewardWorkers: []string{startRewardWorker(t, cfg.Reward.Spec).Addr()}, RequestTimeout: 30 * time.Second}
		out := t.TempDir()
		if _, err := Run(context.Background(), dcfg, RunOptions{OutDir: out}); err != nil {
			t.Fatal(err)
		}
		sameCheckpointFiles(t, local, out, 4, "from the in-process run", policyfile.ModelFile, samplerFile)
	})
	t.Run("an OpenAI-compatible server refreshes every prompt", func(t *testing.T) {
		base, _ := serveSFTPolicy(t)
		rcfg := remoteRunConfig(base)
		rcfg.Sampling = cfg.Sampling
		out := t.TempDir()
		if _, err := Run(context.Background(), rcfg, RunOptions{OutDir: out}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range readLines(t, filepath.Join(out, metricsFile)) {
			var m struct {
				Refresh map[string]float64 `json:"vas_refresh"`
			}
			if err := json.Unmarshal(l, &m); err != nil {
				t.Fatal(err)
			}
			if m.Refresh != nil {
				n++
				if m.Refresh["vas_refresh/prompts"] != 6 || m.Refresh["vas_refresh/rollouts"] != 18 {
					t.Errorf("refresh metrics %v, want 6 prompts and 18 rollouts", m.Refresh)
				}
			}
		}
		if n != 2 {
			t.Errorf("%d refreshes reported, want 2", n)
		}
	})
}

func TestVASRefreshRolloutsHaveTheirOwnSeeds(t *testing.T) {
	for _, mode := range []uint8{data.ModeTrace, data.ModeEmpty} {
		refresh := rollout.StepSeed(7, 2, refreshRound, mode)
		for round := 0; round <= 8; round++ { // the step's generation and its refill rounds
			if rollout.StepSeed(7, 2, round, mode) == refresh {
				t.Errorf("mode %d: refresh rollouts share the seed of round %d", mode, round)
			}
		}
	}
}
