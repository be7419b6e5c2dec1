package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	arrowflight "github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline/flight"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/reward"
)

// workerOptions are the flags of `rlpipe worker`.
type workerOptions struct {
	role, listen, checkpoint string
	spec, config             string
	version                  int64
	keep, maxBatch           int
}

func newWorkerCmd() *cobra.Command {
	o := workerOptions{}
	cmd := &cobra.Command{
		Use:   "worker --role rollout|reward --listen ADDR [--checkpoint DIR] [--reward SPEC] [--config FILE]",
		Short: "Serve rollouts or rewards to a distributed run over Arrow Flight",
		Long: `worker serves one stage of the RL loop over Arrow Flight (gRPC, plaintext:
bind it to loopback or a private network).

--role rollout generates rollouts with the policy weights the run pushes to it
(set_weights); --checkpoint DIR optionally preloads a policy as --policy-version.
--role reward scores rollouts with --reward SPEC and/or --config FILE (a reward
configuration, alone or under a top-level "reward:" key).

The listening address is printed on stderr once the worker accepts requests
(--listen 127.0.0.1:0 picks a free port). SIGINT or SIGTERM stops it after the
running requests finish.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runWorker(ctx, o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.role, "role", "", "rollout or reward")
	f.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on (host:port; port 0 picks one)")
	f.StringVar(&o.checkpoint, "checkpoint", "", "rollout: policy checkpoint or run directory to preload")
	f.Int64Var(&o.version, "policy-version", 0, "rollout: the policy version --checkpoint is served as")
	f.IntVar(&o.keep, "keep-versions", flight.DefaultKeepVersions, "rollout: policy versions held at once")
	f.IntVar(&o.maxBatch, "max-batch", 0, "rollout: sequences per model call (0: a request's rows at once)")
	f.StringVar(&o.spec, "reward", "", "reward: reward spec, e.g. math or 0.9*math+0.1*format")
	f.StringVar(&o.config, "config", "", "reward: YAML reward configuration file")
	return cmd
}

// runWorker serves until ctx ends or a signal arrives.
func runWorker(ctx context.Context, o workerOptions, stderr io.Writer) error {
	svc, cleanup, err := workerService(o)
	if err != nil {
		return err
	}
	defer cleanup()
	srv, err := flight.Listen(o.listen, svc)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	if !isLoopback(srv.Addr()) {
		fmt.Fprintf(stderr, "rlpipe worker (%s): warning: %s is reachable beyond this machine over plaintext gRPC, without TLS or "+
			"authentication: anyone who can reach it can %s; bind 127.0.0.1 or a private network (or tunnel over SSH)\n",
			o.role, srv.Addr(), workerExposure(o.role))
	}
	fmt.Fprintf(stderr, "rlpipe worker (%s) listening on %s\n", o.role, srv.Addr())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), flight.ShutdownTimeout)
	defer cancel()
	srv.Shutdown(sctx)
	if err := <-done; err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rlpipe worker (%s) stopped\n", o.role)
	return nil
}

// workerExposure says what an open worker of role lets others do.
func workerExposure(role string) string {
	if role == flight.RoleRollout {
		return "replace its policy weights and read every prompt and completion"
	}
	return "read and score every rollout and run its reward plugins"
}

// workerService builds the Flight service of o.role; cleanup releases its
// resources (reward plugins).
func workerService(o workerOptions) (arrowflight.FlightServer, func(), error) {
	switch o.role {
	case flight.RoleRollout:
		if o.spec != "" || o.config != "" {
			return nil, nil, usageErrorf("worker: --reward and --config apply to --role reward only")
		}
		cfg := flight.RolloutServerConfig{KeepVersions: o.keep, MaxBatch: o.maxBatch}
		if err := cfg.Validate(); err != nil {
			return nil, nil, usageErrorf("worker: %v", err)
		}
		var pol *policyfile.Policy
		if o.checkpoint != "" {
			p, err := policyfile.Load(o.checkpoint)
			if err != nil {
				return nil, nil, fmt.Errorf("worker: %w", err)
			}
			bt, err := p.ByteTokenizer()
			if err != nil {
				return nil, nil, fmt.Errorf("worker: %s: %w", o.checkpoint, err)
			}
			pol, cfg.Tokenizer = p, bt
		}
		srv, err := flight.NewRolloutServer(cfg)
		if err != nil {
			return nil, nil, usageErrorf("worker: %v", err)
		}
		if pol != nil {
			srv.SetModel(o.version, pol.Model, cfg.Tokenizer)
		}
		return srv, func() {}, nil
	case flight.RoleReward:
		if o.checkpoint != "" {
			return nil, nil, usageErrorf("worker: --checkpoint applies to --role rollout only")
		}
		cfg, err := workerRewardConfig(o)
		if err != nil {
			return nil, nil, err
		}
		scorer, err := reward.NewScorer(cfg)
		if err != nil {
			return nil, nil, usageErrorf("worker: %v", err)
		}
		return flight.NewRewardServer(scorer, nil), func() { scorer.Close() }, nil
	}
	return nil, nil, usageErrorf("worker: --role must be %s or %s, got %q", flight.RoleRollout, flight.RoleReward, o.role)
}

func workerRewardConfig(o workerOptions) (reward.Config, error) {
	cfg, err := rewardFlagsConfig("worker", o.config, o.spec)
	if err != nil {
		return cfg, err
	}
	if cfg.Spec == "" && len(cfg.Parts) == 0 {
		return cfg, usageErrorf("worker: --role reward needs --reward SPEC or --config FILE")
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageErrorf("worker: %v", err)
	}
	return cfg, nil
}
