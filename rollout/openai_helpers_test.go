package rollout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

// serve runs h on a loopback port until the test ends; it returns the API
// base URL and the listener (closing it stops new connections).
func serve(t testing.TB, h http.Handler) (string, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { hs.Serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if hs.Shutdown(ctx) != nil {
			hs.Close()
		}
		<-done
	})
	return "http://" + ln.Addr().String() + "/v1", ln
}

// modelServer is an openaiserver over HashModel and ByteCodec.
func modelServer(cfg openaiserver.Config) *openaiserver.Server {
	return openaiserver.New(cfg, rollouttest.HashModel{}, rollouttest.ByteCodec{})
}

func newGen(t testing.TB, cfg rollout.OpenAIConfig, codec rollout.Codec) *rollout.OpenAI {
	t.Helper()
	g, err := rollout.NewOpenAI(cfg, codec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// rewriteN forwards requests to next with "n" forced to 1, like servers that
// ignore n.
func rewriteN(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if json.Unmarshal(body, &m) == nil && m["n"] != nil {
			m["n"] = 1
			body, _ = json.Marshal(m)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// teeBody reads r's body into sb and returns a fresh reader over it.
func teeBody(r *http.Request, sb interface{ Write([]byte) (int, error) }) io.ReadCloser {
	body, _ := io.ReadAll(r.Body)
	sb.Write(body)
	return io.NopCloser(bytes.NewReader(body))
}
