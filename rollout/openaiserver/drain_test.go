package openaiserver_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/rollout/openaiserver"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

// TestServeWaitsForInFlightRequests cancels Serve's context while a slow
// request is in flight: the request must still be answered, and Serve must
// not return before it is.
func TestServeWaitsForInFlightRequests(t *testing.T) {
	srv := openaiserver.New(openaiserver.Config{ShutdownGrace: 5 * time.Second}, rollouttest.HashModel{Delay: 300 * time.Millisecond}, rollouttest.ByteCodec{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan time.Time, 1)
	go func() {
		srv.Serve(ctx, ln)
		served <- time.Now()
	}()
	answered := make(chan time.Time, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/v1/completions", "application/json",
			strings.NewReader(`{"model":"rlpipe","prompt":"2+2=","max_tokens":4}`))
		if err != nil {
			t.Errorf("in-flight request failed: %v", err)
			answered <- time.Now()
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d", resp.StatusCode)
		}
		answered <- time.Now()
	}()
	time.Sleep(100 * time.Millisecond) // the request is now inside the model
	cancel()
	a, s := <-answered, <-served
	if s.Before(a) {
		t.Fatalf("Serve returned %v before the in-flight request was answered", a.Sub(s))
	}
}
