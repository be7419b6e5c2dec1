package policyfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data"
)

// chatML renders messages in the ChatML layout of Qwen's templates; it
// refuses a conversation without a user message, as real templates raise.
type chatML struct{}

func (chatML) RenderChat(msgs []data.ChatMessage, gen bool) (string, error) {
	var b strings.Builder
	user := false
	for _, m := range msgs {
		user = user || m.Role == "user"
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	if !user {
		return "", errors.New("no user message")
	}
	if gen {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String(), nil
}

func TestPromptRendererUsesThePolicysChatTemplate(t *testing.T) {
	p := data.Prompt{Prompt: "What is 2+3?"}
	sys := "<|im_start|>system\n" + data.DefaultSystemPrompt + "<|im_end|>\n"
	user := "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n"
	cases := []struct {
		name string
		tmpl string
		chat ChatTemplate
		mode uint8
		want string
	}{
		{"plain template ignores the chat template", data.TemplatePlain, chatML{}, data.ModeTrace, "What is 2+3?"},
		{"plain template, empty trace", data.TemplatePlain, chatML{}, data.ModeEmpty, "What is 2+3?" + data.EmptyTrace},
		{"chat template without a model template flattens", data.TemplateChat, nil, data.ModeTrace,
			data.Template{Kind: data.TemplateChat}.Render(p.Prompt, data.ModeTrace).Text},
		{"chat template through the model's template", data.TemplateChat, chatML{}, data.ModeTrace, sys + user},
		{"empty trace prefills the assistant turn", data.TemplateChat, chatML{}, data.ModeEmpty, sys + user + data.EmptyTrace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pol := &Policy{Chat: tc.chat}
			got, err := pol.PromptRenderer(data.Template{Kind: tc.tmpl}).Render(p, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestPromptRendererReportsTemplateErrors(t *testing.T) {
	pol := &Policy{Chat: refusing{}}
	_, err := pol.PromptRenderer(data.Template{Kind: data.TemplateChat}).Render(data.Prompt{Prompt: "q"}, data.ModeTrace)
	if err == nil || !strings.Contains(err.Error(), "roles must alternate") {
		t.Fatalf("err = %v, want the template's error", err)
	}
}

type refusing struct{}

func (refusing) RenderChat([]data.ChatMessage, bool) (string, error) {
	return "", errors.New("roles must alternate")
}
