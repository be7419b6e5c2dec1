package app

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// tinyRun trains a tiny policy in about a second; its 1024-token context
// holds GSM8K prompts.
const tinyRun = `
seed: 5
data: {train: arithmetic, train_size: 6, difficulty: 1}
policy:
  model: {layers: 1, d_model: 32, heads: 2, d_ff: 64, context: 1024}
sft: {steps: 20, batch_size: 8, examples: 200}
eval: {n: 4}
log: {progress: false}
`

// tinyCheckpoint writes a tiny policy checkpoint with rlpipe sft.
func tinyCheckpoint(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, stderr, code := cli(t, "sft", "--config", writeConfig(t, tinyRun), "--out", dir); code != 0 {
		t.Fatalf("sft: exit %d\n%s\n%s", code, out, stderr)
	}
	return dir
}

// serveProcess is a running `rlpipe serve` child.
type serveProcess struct {
	*child
	base string // http://127.0.0.1:PORT/v1
}

// listening matches serve's address line; a wildcard bind is reached
// through 127.0.0.1.
var listening = regexp.MustCompile(`listening on http://(?:127\.0\.0\.1|0\.0\.0\.0|\[::\]):([0-9]+)/v1`)

// startServe starts rlpipe serve on a free loopback port and waits until it
// listens. The child is killed at the end of the test if still running.
func startServe(t *testing.T, args ...string) *serveProcess {
	t.Helper()
	c, port := startChild(t, "serve", 2*time.Minute, listening, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	return &serveProcess{child: c, base: "http://127.0.0.1:" + port + "/v1"}
}

// stop sends sig and returns the exit code.
func (sp *serveProcess) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	sp.signalAndWait(t, sig)
	return sp.cmd.ProcessState.ExitCode()
}

func openAIClient(base string) openai.Client {
	return openai.NewClient(option.WithBaseURL(base+"/"), option.WithAPIKey("unused"), option.WithMaxRetries(0),
		option.WithRequestTimeout(time.Minute))
}

func TestServeAnswersTheOfficialClientAndStopsOnSIGTERM(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	// The long request below takes seconds on a quiet machine and far more
	// under -race on a loaded one: its timeout and the shutdown grace leave
	// room for that, so only a shutdown that drops it fails the test.
	sp := startServe(t, "--checkpoint", ckpt, "--model-name", "tiny", "--concurrency", "2", "--timeout", "5m", "--shutdown-grace", "5m")
	client := openAIClient(sp.base)
	ctx := context.Background()

	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != "tiny" {
		t.Fatalf("/v1/models = %+v, want one model \"tiny\"", page.Data)
	}

	resp, err := client.Completions.New(ctx, openai.CompletionNewParams{
		Model:  openai.CompletionNewParamsModel("tiny"),
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("12+7=")},
		N:      openai.Int(2), Logprobs: openai.Int(1), MaxTokens: openai.Int(12), Seed: openai.Int(3),
		Temperature: openai.Float(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 2 || resp.Model != "tiny" {
		t.Fatalf("got %d choices from model %q, want 2 from tiny", len(resp.Choices), resp.Model)
	}
	seen := map[int64]bool{}
	for _, ch := range resp.Choices {
		seen[ch.Index] = true
		lp := ch.Logprobs
		if len(lp.Tokens) == 0 || len(lp.TokenLogprobs) != len(lp.Tokens) || len(lp.TextOffset) != len(lp.Tokens) {
			t.Fatalf("choice %d: %d tokens, %d log-probs, %d offsets", ch.Index, len(lp.Tokens), len(lp.TokenLogprobs), len(lp.TextOffset))
		}
		for _, v := range lp.TokenLogprobs {
			if !(v <= 0) {
				t.Fatalf("choice %d: log-prob %v > 0", ch.Index, v)
			}
		}
		if strings.Contains(ch.Text, "<eos>") || strings.Contains(ch.Text, "<pad>") || strings.Contains(ch.Text, "<bos>") {
			t.Fatalf("choice %d text %q carries control tokens", ch.Index, ch.Text)
		}
		if ch.FinishReason != "stop" && ch.FinishReason != "length" {
			t.Fatalf("choice %d finish reason %q", ch.Index, ch.FinishReason)
		}
	}
	if !seen[0] || !seen[1] {
		t.Fatalf("choice indices %v, want 0 and 1", seen)
	}
	if resp.Usage.CompletionTokens < 2 || resp.Usage.PromptTokens == 0 {
		t.Fatalf("usage %+v", resp.Usage)
	}

	// A long request in flight when SIGTERM arrives is still answered. It
	// goes over its own connection (an idle keep-alive connection may be
	// closed by the shutdown, as HTTP allows), and SIGTERM is sent only once
	// the request is written, whatever the machine's load.
	type answer struct {
		choices int
		end     time.Time
		err     error
	}
	inflight := make(chan answer, 1)
	wrote := make(chan struct{})
	var once sync.Once
	traced := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(wrote) }) },
	})
	fresh := openai.NewClient(option.WithBaseURL(sp.base+"/"), option.WithAPIKey("unused"), option.WithMaxRetries(0),
		option.WithRequestTimeout(5*time.Minute),
		option.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))
	go func() {
		r, err := fresh.Completions.New(traced, openai.CompletionNewParams{
			Model:  openai.CompletionNewParamsModel("tiny"),
			Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("3+4=")},
			N:      openai.Int(128), MaxTokens: openai.Int(1000), Temperature: openai.Float(2), Seed: openai.Int(1),
		})
		a := answer{end: time.Now(), err: err}
		if err == nil {
			a.choices = len(r.Choices)
		}
		inflight <- a
	}()
	select {
	case <-wrote:
	case a := <-inflight:
		t.Fatalf("the long request ended before SIGTERM: %+v", a)
	}
	time.Sleep(50 * time.Millisecond) // let the server read it; not needed for correctness
	signalled := time.Now()
	if code := sp.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM:\n%s", code, sp.stderr)
	}
	if !strings.Contains(sp.stderr.String(), "stopped") {
		t.Fatalf("serve did not report a clean stop:\n%s", sp.stderr)
	}
	a := <-inflight
	if a.err != nil || a.choices != 128 {
		t.Fatalf("the request in flight at SIGTERM got %d choices, error %v", a.choices, a.err)
	}
	if a.end.Before(signalled) {
		t.Fatalf("the long request ended %v before SIGTERM; shutdown was not exercised", signalled.Sub(a.end))
	}
}

func TestServeUsageErrors(t *testing.T) {
	checkUsageErrors(t, []usageCase{
		{"a missing checkpoint flag", []string{"serve"}, "--checkpoint"},
		{"a directory without a model", []string{"serve", "--checkpoint", filepath.Join(t.TempDir(), "none")}, "model.safetensors"},
		{"a negative concurrency", []string{"serve", "--checkpoint", "x", "--concurrency", "-1"}, "concurrency"},
	})
}
