// Package chattemplate renders a Hugging Face model's chat template (the
// Jinja `chat_template` of tokenizer_config.json, or chat_template.jinja)
// into the exact prompt string that transformers' apply_chat_template with
// tokenize=False produces, so that rlpipe trains on the same token layout
// the model was fine-tuned with.
//
// Templates are compiled once by github.com/ardanlabs/jinja, which already
// applies transformers' trim_blocks/lstrip_blocks whitespace rules; this
// package supplies the variables transformers passes (messages, special
// tokens, tools=None, documents=None, add_generation_prompt) and replaces
// the two globals whose behaviour must be controllable or exact:
// raise_exception (so a template's own error reaches the caller as a Go
// error naming the template and the conversation) and strftime_now (Python
// strftime semantics with an injectable clock).
package chattemplate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation as transformers receives it: a dict
// with "role" and "content", plus "reasoning_content" only when it is set
// (templates such as Qwen3's test `is defined`, so an empty field must not
// appear as a key).
type Message struct {
	Role             string `json:"role"`
	Content          string `json:"content"`
	ReasoningContent string `json:"reasoning_content,omitempty"`
}

// Template is a compiled chat template plus the special-token variables of
// the tokenizer it came from. It is immutable after construction and safe
// for concurrent Render calls.
type Template struct {
	name   string // where the source came from, for error messages
	source string
	tmpl   *jinja.Template
	tokens map[string]jinja.Value // bos_token etc.; absent tokens are left undefined, as transformers does
}

// Options are the per-render switches of apply_chat_template.
type Options struct {
	// AddGenerationPrompt appends the template's assistant header so that
	// the model continues as the assistant.
	AddGenerationPrompt bool
	// Extra holds additional template variables, like the keyword arguments
	// of apply_chat_template: e.g. enable_thinking=false for Qwen3, or
	// date_string for Llama 3.1. Values may be nil, bool, integers, floats,
	// strings, []string, []any and map[string]any (nested). They override
	// the special tokens, tools and documents; "messages" and
	// "add_generation_prompt" are refused because they have fields here;
	// strftime_now and raise_exception are always this package's.
	Extra map[string]any
	// Now is the clock behind strftime_now; nil means time.Now. Set it to
	// make date-stamped prompts reproducible.
	Now func() time.Time
}

// Error is a failure raised while rendering: the template's own
// raise_exception, or an evaluation error of the Jinja engine.
type Error struct {
	// Template names the template (its file or config field).
	Template string
	// Roles are the roles of the conversation being rendered, to show
	// which conversation the template rejected.
	Roles []string
	// Raised is true when the template called raise_exception, and then
	// Message is the template's own text.
	Raised  bool
	Message string
	// Err is the engine's error when Raised is false.
	Err error
}

// Error names the template, the conversation's roles and what was raised.
func (e *Error) Error() string {
	what := "failed"
	if e.Raised {
		what = "raised"
	}
	return fmt.Sprintf("chattemplate: %s %s rendering %d messages (roles %s): %s",
		e.Template, what, len(e.Roles), strings.Join(e.Roles, ","), e.Message)
}

// Unwrap returns the engine error, if any.
func (e *Error) Unwrap() error { return e.Err }

// raised carries a raise_exception message through the engine, which
// returns callable errors unchanged.
type raised struct{ msg string }

func (r *raised) Error() string { return r.msg }

// Parse compiles a chat template source. The template has no special
// tokens; use FromTokenizerConfig or Load to get a model's bos_token etc.
func Parse(source string) (*Template, error) {
	return parseNamed("chat template", source, nil)
}

func parseNamed(name, source string, tokens map[string]jinja.Value) (*Template, error) {
	tm, err := jinja.Compile(jinja2Newlines(source))
	if err != nil {
		return nil, fmt.Errorf("chattemplate: %s: %w", name, err)
	}
	if tokens == nil {
		tokens = map[string]jinja.Value{}
	}
	return &Template{name: name, source: source, tmpl: tm, tokens: tokens}, nil
}

// jinja2Newlines applies what Jinja2's lexer does to a source before
// anything else (transformers keeps its defaults): every "\r\n", "\r" or
// "\n" becomes "\n", and one trailing newline is dropped
// (keep_trailing_newline=False). chat_template.jinja files usually end in
// a newline that must not reach the prompt.
func jinja2Newlines(src string) string {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	return strings.TrimSuffix(src, "\n")
}

// Source returns the Jinja source the template was compiled from.
func (t *Template) Source() string { return t.source }

// Render formats messages as transformers' apply_chat_template(messages,
// tokenize=False, add_generation_prompt=opt.AddGenerationPrompt,
// **opt.Extra) would.
func (t *Template) Render(messages []Message, opt Options) (string, error) {
	if len(messages) == 0 {
		// Every real template indexes messages[0]; Jinja2 raises on that,
		// while the Go engine would silently render nothing.
		return "", fmt.Errorf("chattemplate: %s: no messages to render", t.name)
	}
	data, err := t.variables(messages, opt)
	if err != nil {
		return "", err
	}
	out, err := renderSafely(t.tmpl, data)
	if err != nil {
		roles := make([]string, len(messages))
		for i, m := range messages {
			roles[i] = m.Role
		}
		e := &Error{Template: t.name, Roles: roles, Message: err.Error(), Err: err}
		var r *raised
		if errors.As(err, &r) {
			e.Raised, e.Message, e.Err = true, r.msg, nil
		}
		return "", e
	}
	return out, nil
}

// renderSafely runs the engine, turning its panics (it has some, e.g.
// strings.Repeat on `'a' * -1`) into errors: templates come from downloaded
// model files and must not crash a training run.
func renderSafely(tm *jinja.Template, data map[string]jinja.Value) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("jinja engine panic: %v", r)
		}
	}()
	return tm.RenderValues(data)
}

// variables builds the render scope in transformers' precedence: special
// tokens, then the fixed arguments, then the caller's extra kwargs.
func (t *Template) variables(messages []Message, opt Options) (map[string]jinja.Value, error) {
	data := make(map[string]jinja.Value, len(t.tokens)+len(opt.Extra)+6)
	for k, v := range t.tokens {
		data[k] = v
	}
	msgs := make([]jinja.Value, len(messages))
	for i, m := range messages {
		d := jinja.NewDict()
		dict := d.AsDict()
		dict.Set("role", jinja.NewString(m.Role))
		dict.Set("content", jinja.NewString(m.Content))
		if m.ReasoningContent != "" {
			dict.Set("reasoning_content", jinja.NewString(m.ReasoningContent))
		}
		msgs[i] = d
	}
	data["messages"] = jinja.NewList(msgs)
	data["add_generation_prompt"] = jinja.NewBool(opt.AddGenerationPrompt)
	data["tools"] = jinja.None()
	data["documents"] = jinja.None()
	for k, v := range opt.Extra {
		if k == "messages" || k == "add_generation_prompt" {
			return nil, fmt.Errorf("chattemplate: Options.Extra[%q]: set it through Render's arguments", k)
		}
		jv, err := toValue(v)
		if err != nil {
			return nil, fmt.Errorf("chattemplate: Options.Extra[%q]: %w", k, err)
		}
		data[k] = jv
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	data["strftime_now"] = jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 || !args[0].IsString() {
			return jinja.Undefined(), fmt.Errorf("strftime_now expects one format string")
		}
		return jinja.NewString(Strftime(now(), args[0].AsString())), nil
	})
	data["raise_exception"] = jinja.NewCallable("raise_exception", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) == 0 {
			return jinja.Undefined(), &raised{msg: "raise_exception called without a message"}
		}
		if args[0].IsString() {
			return jinja.Undefined(), &raised{msg: args[0].AsString()}
		}
		return jinja.Undefined(), &raised{msg: args[0].String()}
	})
	return data, nil
}
