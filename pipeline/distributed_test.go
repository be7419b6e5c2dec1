package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/pipeline/flight"
	"github.com/rlpipe/rlpipe/reward"
)

func startRolloutWorker(t *testing.T) *flight.Server {
	t.Helper()
	svc, err := flight.NewRolloutServer(flight.RolloutServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := flight.Listen("127.0.0.1:0", svc)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(srv.Stop)
	return srv
}

func startRewardWorker(t *testing.T, spec string) *flight.Server {
	t.Helper()
	scorer, err := reward.NewScorer(reward.Config{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scorer.Close() })
	srv, err := flight.Listen("127.0.0.1:0", flight.NewRewardServer(scorer, nil))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(srv.Stop)
	return srv
}

// TestDistributedRunEqualsInProcessRun runs the small job in-process and
// with two Flight rollout workers and one reward worker (one rollout worker
// killed after the first step in the second case): final weights and
// metrics must be identical.
func TestDistributedRunEqualsInProcessRun(t *testing.T) {
	cfg := smallRunConfig()
	local := t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: local}); err != nil {
		t.Fatal(err)
	}
	for _, kill := range []bool{false, true} {
		name := map[bool]string{false: "two rollout workers", true: "one of two rollout workers killed"}[kill]
		t.Run(name, func(t *testing.T) {
			w1, w2 := startRolloutWorker(t), startRolloutWorker(t)
			rw := startRewardWorker(t, cfg.Reward.Spec)
			dcfg := cfg
			dcfg.Distributed = DistributedConfig{RolloutWorkers: []string{w1.Addr(), w2.Addr()}, RewardWorkers: []string{rw.Addr()},
				RequestTimeout: 30 * time.Second}
			if kill {
				dcfg.Check.Every = 1
			}
			out := t.TempDir()
			if kill {
				go func() {
					for i := 0; i < 2000; i++ {
						if _, err := os.Stat(filepath.Join(out, "checkpoints", "step-000001")); err == nil {
							w2.Stop()
							return
						}
						time.Sleep(5 * time.Millisecond)
					}
				}()
			}
			if _, err := Run(context.Background(), dcfg, RunOptions{OutDir: out}); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(filepath.Join(local, "checkpoints", "step-000004", "model.safetensors"))
			b, _ := os.ReadFile(filepath.Join(out, "checkpoints", "step-000004", "model.safetensors"))
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Fatal("final weights differ from the in-process run")
			}
			if x, y := deterministicMetrics(t, local), deterministicMetrics(t, out); x != y {
				t.Fatalf("metrics differ:\n%s\n%s", x, y)
			}
		})
	}
}
