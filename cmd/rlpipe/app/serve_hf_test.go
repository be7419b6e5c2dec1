package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/policyfile/hftest"
)

// TestServeRendersChatWithTheModelsTemplate serves a Hugging Face model
// directory with a chat template: /v1/chat/completions must tokenize the
// conversation as the template renders it (as training with data.template
// chat does), not as rlpipe's flat "role: content" form.
func TestServeRendersChatWithTheModelsTemplate(t *testing.T) {
	dir := hftest.TinyLlamaChat(t)
	pol, err := policyfile.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []data.ChatMessage{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What is 2+2?"}}
	text, err := policyfile.RenderConversation(pol.Chat, msgs)
	if err != nil {
		t.Fatal(err)
	}
	want := pol.Tokenizer.Encode(text)
	sp := startServe(t, "--checkpoint", dir, "--timeout", "5m")
	body, _ := json.Marshal(map[string]any{"model": "rlpipe", "messages": msgs, "max_tokens": 2, "return_token_ids": true})
	resp, err := http.Post(sp.base+"/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		PromptTokenIDs []int32 `json:"prompt_token_ids"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if !slices.Equal(got.PromptTokenIDs, want) {
		t.Fatalf("prompt ids %v\nwant the template's %q = %v", got.PromptTokenIDs, text, want)
	}
}
