package openaiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

var bc rollouttest.ByteCodec

func idsOf(t *testing.T, raw string) []int32 {
	t.Helper()
	var ids []int32
	if err := json.Unmarshal([]byte(raw), &ids); err != nil {
		t.Fatalf("token ids %q: %v", raw, err)
	}
	return ids
}

func TestCompletionsThroughTheOfficialClient(t *testing.T) {
	_, base := startServer(t, openaiserver.Config{}, nil)
	c := newClients(t, base)
	params := openai.CompletionNewParams{
		Model:  "rlpipe",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("1+1=")},
		N:      openai.Int(3), Seed: openai.Int(42), Logprobs: openai.Int(0), MaxTokens: openai.Int(40),
	}
	params.SetExtraFields(map[string]any{"return_token_ids": true})
	resp, err := c.completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 3 || resp.Model != "rlpipe" || resp.Object != "text_completion" {
		t.Fatalf("got %d choices, model %q, object %q", len(resp.Choices), resp.Model, resp.Object)
	}
	total := 0
	for i, ch := range resp.Choices {
		ids := idsOf(t, ch.JSON.ExtraFields["token_ids"].Raw())
		lp := ch.Logprobs
		if int(ch.Index) != i || len(lp.TokenLogprobs) != len(ids) || strings.Join(lp.Tokens, "") != ch.Text {
			t.Fatalf("choice %d: index %d, %d log-probs for %d ids, tokens %q vs text %q", i, ch.Index, len(lp.TokenLogprobs), len(ids), lp.Tokens, ch.Text)
		}
		if bc.Decode(ids) != ch.Text || !strings.HasPrefix(ch.Text, data.ThinkOpen) {
			t.Fatalf("choice %d: text %q does not match ids or the trace form", i, ch.Text)
		}
		if got := idsOf(t, ch.JSON.ExtraFields["prompt_token_ids"].Raw()); string(bc.Decode(got)) != "1+1=" {
			t.Fatalf("prompt ids decode to %q", bc.Decode(got))
		}
		total += len(ids)
	}
	if resp.Usage.PromptTokens != 4 || resp.Usage.CompletionTokens != int64(total) || resp.Usage.TotalTokens != int64(4+total) {
		t.Fatalf("usage %+v, want 4 prompt and %d completion tokens", resp.Usage, total)
	}
	again, err := c.completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again.Choices {
		if again.Choices[i].Text != resp.Choices[i].Text {
			t.Fatalf("choice %d differs between two requests with seed 42", i)
		}
	}
	if resp.Choices[0].Text == resp.Choices[1].Text && resp.Choices[1].Text == resp.Choices[2].Text {
		t.Fatal("all three choices are equal")
	}
}

func TestCompletionsAcceptEveryPromptForm(t *testing.T) {
	_, base := startServer(t, openaiserver.Config{}, nil)
	c := newClients(t, base)
	cases := []struct {
		name    string
		prompt  openai.CompletionNewParamsPromptUnion
		choices int
	}{
		{"a string", openai.CompletionNewParamsPromptUnion{OfString: openai.String("a")}, 2},
		{"an array of strings", openai.CompletionNewParamsPromptUnion{OfArrayOfStrings: []string{"a", "b", "c"}}, 6},
		{"an array of tokens", openai.CompletionNewParamsPromptUnion{OfArrayOfTokens: []int64{97, 98}}, 2},
		{"an array of token arrays", openai.CompletionNewParamsPromptUnion{OfArrayOfTokenArrays: [][]int64{{97}, {98}}}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.completions.New(context.Background(), openai.CompletionNewParams{Model: "rlpipe", Prompt: tc.prompt, N: openai.Int(2)})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Choices) != tc.choices {
				t.Fatalf("got %d choices, want %d", len(resp.Choices), tc.choices)
			}
		})
	}
}

func TestChatThroughTheOfficialClient(t *testing.T) {
	_, base := startServer(t, openaiserver.Config{}, nil)
	c := newClients(t, base)
	for _, mode := range []uint8{data.ModeTrace, data.ModeEmpty} {
		r := data.Template{Kind: data.TemplateChat}.Render("2+2?", mode)
		msgs := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(r.Messages[0].Content), openai.UserMessage(r.Messages[1].Content)}
		if mode == data.ModeEmpty {
			msgs = append(msgs, openai.AssistantMessage(data.EmptyTrace))
		}
		resp, err := c.chat.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "rlpipe", Messages: msgs, N: openai.Int(2), Logprobs: openai.Bool(true), Seed: openai.Int(1),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[uint8]string{data.ModeTrace: data.ThinkOpen, data.ModeEmpty: data.AnswerOpen}[mode]
		for i, ch := range resp.Choices {
			var text strings.Builder
			for _, lp := range ch.Logprobs.Content {
				text.WriteString(lp.Token)
				if lp.Logprob > 0 || len(lp.Bytes) != len(lp.Token) {
					t.Fatalf("choice %d: bad log-prob entry %+v", i, lp)
				}
			}
			if ch.Message.Content != text.String() || !strings.HasPrefix(ch.Message.Content, want) || ch.Message.Role != "assistant" {
				t.Fatalf("mode %d choice %d: content %q, log-prob tokens %q, want prefix %q", mode, i, ch.Message.Content, text.String(), want)
			}
		}
	}
}

func TestStopStrings(t *testing.T) {
	_, base := startServer(t, openaiserver.Config{}, nil)
	c := newClients(t, base)
	cases := []struct {
		name, stop, text string
	}{
		{"a multi-token stop cuts the text before it and keeps its tokens", data.ThinkClose, data.ThinkOpen},
		{"a single-token stop ends generation at that token", "<", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			params := openai.CompletionNewParams{
				Model: "rlpipe", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("q")},
				Stop: openai.CompletionNewParamsStopUnion{OfString: openai.String(tc.stop)}, Logprobs: openai.Int(0), Seed: openai.Int(3),
			}
			params.SetExtraFields(map[string]any{"return_token_ids": true})
			resp, err := c.completions.New(context.Background(), params)
			if err != nil {
				t.Fatal(err)
			}
			ch := resp.Choices[0]
			ids := bc.Decode(idsOf(t, ch.JSON.ExtraFields["token_ids"].Raw()))
			if !strings.HasPrefix(ch.Text, tc.text) || strings.Contains(ch.Text, tc.stop) || !strings.HasSuffix(ids, tc.stop) ||
				!strings.HasPrefix(ids, ch.Text) || ch.FinishReason != "stop" || len(ch.Logprobs.TokenLogprobs) != len(ids) {
				t.Fatalf("text %q ids %q finish %q log-probs %d", ch.Text, ids, ch.FinishReason, len(ch.Logprobs.TokenLogprobs))
			}
		})
	}
}

func TestModelsEndpoint(t *testing.T) {
	_, base := startServer(t, openaiserver.Config{ModelName: "tiny"}, nil)
	c := newClients(t, base)
	page, err := c.models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != "tiny" {
		t.Fatalf("models %+v", page.Data)
	}
	m, err := c.models.Get(context.Background(), "tiny")
	if err != nil || m.ID != "tiny" {
		t.Fatalf("Get: %v %+v", err, m)
	}
	_, err = c.models.Get(context.Background(), "other")
	if s := apiStatus(t, err); s != http.StatusNotFound {
		t.Fatalf("status %d", s)
	}
}

func TestRequestErrorsAreOpenAIShaped(t *testing.T) {
	_, base := startServer(t, openaiserver.Config{MaxBodyBytes: 4096}, nil)
	c := newClients(t, base)
	ctx := context.Background()
	prompt := func(s string) openai.CompletionNewParamsPromptUnion {
		return openai.CompletionNewParamsPromptUnion{OfString: openai.String(s)}
	}
	cases := []struct {
		name   string
		status int
		call   func() error
	}{
		{"an oversize body is refused with 413", 413, func() error {
			_, err := c.completions.New(ctx, openai.CompletionNewParams{Model: "rlpipe", Prompt: prompt(strings.Repeat("x", 8000))})
			return err
		}},
		{"stream true is refused with 400", 400, func() error {
			s := c.completions.NewStreaming(ctx, openai.CompletionNewParams{Model: "rlpipe", Prompt: prompt("a")})
			defer s.Close()
			for s.Next() {
			}
			return s.Err()
		}},
		{"malformed JSON is refused with 400", 400, func() error {
			_, err := c.completions.New(ctx, openai.CompletionNewParams{}, option.WithRequestBody("application/json", []byte(`{"model": "rlpipe", "prompt": `)))
			return err
		}},
		{"an unknown model is refused with 404", 404, func() error {
			_, err := c.completions.New(ctx, openai.CompletionNewParams{Model: "gpt-9", Prompt: prompt("a")})
			return err
		}},
		{"n = 0 is refused with 400", 400, func() error {
			_, err := c.completions.New(ctx, openai.CompletionNewParams{}, option.WithRequestBody("application/json", []byte(`{"model":"rlpipe","prompt":"a","n":0}`)))
			return err
		}},
		{"a temperature above 2 is refused with 400", 400, func() error {
			_, err := c.chat.New(ctx, openai.ChatCompletionNewParams{Model: "rlpipe", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a")}, Temperature: openai.Float(3)})
			return err
		}},
		{"an empty message list is refused with 400", 400, func() error {
			_, err := c.chat.New(ctx, openai.ChatCompletionNewParams{}, option.WithRequestBody("application/json", []byte(`{"model":"rlpipe","messages":[]}`)))
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if s := apiStatus(t, err); s != tc.status {
				t.Fatalf("status %d, want %d (%v)", s, tc.status, err)
			}
			var e *openai.Error
			errors.As(err, &e)
			if e.Message == "" || e.Type == "" {
				t.Fatalf("error body lacks message or type: %s", e.RawJSON())
			}
		})
	}
}

func TestRawRoutes(t *testing.T) {
	s := openaiserver.New(openaiserver.Config{}, rollouttest.HashModel{}, rollouttest.ByteCodec{})
	cases := []struct {
		name, method, path string
		status             int
	}{
		{"GET on a POST endpoint is 405", "GET", "/v1/completions", 405},
		{"an unknown path is 404", "POST", "/v2/anything", 404},
		{"health is 200", "GET", "/health", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := recorder(s, tc.method, tc.path, "")
			if rec.Code != tc.status || !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("status %d body %q", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestSeedlessRequestsGetFreshReproducibleSeeds(t *testing.T) {
	run := func() []string {
		s := openaiserver.New(openaiserver.Config{Seed: 5}, rollouttest.HashModel{}, rollouttest.ByteCodec{})
		var out []string
		for i := 0; i < 3; i++ {
			rec := recorder(s, "POST", "/v1/completions", `{"model":"rlpipe","prompt":"q"}`)
			var resp struct{ Choices []struct{ Text string } }
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.Choices) != 1 {
				t.Fatalf("status %d body %s", rec.Code, rec.Body)
			}
			out = append(out, resp.Choices[0].Text)
		}
		return out
	}
	a, b := run(), run()
	if strings.Join(a, "|") != strings.Join(b, "|") {
		t.Fatalf("two fresh servers gave %q and %q", a, b)
	}
	if a[0] == a[1] && a[1] == a[2] {
		t.Fatalf("three seedless requests gave the same completion %q", a[0])
	}
}

func TestOverloadAnswers429(t *testing.T) {
	_, base := startServer(t, openaiserver.Config{Concurrency: 1, QueueDepth: 1}, rollouttest.HashModel{Delay: 300 * time.Millisecond})
	codes := make([]int, 5)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			res, err := http.Post(base+"/completions", "application/json", strings.NewReader(`{"model":"rlpipe","prompt":"q"}`))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			codes[i] = res.StatusCode
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[200] < 1 || count[429] < 1 || count[200]+count[429] != len(codes) || count[200] > 2 {
		t.Fatalf("status codes %v, want 1-2 successes and the rest 429", codes)
	}
}

func TestSlowModelTimesOutWith504(t *testing.T) {
	s := openaiserver.New(openaiserver.Config{Timeout: 50 * time.Millisecond}, rollouttest.HashModel{Delay: 5 * time.Second}, rollouttest.ByteCodec{})
	start := time.Now()
	rec := recorder(s, "POST", "/v1/chat/completions", `{"model":"rlpipe","messages":[{"role":"user","content":"q"}]}`)
	if rec.Code != http.StatusGatewayTimeout || time.Since(start) > 2*time.Second {
		t.Fatalf("status %d after %v", rec.Code, time.Since(start))
	}
}

type panicModel struct{}

func (panicModel) Generate(context.Context, uint64, []data.GenRequest, data.GenParams) ([]data.GenResult, error) {
	panic("boom")
}

func TestModelPanicIs500(t *testing.T) {
	s := openaiserver.New(openaiserver.Config{}, panicModel{}, rollouttest.ByteCodec{})
	rec := recorder(s, "POST", "/v1/completions", `{"model":"rlpipe","prompt":"q"}`)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	s, base := startServer(t, openaiserver.Config{}, rollouttest.HashModel{Delay: 200 * time.Millisecond})
	res := make(chan int, 1)
	go func() {
		r, err := http.Post(base+"/completions", "application/json", strings.NewReader(`{"model":"rlpipe","prompt":"q"}`))
		if err != nil {
			res <- -1
			return
		}
		r.Body.Close()
		res <- r.StatusCode
	}()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code := <-res; code != 200 {
		t.Fatalf("in-flight request got %d", code)
	}
	if _, err := http.Post(base+"/completions", "application/json", strings.NewReader(`{}`)); err == nil {
		t.Fatal("the server still accepts connections after Shutdown")
	}
}

func TestFlattenChatMatchesTheChatTemplate(t *testing.T) {
	for _, mode := range []uint8{data.ModeTrace, data.ModeEmpty} {
		r := data.Template{Kind: data.TemplateChat}.Render("What is 1+2?", mode)
		if got := openaiserver.FlattenChat(r.Messages); got != r.Text {
			t.Fatalf("mode %d: FlattenChat gives %q, template text is %q", mode, got, r.Text)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  openaiserver.Config
		ok   bool
	}{
		{"the zero config is valid", openaiserver.Config{}, true},
		{"a negative queue depth is refused", openaiserver.Config{QueueDepth: -1}, false},
		{"a default budget over the cap is refused", openaiserver.Config{MaxTokens: 8, DefaultNewTokens: 9}, false},
		{"a negative timeout is refused", openaiserver.Config{Timeout: -time.Second}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func recorder(s *openaiserver.Server, method, path, body string) *httptestRecorder {
	rec := newRecorder()
	req, _ := http.NewRequest(method, path, bytes.NewBufferString(body))
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// vocabModel is HashModel declaring a vocabulary, as rlpipe's policies do.
type vocabModel struct{ rollouttest.HashModel }

func (vocabModel) VocabSize() int { return 256 }

// TestTokenIDsOutsideTheVocabularyAreBadRequests: a prompt of token ids the
// model cannot embed is the client's error (400 naming the id), not a
// failure inside the model (500).
func TestTokenIDsOutsideTheVocabularyAreBadRequests(t *testing.T) {
	_, base := startServer(t, openaiserver.Config{}, vocabModel{})
	c := newClients(t, base)
	ctx := context.Background()
	for _, tc := range []struct {
		ids    []int64
		status int
		want   string
	}{
		{[]int64{1, 2, 255}, 200, ""},
		{[]int64{1, 2, 256}, 400, "token id 256 outside this model's vocabulary of 256"},
		{[]int64{1, -3}, 400, "negative token id -3"},
	} {
		_, err := c.completions.New(ctx, openai.CompletionNewParams{Model: "rlpipe", MaxTokens: openai.Int(4),
			Prompt: openai.CompletionNewParamsPromptUnion{OfArrayOfTokens: tc.ids}})
		if tc.status == 200 {
			if err != nil {
				t.Fatalf("%v: %v", tc.ids, err)
			}
			continue
		}
		var e *openai.Error
		if s := apiStatus(t, err); s != tc.status || !errors.As(err, &e) || !strings.Contains(e.Message, tc.want) {
			t.Fatalf("%v: status %d (%v), want %d with %q", tc.ids, s, err, tc.status, tc.want)
		}
	}
}
