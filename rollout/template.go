package rollout

import "github.com/rlpipe/rlpipe/data"

// TemplateRenderer is the Renderer of a data.Template: the template's text
// for the prompt in the mode. The zero value renders with data's zero
// Template. It is safe for concurrent use.
type TemplateRenderer struct{ Template data.Template }

// Render returns the text the model continues for p in mode.
func (r TemplateRenderer) Render(p data.Prompt, mode uint8) (string, error) {
	return r.Template.Render(p.Prompt, mode).Text, nil
}
