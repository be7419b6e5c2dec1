package policyfile

import (
	"github.com/rlpipe/rlpipe/data"
)

// ChatTemplate renders a conversation the way the model was trained to
// read one: a pretrained model's own chat template (tokenizer_config.json).
type ChatTemplate interface {
	// RenderChat renders msgs, followed by the opening of an assistant turn
	// when addGenerationPrompt is set.
	RenderChat(msgs []data.ChatMessage, addGenerationPrompt bool) (string, error)
}

// PromptRenderer renders dataset prompts into the text the policy
// continues (it satisfies rollout.Renderer). With data.template chat and a
// policy that has its own chat template, the messages go through that
// template; otherwise the data template's text is used as is. Everything
// that tokenizes prompts for a policy — rollouts, SFT, curation, the
// servers — renders through it, so training and generation see the same
// text. It is safe for concurrent use when the chat template is.
type PromptRenderer struct {
	tmpl data.Template
	chat ChatTemplate
}

// PromptRenderer returns the renderer of tmpl for p.
func (p *Policy) PromptRenderer(tmpl data.Template) PromptRenderer {
	return PromptRenderer{tmpl: tmpl, chat: p.Chat}
}

// Render returns the text the policy continues for prompt in mode. In
// empty-trace mode the chat form ends with an assistant message holding
// data.EmptyTrace; it is rendered as the start of the assistant's turn
// (the template's generation prompt followed by that text), which is how
// transformers' continue_final_message prefills a reply.
func (r PromptRenderer) Render(prompt data.Prompt, mode uint8) (string, error) {
	rd := r.tmpl.Render(prompt.Prompt, mode)
	if r.chat == nil || len(rd.Messages) == 0 {
		return rd.Text, nil
	}
	return RenderConversation(r.chat, rd.Messages)
}

// RenderConversation renders msgs with chat as the text of a reply to
// continue: the template's generation prompt opens the assistant's turn,
// and a final assistant message is a prefill written after it (what
// transformers' continue_final_message does).
func RenderConversation(chat ChatTemplate, msgs []data.ChatMessage) (string, error) {
	prefill := ""
	if n := len(msgs); n > 0 && msgs[n-1].Role == "assistant" {
		msgs, prefill = msgs[:n-1], msgs[n-1].Content
	}
	text, err := chat.RenderChat(msgs, true)
	if err != nil {
		return "", err
	}
	return text + prefill, nil
}
