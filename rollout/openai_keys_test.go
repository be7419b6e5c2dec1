package rollout_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

// sent is what a server saw of one generation call: the generation
// requests' paths and JSON bodies, and the most requests it held at once.
type sent struct {
	mu     sync.Mutex
	paths  []string
	bodies []map[string]any
	now    int
	peak   int
}

// body reports whether any request body satisfies f.
func (s *sent) body(f func(map[string]any) bool) bool {
	for _, b := range s.bodies {
		if f(b) {
			return true
		}
	}
	return false
}

// recordingServer serves the test model and records every generation
// request, holding each for 30ms so that concurrent requests overlap.
func recordingServer(t *testing.T) (string, *sent) {
	s := &sent{}
	inner := modelServer(openaiserver.Config{}).Handler()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body := new(strings.Builder)
			r.Body = teeBody(r, body)
			var m map[string]any
			json.Unmarshal([]byte(body.String()), &m)
			s.mu.Lock()
			s.paths, s.bodies = append(s.paths, r.URL.Path), append(s.bodies, m)
			s.now++
			s.peak = max(s.peak, s.now)
			s.mu.Unlock()
			time.Sleep(30 * time.Millisecond)
			defer func() { s.mu.Lock(); s.now--; s.mu.Unlock() }()
		}
		inner.ServeHTTP(w, r)
	})
	base, _ := serve(t, h)
	return base, s
}

// TestOpenAIConfigKeysShapeTheRequests proves that the rollout.openai keys
// not observed elsewhere change what reaches the server: each case's
// variant shows the expected difference and its baseline does not.
func TestOpenAIConfigKeysShapeTheRequests(t *testing.T) {
	def := rollout.OpenAIConfig{Model: "rlpipe"}
	chat := rollout.OpenAIConfig{Model: "rlpipe", Template: "chat"}
	with := func(c rollout.OpenAIConfig, f func(*rollout.OpenAIConfig)) rollout.OpenAIConfig { f(&c); return c }
	prompt := func(b map[string]any) string { p, _ := b["prompt"].(string); return p }
	cases := []struct {
		key           string
		base, variant rollout.OpenAIConfig
		shows         func(*sent) bool
	}{
		{"rollout.openai.api", def, with(def, func(c *rollout.OpenAIConfig) { c.API = rollout.APIChat }),
			func(s *sent) bool { return strings.HasSuffix(s.paths[0], "/chat/completions") }},
		{"rollout.openai.template", def, chat,
			func(s *sent) bool {
				return s.body(func(b map[string]any) bool { return strings.HasPrefix(prompt(b), "system: ") })
			}},
		{"rollout.openai.system", chat, with(chat, func(c *rollout.OpenAIConfig) { c.System = "Answer tersely." }),
			func(s *sent) bool {
				return s.body(func(b map[string]any) bool { return strings.Contains(prompt(b), "Answer tersely.") })
			}},
		{"rollout.openai.stop", def, with(def, func(c *rollout.OpenAIConfig) { c.Stop = []string{"###"} }),
			func(s *sent) bool {
				return s.body(func(b map[string]any) bool {
					st, _ := json.Marshal(b["stop"])
					return strings.Contains(string(st), "###")
				})
			}},
		{"rollout.openai.return_token_ids", def, with(def, func(c *rollout.OpenAIConfig) { c.ReturnTokenIDs = true }),
			func(s *sent) bool {
				return s.body(func(b map[string]any) bool { return b["return_token_ids"] == true })
			}},
		// The default asks for log-probs; no_logprobs must stop asking.
		{"rollout.openai.no_logprobs", def, with(def, func(c *rollout.OpenAIConfig) { c.NoLogprobs = true }),
			func(s *sent) bool { return !s.body(func(b map[string]any) bool { _, ok := b["logprobs"]; return ok }) }},
		// Six requests held 30ms each overlap under the default of 8.
		{"rollout.openai.concurrency", def, with(def, func(c *rollout.OpenAIConfig) { c.Concurrency = 1 }),
			func(s *sent) bool { return s.peak == 1 }},
	}
	run := func(t *testing.T, cfg rollout.OpenAIConfig) *sent {
		base, s := recordingServer(t)
		cfg.BaseURL = base
		if _, err := newGen(t, cfg, nil).Generate(context.Background(), rollout.Request{Prompts: rollouttest.Prompts(6), G: 2}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			if c.shows(run(t, c.base)) {
				t.Fatalf("the baseline already shows what %s should change; the case proves nothing", c.key)
			}
			if !c.shows(run(t, c.variant)) {
				t.Errorf("%s set, but the server saw no difference", c.key)
			}
		})
	}
}
