package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/pipeline/flight"
	"github.com/rlpipe/rlpipe/policy"
)

// runDir is what a finished run left in its directory.
type runDir struct {
	checkpoints []string // checkpoint directories, oldest first
	last        []string // files of the newest checkpoint
	evals       []string // "step mode" of every eval.jsonl row
	dumps       []string // files under rollouts/
	versions    []int64  // the policy versions of each dumped step's rollouts
}

func readRunDir(t *testing.T, out string) runDir {
	t.Helper()
	var d runDir
	ckpts, _ := filepath.Glob(filepath.Join(out, "checkpoints", "step-*"))
	for _, c := range ckpts {
		d.checkpoints = append(d.checkpoints, filepath.Base(c))
	}
	if len(ckpts) > 0 {
		files, _ := os.ReadDir(ckpts[len(ckpts)-1])
		for _, f := range files {
			d.last = append(d.last, f.Name())
		}
	}
	for _, line := range readLines(t, filepath.Join(out, evalFile)) {
		var e EvalResult
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		d.evals = append(d.evals, fmt.Sprintf("%d %s", e.Step, e.Mode))
	}
	dumps, _ := os.ReadDir(filepath.Join(out, "rollouts"))
	for _, f := range dumps {
		d.dumps = append(d.dumps, f.Name())
		rows := readTrainRows(t, filepath.Join(out, "rollouts", f.Name()))
		d.versions = append(d.versions, rows[0].PolicyVersion)
	}
	return d
}

// TestRunKeysChangeTheRunDirectory runs three steps from a fresh policy
// with each key at its base value and moved, and checks that the run
// directory shows the key's documented effect, which the base run lacks.
func TestRunKeysChangeTheRunDirectory(t *testing.T) {
	base := initConfig(t, policy.KindAR)
	base.Train.Steps = 3
	base.Check.Every, base.Check.KeepLast = 1, 0
	base.Log.DumpRollouts = true
	cases := []struct {
		key    string
		mutate func(*RunConfig)
		shows  func(runDir) bool
	}{
		// The last step is always checkpointed.
		{"checkpoint.every", func(c *RunConfig) { c.Check.Every = 2 },
			func(d runDir) bool { return slices.Equal(d.checkpoints, []string{"step-000002", "step-000003"}) }},
		{"checkpoint.keep_last", func(c *RunConfig) { c.Check.KeepLast = 1 },
			func(d runDir) bool { return slices.Equal(d.checkpoints, []string{"step-000003"}) }},
		// Evaluations before and after the run, and every step between.
		{"eval.every", func(c *RunConfig) { c.Eval.Every = 1 },
			func(d runDir) bool {
				return slices.Equal(d.evals, []string{"0 trace", "1 trace", "2 trace", "3 trace"})
			}},
		// The base run dumps step-000001.arrow … step-000003.arrow.
		{"log.dump_rollouts", func(c *RunConfig) { c.Log.DumpRollouts = false },
			func(d runDir) bool { return len(d.dumps) == 0 }},
		// With staleness 1 step n+1 rolls out with the weights before step
		// n's update (versions 0, 0, 1 rather than 0, 1, 2), which a
		// checkpoint keeps to resume exactly.
		{"train.max_staleness", func(c *RunConfig) { c.Train.MaxStaleness = 1 },
			func(d runDir) bool {
				return slices.Equal(d.versions, []int64{0, 0, 1}) && slices.Contains(d.last, behaviourFile)
			}},
		{"rollout.modes", func(c *RunConfig) { c.Rollout.Modes = []string{"trace", "empty"} },
			func(d runDir) bool { return slices.Contains(d.evals, "3 empty") }},
	}
	run := func(t *testing.T, cfg RunConfig) runDir {
		out := t.TempDir()
		if _, err := Run(context.Background(), cfg, RunOptions{OutDir: out}); err != nil {
			t.Fatal(err)
		}
		return readRunDir(t, out)
	}
	want := run(t, base)
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			if c.shows(want) {
				t.Fatalf("the base run already shows what %s should change: %+v", c.key, want)
			}
			cfg := base
			c.mutate(&cfg)
			if got := run(t, cfg); !c.shows(got) {
				t.Errorf("%s set, but the run directory does not show it: %+v", c.key, got)
			}
		})
	}
}

// The distributed worker lists carry a run's rollouts and rewards: pointed
// at an address where no worker listens, the run fails for want of
// workers, where the same run in-process succeeds
// (TestDistributedRunEqualsInProcessRun shows that live workers give the
// in-process results).
func TestDistributedWorkersCarryTheRun(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	base := initConfig(t, policy.KindAR)
	base.Train.Steps = 1
	if _, err := Run(context.Background(), base, RunOptions{OutDir: t.TempDir()}); err != nil {
		t.Fatalf("the in-process run fails: %v", err)
	}
	for _, c := range []struct {
		key    string
		mutate func(*DistributedConfig)
	}{
		{"distributed.rollout_workers", func(d *DistributedConfig) { d.RolloutWorkers = []string{dead} }},
		{"distributed.reward_workers", func(d *DistributedConfig) { d.RewardWorkers = []string{dead} }},
	} {
		t.Run(c.key, func(t *testing.T) {
			cfg := base
			c.mutate(&cfg.Distributed)
			if _, err := Run(context.Background(), cfg, RunOptions{OutDir: t.TempDir()}); !errors.Is(err, flight.ErrNoWorkers) {
				t.Errorf("%s at a dead address: err = %v, want flight.ErrNoWorkers", c.key, err)
			}
		})
	}
}

// distributed.request_timeout bounds each request to a worker: a worker
// that accepts connections but never answers is given up on after it,
// failing the run for want of workers, rather than after the 10-minute
// default.
func TestDistributedRequestTimeoutBoundsAHangingWorker(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	cfg := initConfig(t, policy.KindAR)
	cfg.Train.Steps = 1
	cfg.Distributed.RolloutWorkers = []string{l.Addr().String()}
	cfg.Distributed.RequestTimeout = 300 * time.Millisecond
	// Past this deadline the run would fail with the context's error, not
	// for want of workers.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	_, err = Run(ctx, cfg, RunOptions{OutDir: t.TempDir()})
	if !errors.Is(err, flight.ErrNoWorkers) {
		t.Fatalf("err = %v after %v, want flight.ErrNoWorkers well within the deadline", err, time.Since(start))
	}
}
