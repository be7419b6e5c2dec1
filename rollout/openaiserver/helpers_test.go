package openaiserver_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

// startServer serves model on a loopback port until the test ends and
// returns the API base URL.
func startServer(t testing.TB, cfg openaiserver.Config, model rollout.Model) (*openaiserver.Server, string) {
	t.Helper()
	if model == nil {
		model = rollouttest.HashModel{}
	}
	s := openaiserver.New(cfg, model, rollouttest.ByteCodec{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down")
		}
	})
	return s, "http://" + ln.Addr().String() + "/v1"
}

type clients struct {
	completions openai.CompletionService
	chat        openai.ChatCompletionService
	models      openai.ModelService
	http        *http.Client
}

func newClients(t testing.TB, base string) clients {
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(hc.CloseIdleConnections)
	opts := []option.RequestOption{option.WithHTTPClient(hc), option.WithBaseURL(base + "/"), option.WithMaxRetries(0)}
	return clients{openai.NewCompletionService(opts...), openai.NewChatCompletionService(opts...), openai.NewModelService(opts...), hc}
}

func apiStatus(t *testing.T, err error) int {
	t.Helper()
	var e *openai.Error
	if err == nil {
		t.Fatal("no error")
	}
	if !errorsAs(err, &e) {
		t.Fatalf("error %v is not an API error", err)
	}
	return e.StatusCode
}
