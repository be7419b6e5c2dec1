package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// headerRecorder is a loopback HTTP reward that gives every row 0.5 and
// records the Authorization and X-Api-Token headers it was sent.
func headerRecorder(t *testing.T) (*httptest.Server, func() map[string]string) {
	var mu sync.Mutex
	seen := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen["Authorization"] = r.Header.Get("Authorization")
		seen["X-Api-Token"] = r.Header.Get("X-Api-Token")
		mu.Unlock()
		var req struct {
			Rows []struct {
				ID uint64 `json:"id"`
			} `json:"rows"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		var res []string
		for _, row := range req.Rows {
			res = append(res, fmt.Sprintf(`{"id":%d,"reward":0.5}`, row.ID))
		}
		io.WriteString(w, `{"results":[`+strings.Join(res, ",")+`]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]string{}
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

// TestHTTPRewardHeadersFromYAMLAreSentAndNeverSaved runs `rlpipe run` with
// an http reward whose headers come from a YAML config (a nested map the
// decoder types as reward.Options) and from an environment variable: both
// must reach the server, and neither value may appear in the run directory.
func TestHTTPRewardHeadersFromYAMLAreSentAndNeverSaved(t *testing.T) {
	srv, seen := headerRecorder(t)
	t.Setenv("RLPIPE_TEST_REWARD_TOKEN", "env-secret-42")
	body := strings.Replace(smallRun, "train: {steps: 6,", "train: {steps: 1,", 1) + fmt.Sprintf(`
reward:
  spec: ""
  parts:
    - kind: http
      options:
        url: %s
        headers: {Authorization: "Bearer literal-secret-7"}
        headers_env: {X-Api-Token: RLPIPE_TEST_REWARD_TOKEN}
`, srv.URL)
	out := t.TempDir()
	if stdout, stderr, code := cli(t, "run", "--config", writeConfig(t, body), "--out", out); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	got := seen()
	if got["Authorization"] != "Bearer literal-secret-7" || got["X-Api-Token"] != "env-secret-42" {
		t.Fatalf("server saw headers %q; want the YAML literal and the environment value", got)
	}
	err := filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range []string{"literal-secret-7", "env-secret-42"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds the secret header value %q", path, secret)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(filepath.Join(out, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(saved), "<redacted>") || !strings.Contains(string(saved), "RLPIPE_TEST_REWARD_TOKEN") {
		t.Errorf("config.yaml should show the redacted header and the variable's name:\n%s", saved)
	}
	// The saved config is refused as is, with a pointer to headers_env.
	if _, stderr, code := cli(t, "run", "--config", filepath.Join(out, "config.yaml"), "--out", t.TempDir()); code == 0 || !strings.Contains(stderr, "headers_env") {
		t.Errorf("rerunning the redacted config: exit %d, stderr %q; want a refusal naming headers_env", code, stderr)
	}
}

func TestScoreHTTPHeadersFromConfigFile(t *testing.T) {
	srv, seen := headerRecorder(t)
	cfg := filepath.Join(t.TempDir(), "reward.yaml")
	yaml := fmt.Sprintf("reward:\n  parts:\n    - kind: http\n      options:\n        url: %s\n        headers:\n          Authorization: Bearer k\n", srv.URL)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runScoreCLI(t, mathRows, "--config", cfg); err != nil {
		t.Fatal(err, stderr)
	}
	if got := seen()["Authorization"]; got != "Bearer k" {
		t.Errorf("Authorization = %q, want the config's header", got)
	}
}
