package app

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// post sends body to base+path with an optional bearer key and returns the
// status and answer.
func post(t *testing.T, base, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestServeAPIKeyAndPromptLimits(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	t.Setenv("RLPIPE_TEST_SERVE_KEY", "k3y")
	sp := startServe(t, "--checkpoint", ckpt, "--api-key-env", "RLPIPE_TEST_SERVE_KEY", "--timeout", "30s", "--max-conns", "8")
	ok := `{"model":"rlpipe","prompt":"1+1=","max_tokens":2}`
	// tinyRun's context is 1024 tokens; the byte tokenizer makes one a byte.
	cases := []struct {
		name, key, body string
		status          int
	}{
		{"a request without the key is refused", "", ok, 401},
		{"a request with a wrong key is refused", "nope", ok, 401},
		{"a request with the key is served", "k3y", ok, 200},
		{"an empty prompt is a 400", "k3y", `{"model":"rlpipe","prompt":""}`, 400},
		{"a prompt longer than the context is a 400", "k3y", `{"model":"rlpipe","prompt":"` + strings.Repeat("7", 1100) + `"}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, sp.base, "/completions", tc.key, tc.body)
			if status != tc.status || (status != 200 && !strings.Contains(body, `"error"`)) {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
		})
	}
	if strings.Contains(sp.stderr.String(), "warning") {
		t.Fatalf("a keyed loopback server warned:\n%s", sp.stderr)
	}
}

func TestServeWarnsOnAnOpenNonLoopbackAddress(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	sp := startServe(t, "--checkpoint", ckpt, "--addr", "0.0.0.0:0")
	// The warning follows the address line; a request answered proves
	// serve got past printing it.
	if status, body := post(t, sp.base, "/completions", "", `{"model":"rlpipe","prompt":"1+1=","max_tokens":2}`); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(sp.stderr.String(), "warning") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(sp.stderr.String(), "warning") || !strings.Contains(sp.stderr.String(), "--api-key-env") {
		t.Fatalf("no warning about a keyless public bind:\n%s", sp.stderr)
	}
}

func TestServeRefusesAnEmptyKeyVariable(t *testing.T) {
	t.Setenv("RLPIPE_TEST_EMPTY_KEY", "")
	_, stderr, code := cli(t, "serve", "--checkpoint", "x", "--api-key-env", "RLPIPE_TEST_EMPTY_KEY")
	if code != 2 || !strings.Contains(stderr, "RLPIPE_TEST_EMPTY_KEY") {
		t.Fatalf("exit %d, stderr %q; want 2 naming the variable", code, stderr)
	}
}
