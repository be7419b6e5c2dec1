package pipeline

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
)

// textCodec decodes without control tokens, as a server's text output has.
type textCodec struct{ *policyfile.Policy }

func (c textCodec) Encode(s string) []int32   { return c.Tokenizer.Encode(s) }
func (c textCodec) Decode(ids []int32) string { return c.Tokenizer.DecodeText(ids) }

// serveSFTPolicy trains the small run's SFT policy and serves it over the
// OpenAI-compatible API on a loopback port; it returns the base URL and a
// function that kills the server (closes the listener and every
// connection).
func serveSFTPolicy(t *testing.T) (string, func()) {
	t.Helper()
	cfg := smallRunConfig()
	dir := t.TempDir()
	if _, err := RunSFT(context.Background(), cfg, RunOptions{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	pol, err := policyfile.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := openaiserver.New(openaiserver.Config{Timeout: 10 * time.Second}, pol.Model, textCodec{pol})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	kill := func() { hs.Close() }
	t.Cleanup(kill)
	return "http://" + ln.Addr().String() + "/v1", kill
}

func remoteRunConfig(baseURL string) RunConfig {
	cfg := smallRunConfig()
	cfg.Rollout.Kind = RolloutOpenAI
	cfg.Rollout.OpenAI.BaseURL = baseURL
	cfg.Rollout.OpenAI.Model = "rlpipe"
	cfg.Rollout.OpenAI.Timeout = 5 * time.Second
	cfg.Rollout.OpenAI.MaxRetries = 1
	cfg.Rollout.OpenAI.BackoffBase = 10 * time.Millisecond
	cfg.Rollout.OpenAI.BackoffMax = 20 * time.Millisecond
	return cfg
}

func TestRunWithRemoteRolloutsFromServer(t *testing.T) {
	base, _ := serveSFTPolicy(t)
	cfg := remoteRunConfig(base)
	out := t.TempDir()
	res, err := Run(context.Background(), cfg, RunOptions{OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != int64(cfg.Train.Steps) {
		t.Fatalf("steps = %d", res.Steps)
	}
	if n := len(readLines(t, filepath.Join(out, metricsFile))); n != cfg.Train.Steps {
		t.Fatalf("%d metrics lines", n)
	}
}

func TestKilledServerFailsTheRunCleanly(t *testing.T) {
	base, kill := serveSFTPolicy(t)
	cfg := remoteRunConfig(base)
	cfg.Train.Steps = 50
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	time.AfterFunc(300*time.Millisecond, kill)
	start := time.Now()
	_, err := Run(ctx, cfg, RunOptions{OutDir: t.TempDir()})
	if err == nil {
		t.Fatal("the run finished although its server was killed")
	}
	if !errors.Is(err, rollout.ErrUnavailable) || ctx.Err() != nil {
		t.Fatalf("err = %v (after %v); want rollout.ErrUnavailable well before the deadline", err, time.Since(start))
	}
}
