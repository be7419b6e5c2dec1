package flight

import (
	"context"
	"fmt"
	"net"
	"time"

	arrowflight "github.com/apache/arrow/go/v17/arrow/flight"
	"google.golang.org/grpc"
)

// Server is a listening Flight worker (rollout or reward service). Its
// methods are safe for concurrent use.
type Server struct {
	lis net.Listener
	gs  *grpc.Server
}

// Listen binds addr (host:port; port 0 picks a free one) and registers
// svc, a RolloutServer or RewardServer; call Serve to start answering.
func Listen(addr string, svc arrowflight.FlightServer) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("flight: listen %s: %w", addr, err)
	}
	gs := grpc.NewServer(serverOptions()...)
	arrowflight.RegisterFlightServiceServer(gs, svc)
	return &Server{lis: lis, gs: gs}, nil
}

// Addr is the bound address, e.g. "127.0.0.1:40123".
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Serve answers requests until Shutdown or Stop; it returns nil after
// either.
func (s *Server) Serve() error {
	if err := s.gs.Serve(s.lis); err != nil && err != grpc.ErrServerStopped {
		return fmt.Errorf("flight: serve %s: %w", s.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting requests and waits for the running ones to
// finish, or until ctx ends, when it closes every connection (Stop).
func (s *Server) Shutdown(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		s.gs.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.gs.Stop()
		<-done
	}
}

// Stop closes the listener and every connection at once, failing running
// requests (as a crashed worker would).
func (s *Server) Stop() { s.gs.Stop() }

// ShutdownTimeout is how long Shutdown callers in this module wait for
// running requests by default.
const ShutdownTimeout = 30 * time.Second
