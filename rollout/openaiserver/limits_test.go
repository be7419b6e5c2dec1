package openaiserver_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/rlpipe/rlpipe/rollout/openaiserver"
)

// hostOf returns the HOST:PORT of an API base URL.
func hostOf(base string) string {
	return strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/v1")
}

// rawRequest sends a request's headers announcing a body of n bytes over a
// fresh connection and returns the connection.
func rawRequest(t *testing.T, base, path string, n int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", hostOf(base))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, n)
	return c
}

func TestASlowBodyIsCutOffAfterTheTimeout(t *testing.T) {
	_, base := startServer(t, openaiserver.Config{Timeout: 300 * time.Millisecond}, nil)
	body := `{"model":"rlpipe","prompt":"` + strings.Repeat("q", 200) + `"}`
	c := rawRequest(t, base, "/v1/completions", len(body))
	// Trickle the body at one byte per 50ms (over 10s in all) until the
	// server answers or closes the connection.
	stopped := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		i := 0
		defer func() { sent <- i }()
		for ; i < len(body); i++ {
			select {
			case <-stopped:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	close(stopped)
	n := <-sent
	if err == nil {
		defer res.Body.Close()
		if res.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("status %d after %d of %d body bytes, want 408", res.StatusCode, n, len(body))
		}
		var e struct {
			Error struct{ Message, Type string }
		}
		if err := json.NewDecoder(res.Body).Decode(&e); err != nil || e.Error.Type == "" {
			t.Fatalf("408 body is not an OpenAI error (%v)", err)
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("no answer and no close within 60s (%d body bytes sent)", n)
	}
	t.Logf("answer %v, error %v after %d body bytes", res != nil && err == nil, err, n)
	if n == len(body) {
		t.Fatalf("the whole %d-byte body was accepted at 1 byte/50ms despite a 300ms timeout", n)
	}
}

func TestConnectionsBeyondTheLimitWait(t *testing.T) {
	const limit = 2
	_, base := startServer(t, openaiserver.Config{MaxConns: limit, Timeout: time.Minute}, nil)
	// Hold every allowed connection: each sent its headers and one byte of
	// a ten-byte body, so its handler waits for the rest.
	held := make([]net.Conn, limit)
	for i := range held {
		held[i] = rawRequest(t, base, "/v1/completions", 10)
		held[i].Write([]byte("{"))
	}
	// A health check at the held server stays unanswered: the listener
	// does not accept a third connection (a negative result, so a slow
	// machine cannot make it pass by accident).
	var probeErr error
	for attempt := 0; attempt < 3 && probeErr == nil; attempt++ {
		hc := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := hc.Get("http://" + hostOf(base) + "/health")
		if err == nil {
			// The held requests may not have reached their handlers yet;
			// retry so that the assertion is about the steady state.
			res.Body.Close()
			time.Sleep(200 * time.Millisecond)
			continue
		}
		probeErr = err
	}
	if probeErr == nil {
		t.Fatalf("a connection beyond the limit of %d was served while %d were held", limit, limit)
	}
	// Releasing one held connection lets a new one in.
	held[0].Close()
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := hc.Get("http://" + hostOf(base) + "/health")
	if err != nil {
		t.Fatalf("after a held connection closed: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("health status %d", res.StatusCode)
	}
}

func TestAPIKey(t *testing.T) {
	_, base := startServer(t, openaiserver.Config{APIKey: "sekrit"}, nil)
	cases := []struct {
		name, path, auth string
		status           int
	}{
		{"a request without a key is refused with 401", "/v1/models", "", 401},
		{"a request with a wrong key is refused with 401", "/v1/models", "Bearer wrong", 401},
		{"a key without the Bearer scheme is refused with 401", "/v1/models", "sekrit", 401},
		{"a request with the key is served", "/v1/models", "Bearer sekrit", 200},
		{"health needs no key", "/health", "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+hostOf(base)+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if tc.status == 401 && !strings.Contains(string(body), `"code":"invalid_api_key"`) {
				t.Fatalf("401 body is not an OpenAI invalid_api_key error: %s", body)
			}
		})
	}
	t.Run("the official client's key is accepted", func(t *testing.T) {
		c := openai.NewModelService(option.WithBaseURL(base+"/"), option.WithAPIKey("sekrit"), option.WithMaxRetries(0))
		if _, err := c.List(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestEmptyAndOverlongPromptsAre400(t *testing.T) {
	// ByteCodec: one token per byte, so 16 prompt tokens are 16 bytes.
	s, _ := startServer(t, openaiserver.Config{MaxPromptTokens: 16}, nil)
	long := strings.Repeat("x", 17)
	cases := []struct {
		name, path, body string
		status           int
	}{
		{"an empty prompt string", "/v1/completions", `{"model":"rlpipe","prompt":""}`, 400},
		{"an empty string in a prompt array", "/v1/completions", `{"model":"rlpipe","prompt":["a",""]}`, 400},
		{"a prompt one token over the context", "/v1/completions", `{"model":"rlpipe","prompt":"` + long + `"}`, 400},
		{"a token-id prompt over the context", "/v1/completions", `{"model":"rlpipe","prompt":[` + strings.Repeat("1,", 16) + `1]}`, 400},
		{"a prompt at the context limit is served", "/v1/completions", `{"model":"rlpipe","prompt":"` + long[1:] + `"}`, 200},
		{"chat messages that are all empty", "/v1/chat/completions", `{"model":"rlpipe","messages":[{"role":"user","content":""}]}`, 400},
		{"a chat over the context", "/v1/chat/completions", `{"model":"rlpipe","messages":[{"role":"user","content":"` + long + `"}]}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := recorder(s, "POST", tc.path, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 400 && !strings.Contains(rec.Body.String(), `"type":"invalid_request_error"`) {
				t.Fatalf("400 body is not an OpenAI error: %s", rec.Body)
			}
		})
	}
}
