package app

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/curate"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
)

func newServeCmd() *cobra.Command {
	var (
		cfg        openaiserver.Config
		checkpoint string
		addr       string
		keyEnv     string
	)
	cmd := &cobra.Command{
		Use: "serve --checkpoint DIR [--addr HOST:PORT] [--model-name NAME] [--max-body BYTES] [--timeout D]\n" +
			"      [--concurrency N] [--max-conns N] [--api-key-env NAME]",
		Short: "Serve a policy checkpoint over OpenAI-compatible HTTP endpoints",
		Long: "serve loads a policy checkpoint and answers GET /v1/models, POST /v1/completions and\n" +
			"POST /v1/chat/completions (non-streaming), so the official OpenAI clients, vLLM tooling and\n" +
			"rlpipe's own remote rollouts (curate --base-url, rollout.kind openai) can use it.\n\n" +
			"Once listening it prints \"rlpipe serve: listening on http://ADDR/v1\" on stderr (--addr\n" +
			"HOST:0 picks a free port). SIGINT/SIGTERM stop accepting connections, let in-flight\n" +
			"requests finish within --shutdown-grace and exit 0; a second signal exits at once.\n\n" +
			"Connections: a client must send its request headers within min(--timeout, 10s) and the\n" +
			"whole request, body included, within --timeout (else 408 and the connection is closed);\n" +
			"idle keep-alive connections close after min(--timeout, 2m); at most --max-conns\n" +
			"connections are served at once, further ones wait. Prompts that are empty or longer than\n" +
			"the model's context get 400. With --api-key-env NAME every endpoint but /health requires\n" +
			"\"Authorization: Bearer $NAME\" (else 401); binding a non-loopback address without a key\n" +
			"prints a warning.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if checkpoint == "" {
				return usageErrorf("--checkpoint is required")
			}
			if keyEnv != "" {
				if cfg.APIKey = os.Getenv(keyEnv); cfg.APIKey == "" {
					return usageErrorf("--api-key-env %s: the environment variable is unset or empty", keyEnv)
				}
			}
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			pol, err := policyfile.Load(checkpoint)
			if err != nil {
				return usageError{err}
			}
			if n := contextOf(pol.Model); n > 1 {
				cfg.MaxPromptTokens = n - 1
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return usageErrorf("--addr %s: %w", addr, err)
			}
			if chat := pol.Chat; chat != nil {
				// Chat requests see the prompt text training renders with
				// data.template chat: the model's own template.
				cfg.RenderChat = func(m []data.ChatMessage) (string, error) { return policyfile.RenderConversation(chat, m) }
			}
			srv := openaiserver.New(cfg, pol.Model, curate.TextCodec{Tok: pol.Tokenizer})
			name := cfg.ModelName
			if name == "" {
				name = openaiserver.DefaultModelName
			}
			ctx, stop := notifyContext(cmd.Context())
			defer stop()
			fmt.Fprintf(cmd.ErrOrStderr(), "rlpipe serve: listening on http://%s/v1 (model %q from %s)\n", ln.Addr(), name, checkpoint)
			if cfg.APIKey == "" && !isLoopback(ln.Addr().String()) {
				fmt.Fprintf(cmd.ErrOrStderr(), "rlpipe serve: warning: %s is reachable beyond this machine and no API key is required; set --api-key-env NAME or bind 127.0.0.1\n", ln.Addr())
			}
			return serveUntilDone(ctx, cmd, srv, ln, cfg.ShutdownGrace)
		},
	}
	f := cmd.Flags()
	f.StringVar(&checkpoint, "checkpoint", "", "policy checkpoint or run directory")
	f.StringVar(&addr, "addr", "127.0.0.1:8000", "listen address (port 0: any free port)")
	f.StringVar(&cfg.ModelName, "model-name", openaiserver.DefaultModelName, "model id served and listed by /v1/models")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body", openaiserver.DefaultMaxBodyBytes, "largest request body in bytes (larger: 413)")
	f.DurationVar(&cfg.Timeout, "timeout", openaiserver.DefaultTimeout, "deadline of one request, queueing included (expiry: 504)")
	f.IntVar(&cfg.Concurrency, "concurrency", openaiserver.DefaultConcurrency, "model calls running at once")
	f.IntVar(&cfg.QueueDepth, "queue-depth", openaiserver.DefaultQueueDepth, "requests waiting for a model slot before 429")
	f.IntVar(&cfg.MaxTokens, "max-tokens", openaiserver.DefaultMaxTokens, "largest max_tokens a request may ask for")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of requests that carry none")
	f.IntVar(&cfg.MaxConns, "max-conns", openaiserver.DefaultMaxConns, "connections served at once; further ones wait")
	f.StringVar(&keyEnv, "api-key-env", "", "environment variable holding the API key clients must send as a Bearer token")
	f.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", openaiserver.DefaultShutdown, "how long in-flight requests may finish after a signal")
	return cmd
}

// serveUntilDone serves on ln until ctx ends, then shuts the server down:
// the listener closes at once and in-flight requests may finish within
// grace (0: openaiserver.DefaultShutdown) before their connections are cut.
// Serve runs on a context of its own because it returns as soon as
// shutdown starts; waiting on Shutdown is what keeps the process alive
// until the in-flight requests are answered.
func serveUntilDone(ctx context.Context, cmd *cobra.Command, srv *openaiserver.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(context.Background(), ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if grace <= 0 {
		grace = openaiserver.DefaultShutdown
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "rlpipe serve: shutting down; in-flight requests have %v to finish (signal again to exit now)\n", grace)
	gctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(gctx)
	<-errc
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "rlpipe serve: grace period over, open connections closed: %v\n", err)
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "rlpipe serve: stopped")
	return nil
}

// notifyContext returns a context cancelled by the first SIGINT or SIGTERM.
// After that signal the handler is removed, so a second one terminates the
// process at once.
func notifyContext(parent context.Context) (context.Context, func()) {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// contextOf returns the context length, in tokens, of a policy model, or 0
// when the model's kind is unknown.
func contextOf(m policy.Trainable) int {
	switch m := m.(type) {
	case *policy.Model:
		return m.Config().Context
	case *policy.DiffusionModel:
		return m.Config().Context
	case *policy.LlamaModel:
		return m.Config().MaxPositions
	}
	return 0
}

// isLoopback reports whether addr (HOST:PORT, as a listener reports it) is
// a loopback address; the unspecified address (0.0.0.0, ::) is not.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// secondsOf converts a whole number of seconds from a flag.
func secondsOf(s int) time.Duration { return time.Duration(s) * time.Second }
