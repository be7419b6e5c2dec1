package curate

import (
	"context"
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/rollout"
)

// Generator rolls out prompts; rollout.InProcess and rollout.OpenAI satisfy
// it. Rows must come back ordered by prompt, then sample index; a remote
// generator may omit lost samples.
type Generator interface {
	Generate(ctx context.Context, req rollout.Request) ([]data.Rollout, error)
}

// TextCodec is a policy tokenizer whose Decode drops the control tokens
// (the byte tokenizer's PAD, BOS, EOS, Mask; a Hugging Face tokenizer's
// special tokens), so completions carry only the text a reward and a user
// should see.
type TextCodec struct{ Tok policyfile.Tokenizer }

// Encode tokenizes s.
func (c TextCodec) Encode(s string) []int32 { return c.Tok.Encode(s) }

// Decode renders ids without control tokens (tokenizer.DecodeText).
func (c TextCodec) Decode(ids []int32) string { return c.Tok.DecodeText(ids) }

// Source is a Generator plus what a curation needs to know about it.
type Source struct {
	Generator Generator
	// Model identifies the policy in the sidecar header (a checkpoint path,
	// or a server URL and model name): a resume refuses another one.
	Model string
	// Context is the model's context length in tokens when known (0:
	// unknown); prompts that do not fit are refused before any rollout.
	Context int
	// Codec tokenizes prompts for the Context check (nil: no check).
	Codec rollout.Codec
	// Renderer renders prompts for the Context check as the Generator
	// does (nil: the data template's text).
	Renderer rollout.Renderer
	// Close releases the source (may be nil).
	Close func() error
}

// InProcessSource loads the policy in checkpoint (a checkpoint or run
// directory, see policyfile.Load) and rolls out in this process with
// the named prompt template ("" means plain).
func InProcessSource(checkpoint, template string) (*Source, error) {
	tmpl, err := data.TemplateByName(orDefault(template, data.TemplatePlain))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	pol, err := policyfile.Load(checkpoint)
	if err != nil {
		return nil, err
	}
	codec := TextCodec{pol.Tokenizer}
	render := pol.PromptRenderer(tmpl)
	gen := &rollout.InProcess{Model: pol.Model, Codec: codec, Renderer: render}
	src := &Source{Generator: gen, Model: "checkpoint " + checkpoint, Codec: codec, Renderer: render}
	if m, ok := pol.Model.(interface{ Config() policy.Config }); ok {
		src.Context = m.Config().Context
	}
	return src, nil
}

// RemoteSource rolls out through the OpenAI-compatible server at baseURL
// (including /v1) serving model ("" asks the server). Completion text the
// server sends without token ids is tokenized with the byte-level
// tokenizer for TDS. The API key comes from the environment variable
// rollout.DefaultOpenAIAPIKeyEnv, if set.
func RemoteSource(baseURL, model, template string, concurrency int) (*Source, error) {
	g, err := rollout.NewOpenAI(rollout.OpenAIConfig{BaseURL: baseURL, Model: model, Template: template,
		Concurrency: concurrency}, TextCodec{tokenizer.New()})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &Source{Generator: g, Model: "server " + baseURL + " model " + model, Close: g.Close}, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
