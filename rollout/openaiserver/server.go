package openaiserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"

	"github.com/rlpipe/rlpipe/rollout"
)

// ErrClosed is returned by Serve and ListenAndServe after Shutdown.
var ErrClosed = errors.New("openaiserver: server shut down")

// Server serves a rollout.Model over OpenAI-compatible endpoints (see the
// package doc). It is safe for concurrent use; the model is called from
// several goroutines at once (up to Config.Concurrency), so it must be safe
// for concurrent use too.
type Server struct {
	cfg      Config
	model    rollout.Model
	codec    rollout.Codec
	vocab    int // token ids the model embeds (0: the model does not say)
	lim      *limiter
	handler  http.Handler
	started  time.Time
	requests atomic.Uint64 // seeds of requests without one
	ids      atomic.Uint64 // response ids

	mu     sync.Mutex
	https  []*http.Server
	closed bool
}

// vocabSizer is a model that says how many token ids it embeds, so that
// prompts of token ids outside them are refused as bad requests rather
// than failing inside the model.
type vocabSizer interface{ VocabSize() int }

// New returns a server for model, whose text goes through codec. It panics
// when model or codec is nil or cfg is invalid (check cfg.Validate first when
// it comes from a user).
func New(cfg Config, model rollout.Model, codec rollout.Codec) *Server {
	if model == nil || codec == nil {
		panic("openaiserver: New needs a model and a codec")
	}
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("openaiserver: %v", err))
	}
	s := &Server{cfg: cfg.withDefaults(), model: model, codec: codec, started: time.Now()}
	if v, ok := model.(vocabSizer); ok {
		s.vocab = v.VocabSize()
	}
	s.lim = newLimiter(s.cfg.Concurrency, s.cfg.QueueDepth)
	s.handler = s.routes()
	return s
}

// Handler returns the HTTP handler of all endpoints, for embedding in another
// server or in httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// ListenAndServe listens on addr (e.g. "127.0.0.1:8000") and serves until
// ctx ends or Shutdown is called; then it stops accepting, waits up to
// Config.ShutdownGrace for in-flight requests and returns nil.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("openaiserver: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln (which it closes) like ListenAndServe, with the
// connection timeouts of Config.HTTPTimeouts and at most Config.MaxConns
// connections at once (further ones wait in ln's backlog).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	to := s.cfg.HTTPTimeouts()
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: to.ReadHeader,
		ReadTimeout:       to.Read,
		WriteTimeout:      to.Write,
		IdleTimeout:       to.Idle,
	}
	ln = netutil.LimitListener(ln, s.cfg.MaxConns)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	s.https = append(s.https, hs)
	s.mu.Unlock()

	stop := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		select {
		case <-ctx.Done():
			grace, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
			defer cancel()
			if hs.Shutdown(grace) != nil {
				hs.Close()
			}
		case <-stop:
		}
	}()
	err := hs.Serve(ln)
	// http.Server.Serve returns as soon as Shutdown starts; wait until the
	// in-flight requests have been answered (or the grace period ended)
	// before reporting that the server has stopped.
	close(stop)
	<-drained
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("openaiserver: serve: %w", err)
}

// Shutdown stops every Serve of s gracefully: listeners close at once, and
// in-flight requests run to completion until ctx ends, when their
// connections are closed. Later Serve calls return ErrClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	https := s.https
	s.https = nil
	s.mu.Unlock()
	var errs []error
	for _, hs := range https {
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("openaiserver: shutdown: %w", err)
	}
	return nil
}
