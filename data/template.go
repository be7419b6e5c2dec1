package data

import (
	"fmt"
)

// Completion markup shared by tasks, templates and the format reward.
const (
	ThinkOpen   = "<think>"
	ThinkClose  = "</think>"
	AnswerOpen  = "<answer>"
	AnswerClose = "</answer>"
	// EmptyTrace is appended to the rendered prompt in ModeEmpty, so the
	// policy answers without reasoning.
	EmptyTrace = ThinkOpen + ThinkClose
)

// TargetCompletion returns the supervised completion
// "<think>TRACE</think><answer>ANSWER</answer>".
func TargetCompletion(trace, answer string) string {
	return ThinkOpen + trace + ThinkClose + AnswerOpen + answer + AnswerClose
}

// EmptyTraceCompletion returns "<think></think><answer>ANSWER</answer>", the
// empty-trace form of a target completion.
func EmptyTraceCompletion(answer string) string { return TargetCompletion("", answer) }

// Template kinds.
const (
	// TemplatePlain renders the bare task text; the in-process policy then
	// writes "<think>…</think><answer>…</answer>" itself.
	TemplatePlain = "plain"
	// TemplateChat renders system and user messages for remote chat models.
	TemplateChat = "chat"
)

// DefaultSystemPrompt is the chat template's system message.
const DefaultSystemPrompt = "You are a careful problem solver. First think step by step inside " +
	"<think></think>, then give only the final answer inside <answer></answer>. " +
	"Example: <think>2+3=5</think><answer>5</answer>"

// ChatMessage is one message of a chat prompt (OpenAI roles).
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Rendered is a prompt ready for a policy.
type Rendered struct {
	// Text is the prompt as one string: the plain template's input, or the
	// chat messages flattened ("role: content" lines) for completion APIs.
	// In ModeEmpty it ends with EmptyTrace.
	Text string
	// Messages are the chat messages (chat template only). In ModeEmpty the
	// last message is an assistant prefill holding EmptyTrace.
	Messages []ChatMessage
}

// Template renders task prompts. The zero value is the plain template.
type Template struct {
	// Kind is TemplatePlain ("" means plain) or TemplateChat.
	Kind string
	// System overrides DefaultSystemPrompt for the chat template.
	System string
}

// TemplateByName returns the template called name ("plain", "chat").
func TemplateByName(name string) (Template, error) {
	t := Template{Kind: name}
	return t, t.Validate()
}

// Validate reports an unknown Kind.
func (t Template) Validate() error {
	switch t.Kind {
	case "", TemplatePlain, TemplateChat:
		return nil
	}
	return fmt.Errorf("data: unknown template %q (want %q or %q)", t.Kind, TemplatePlain, TemplateChat)
}

// Render renders prompt for mode (ModeTrace or ModeEmpty). It panics on an
// invalid template (check Validate when the template comes from config).
func (t Template) Render(prompt string, mode uint8) Rendered {
	suffix := ""
	if mode == ModeEmpty {
		suffix = EmptyTrace
	}
	switch t.Kind {
	case "", TemplatePlain:
		return Rendered{Text: prompt + suffix}
	case TemplateChat:
		sys := t.System
		if sys == "" {
			sys = DefaultSystemPrompt
		}
		msgs := []ChatMessage{{Role: "system", Content: sys}, {Role: "user", Content: prompt}}
		text := "system: " + sys + "\nuser: " + prompt + "\nassistant: " + suffix
		if mode == ModeEmpty {
			msgs = append(msgs, ChatMessage{Role: "assistant", Content: EmptyTrace})
		}
		return Rendered{Text: text, Messages: msgs}
	}
	panic(fmt.Sprintf("data: unknown template %q", t.Kind))
}
