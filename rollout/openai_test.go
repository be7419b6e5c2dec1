package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

func TestOpenAIConforms(t *testing.T) {
	cases := []struct {
		name  string
		cfg   rollout.OpenAIConfig
		codec rollout.Codec
	}{
		{"completions API, plain template, token ids from the server", rollout.OpenAIConfig{ReturnTokenIDs: true}, nil},
		{"completions API, chat template, tokens from a codec", rollout.OpenAIConfig{Template: data.TemplateChat}, rollouttest.ByteCodec{}},
		{"chat API, chat template, text only", rollout.OpenAIConfig{API: rollout.APIChat}, nil},
		{"chat API, plain template, token ids from the server", rollout.OpenAIConfig{API: rollout.APIChat, Template: data.TemplatePlain, ReturnTokenIDs: true}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base, _ := serve(t, modelServer(openaiserver.Config{Concurrency: 4}).Handler())
			rollouttest.Run(t, func(t *testing.T) rollouttest.Generator {
				cfg := tc.cfg
				cfg.BaseURL = base
				return newGen(t, cfg, tc.codec)
			})
		})
	}
}

func TestOpenAIEndToEnd(t *testing.T) {
	base, _ := serve(t, modelServer(openaiserver.Config{}).Handler())
	g := newGen(t, rollout.OpenAIConfig{BaseURL: base, ReturnTokenIDs: true, Concurrency: 3}, nil)
	req := rollout.Request{Prompts: rollouttest.Prompts(5), G: 4, Modes: []uint8{data.ModeTrace, data.ModeEmpty}, Seed: 3, Step: 1, PolicyVersion: 2}
	rows, st, err := g.GenerateStats(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != req.Rows() || st.Dropped != 0 || st.Requests != 1+5*2 || st.Fallbacks != 0 {
		t.Fatalf("%d rows, stats %+v; want %d rows from 1 model lookup and 10 generation requests", len(rows), st, req.Rows())
	}
	for i, r := range rows {
		if len(r.Logprobs) == 0 || len(r.Logprobs) != len(r.CompletionTokens) || rollouttest.ByteCodec.Decode(rollouttest.ByteCodec{}, r.CompletionTokens) != r.Completion {
			t.Fatalf("row %d: %d log-probs, %d tokens, completion %q", i, len(r.Logprobs), len(r.CompletionTokens), r.Completion)
		}
		want := data.Template{}.Render(r.Prompt, r.Mode).Text
		if got := rollouttest.ByteCodec.Decode(rollouttest.ByteCodec{}, r.PromptTokens); got != want {
			t.Fatalf("row %d: prompt tokens decode to %q, want %q", i, got, want)
		}
	}
	if g.Stats().Requests != st.Requests {
		t.Fatalf("cumulative stats %+v, call stats %+v", g.Stats(), st)
	}
}

func TestOpenAIWithoutTokenIDsOrCodecKeepsTextOnly(t *testing.T) {
	base, _ := serve(t, modelServer(openaiserver.Config{}).Handler())
	g := newGen(t, rollout.OpenAIConfig{BaseURL: base, NoLogprobs: true}, nil)
	rows, err := g.Generate(context.Background(), rollout.Request{Prompts: rollouttest.Prompts(2), G: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if r.CompletionTokens != nil || r.PromptTokens != nil || r.Logprobs != nil || r.Completion == "" {
			t.Fatalf("row %d: tokens %v prompt tokens %v log-probs %v completion %q", i, r.CompletionTokens, r.PromptTokens, r.Logprobs, r.Completion)
		}
	}
}

func TestOpenAIFallsBackWhenTheServerIgnoresN(t *testing.T) {
	base, _ := serve(t, rewriteN(modelServer(openaiserver.Config{}).Handler()))
	g := newGen(t, rollout.OpenAIConfig{BaseURL: base, Model: "rlpipe"}, nil)
	req := rollout.Request{Prompts: rollouttest.Prompts(3), G: 3, Seed: 1}
	rows, st, err := g.GenerateStats(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 9 || st.Fallbacks != 6 || st.Dropped != 0 {
		t.Fatalf("%d rows, stats %+v; want 9 rows and 6 fallbacks", len(rows), st)
	}
	seen := map[string]bool{}
	for _, r := range rows[:3] {
		seen[r.Completion] = true
	}
	if len(seen) < 2 {
		t.Fatal("fallback samples repeat the first sample")
	}
}

// flaky fails the first `fails` generation requests with the given status.
func flaky(next http.Handler, fails int64, status int) (http.Handler, *atomic.Int64) {
	var seen atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && seen.Add(1) <= fails {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":{"message":"try again","type":"server_error"}}`)
			return
		}
		next.ServeHTTP(w, r)
	}), &seen
}

func TestOpenAIRetries(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusBadGateway} {
		t.Run(fmt.Sprintf("status %d is retried", status), func(t *testing.T) {
			h, seen := flaky(modelServer(openaiserver.Config{}).Handler(), 3, status)
			base, _ := serve(t, h)
			g := newGen(t, rollout.OpenAIConfig{BaseURL: base, Model: "rlpipe", BackoffBase: time.Millisecond, Concurrency: 1}, nil)
			rows, st, err := g.GenerateStats(context.Background(), rollout.Request{Prompts: rollouttest.Prompts(2), G: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 4 || st.Retries != 3 || st.Dropped != 0 || seen.Load() != 5 {
				t.Fatalf("%d rows, stats %+v, %d server hits", len(rows), st, seen.Load())
			}
		})
	}
	t.Run("a request failing past max retries is dropped and counted", func(t *testing.T) {
		inner := modelServer(openaiserver.Config{}).Handler()
		bad := rollouttest.Prompts(3)[1]
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body := new(strings.Builder)
			r.Body = teeBody(r, body)
			if strings.Contains(body.String(), bad.Prompt) {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			inner.ServeHTTP(w, r)
		})
		base, _ := serve(t, h)
		g := newGen(t, rollout.OpenAIConfig{BaseURL: base, Model: "rlpipe", MaxRetries: 2, BackoffBase: time.Millisecond}, nil)
		rows, st, err := g.GenerateStats(context.Background(), rollout.Request{Prompts: rollouttest.Prompts(3), G: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 4 || st.Dropped != 2 || st.Retries != 2 || !strings.Contains(st.LastError, "503") {
			t.Fatalf("%d rows, stats %+v", len(rows), st)
		}
		for _, r := range rows {
			if r.PromptID == bad.ID {
				t.Fatal("a row of the failing prompt came back")
			}
		}
	})
	t.Run("a 400 is dropped without retrying", func(t *testing.T) {
		h, seen := flaky(modelServer(openaiserver.Config{}).Handler(), 1, 400)
		base, _ := serve(t, h)
		g := newGen(t, rollout.OpenAIConfig{BaseURL: base, Model: "rlpipe", Concurrency: 1}, nil)
		rows, st, err := g.GenerateStats(context.Background(), rollout.Request{Prompts: rollouttest.Prompts(2), G: 2})
		if err != nil || len(rows) != 2 || st.Dropped != 2 || st.Retries != 0 || seen.Load() != 2 {
			t.Fatalf("err %v, %d rows, stats %+v, %d hits", err, len(rows), st, seen.Load())
		}
	})
	t.Run("a 404 stops the call", func(t *testing.T) {
		base, _ := serve(t, modelServer(openaiserver.Config{}).Handler())
		g := newGen(t, rollout.OpenAIConfig{BaseURL: base, Model: "no-such-model"}, nil)
		rows, err := g.Generate(context.Background(), rollout.Request{Prompts: rollouttest.Prompts(2), G: 2})
		var re *rollout.RemoteError
		if !errors.Is(err, rollout.ErrRemote) || !errors.As(err, &re) || re.StatusCode != 404 || rows != nil {
			t.Fatalf("rows %d, error %v", len(rows), err)
		}
	})
}

func TestOpenAIDropsRequestsToAHangingServer(t *testing.T) {
	inner := modelServer(openaiserver.Config{}).Handler()
	hang := rollouttest.Prompts(3)[1].Prompt
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := new(strings.Builder)
		r.Body = teeBody(r, body)
		if strings.Contains(body.String(), hang) {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		inner.ServeHTTP(w, r)
	})
	base, _ := serve(t, h)
	g := newGen(t, rollout.OpenAIConfig{BaseURL: base, Model: "rlpipe", Timeout: 100 * time.Millisecond, MaxRetries: 1, BackoffBase: 10 * time.Millisecond}, nil)
	start := time.Now()
	rows, st, err := g.GenerateStats(context.Background(), rollout.Request{Prompts: rollouttest.Prompts(3), G: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
	if len(rows) != 4 || st.Dropped != 2 || st.Retries != 1 {
		t.Fatalf("%d rows, stats %+v", len(rows), st)
	}
	for _, r := range rows {
		if r.Prompt == hang {
			t.Fatal("a row of the hanging prompt came back")
		}
	}
}

func TestOpenAISurvivesAServerKilledMidRun(t *testing.T) {
	inner := modelServer(openaiserver.Config{}).Handler()
	var served atomic.Int64
	var once sync.Once
	var ln interface{ Close() error }
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) > 3 {
			once.Do(func() { ln.Close() })
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		inner.ServeHTTP(w, r)
	})
	base, l := serve(t, h)
	ln = l
	g := newGen(t, rollout.OpenAIConfig{BaseURL: base, Model: "rlpipe", Concurrency: 2, MaxRetries: 2, BackoffBase: 5 * time.Millisecond, Timeout: time.Second}, nil)
	req := rollout.Request{Prompts: rollouttest.Prompts(8), G: 2, Seed: 4}
	start := time.Now()
	rows, st, err := g.GenerateStats(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	if len(rows) != 6 || int(st.Dropped)+len(rows) != req.Rows() {
		t.Fatalf("%d rows, stats %+v; want 3 requests' rows and the rest dropped", len(rows), st)
	}
	for i := 1; i < len(rows); i++ {
		a, b := rows[i-1], rows[i]
		if a.PromptID == b.PromptID && a.SampleIdx >= b.SampleIdx {
			t.Fatalf("rows %d and %d out of order", i-1, i)
		}
	}
	_, err = g.Generate(context.Background(), req)
	if !errors.Is(err, rollout.ErrUnavailable) {
		t.Fatalf("after the server died: %v, want ErrUnavailable", err)
	}
}

func TestOpenAINeverLeaksTheAPIKey(t *testing.T) {
	const key = "sk-test-0123456789abcdef-SECRET"
	t.Setenv("RLPIPE_TEST_KEY", key)
	var sawKey atomic.Bool
	for _, status := range []int{400, 401, 500} {
		t.Run(fmt.Sprintf("status %d echoing the key", status), func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				sawKey.Store(auth == "Bearer "+key)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"error":{"message":"bad credentials %s","type":"invalid_request_error"}}`, auth)
			})
			base, _ := serve(t, h)
			g := newGen(t, rollout.OpenAIConfig{BaseURL: base, Model: "m", APIKeyEnv: "RLPIPE_TEST_KEY", MaxRetries: 1, BackoffBase: time.Millisecond}, nil)
			_, st, err := g.GenerateStats(context.Background(), rollout.Request{Prompts: rollouttest.Prompts(1), G: 1})
			if err == nil {
				t.Fatal("no error from a failing server")
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v %#v", err, err), st.LastError, g.Stats().LastError, fmt.Sprintf("%+v %#v", g, g)} {
				if strings.Contains(text, key) || strings.Contains(text, "0123456789abcdef") {
					t.Fatalf("key leaked: %s", text)
				}
			}
			if !sawKey.Load() {
				t.Fatal("the server never received the key")
			}
		})
	}
}

func TestOpenAIAsksTheServerForItsModel(t *testing.T) {
	base, _ := serve(t, modelServer(openaiserver.Config{ModelName: "tiny-policy"}).Handler())
	g := newGen(t, rollout.OpenAIConfig{BaseURL: base}, nil)
	rows, err := g.Generate(context.Background(), rollout.Request{Prompts: rollouttest.Prompts(1), G: 2})
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, error %v", len(rows), err)
	}
}

func TestOpenAIConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  rollout.OpenAIConfig
		ok   bool
	}{
		{"the zero config is valid", rollout.OpenAIConfig{}, true},
		{"the chat API is valid", rollout.OpenAIConfig{API: rollout.APIChat}, true},
		{"an unknown API is refused", rollout.OpenAIConfig{API: "responses"}, false},
		{"a non-http URL is refused", rollout.OpenAIConfig{BaseURL: "ftp://x/v1"}, false},
		{"credentials in the URL are refused", rollout.OpenAIConfig{BaseURL: "http://u:p@x/v1"}, false},
		{"an unknown template is refused", rollout.OpenAIConfig{Template: "jinja"}, false},
		{"a base backoff above the cap is refused", rollout.OpenAIConfig{BackoffBase: time.Minute}, false},
		{"an empty stop string is refused", rollout.OpenAIConfig{Stop: []string{""}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	t.Run("yaml keys are snake case and durations parse", func(t *testing.T) {
		var cfg rollout.OpenAIConfig
		src := "base_url: http://h:1/v1\nmodel: m\napi_key_env: K\napi: chat\nconcurrency: 3\ntimeout: 2s\nmax_retries: -1\nbackoff_base: 5ms\nbackoff_max: 1s\ntemplate: plain\nreturn_token_ids: true\n"
		if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
			t.Fatal(err)
		}
		want := rollout.OpenAIConfig{BaseURL: "http://h:1/v1", Model: "m", APIKeyEnv: "K", API: "chat", Concurrency: 3, Timeout: 2 * time.Second,
			MaxRetries: -1, BackoffBase: 5 * time.Millisecond, BackoffMax: time.Second, Template: "plain", ReturnTokenIDs: true}
		if fmt.Sprint(cfg) != fmt.Sprint(want) || cfg.Validate() != nil {
			t.Fatalf("got %+v", cfg)
		}
	})
}
