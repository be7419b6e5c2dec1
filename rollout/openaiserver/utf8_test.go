package openaiserver_test

import (
	"context"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

// splitCharModel completes every prompt with bytes that are not all UTF-8:
// "1", "é" split over two tokens, a stray 0xFF and a "€" cut after two of
// its three bytes, as a byte-level model sampling freely produces.
type splitCharModel struct{}

var splitCharTokens = []int32{'1', 0xC3, 0xA9, 0xFF, 0xE2, 0x82}

func (splitCharModel) Generate(_ context.Context, _ uint64, reqs []data.GenRequest, _ data.GenParams) ([]data.GenResult, error) {
	out := make([]data.GenResult, len(reqs))
	for i := range out {
		out[i] = data.GenResult{Tokens: splitCharTokens, Logprobs: make([]float32, len(splitCharTokens)), FinishReason: data.FinishLength}
	}
	return out, nil
}

func TestResponsesHoldValidUTF8AndRawTokenBytes(t *testing.T) {
	s := openaiserver.New(openaiserver.Config{}, splitCharModel{}, rollouttest.ByteCodec{})
	rec := recorder(s, "POST", "/v1/chat/completions", `{"model":"rlpipe","messages":[{"role":"user","content":"q"}],"logprobs":true}`)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if !utf8.Valid(rec.Body.Bytes()) {
		t.Fatalf("response body is not UTF-8: %q", rec.Body)
	}
	var resp struct {
		Choices []struct {
			Message  struct{ Content string }
			Logprobs struct {
				Content []struct{ Bytes []int }
			}
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	if want := "1é\uFFFD\uFFFD"; ch.Message.Content != want {
		t.Errorf("content %q, want %q", ch.Message.Content, want)
	}
	var raw []int
	for _, c := range ch.Logprobs.Content {
		raw = append(raw, c.Bytes...)
	}
	want := make([]int, len(splitCharTokens))
	for i, t := range splitCharTokens {
		want[i] = int(t)
	}
	if len(raw) != len(want) {
		t.Fatalf("logprobs bytes %v, want the sampled bytes %v", raw, want)
	}
	for i := range raw {
		if raw[i] != want[i] {
			t.Fatalf("logprobs bytes %v, want the sampled bytes %v", raw, want)
		}
	}
}
