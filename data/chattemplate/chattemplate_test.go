package chattemplate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func testdataFixture(t testing.TB, name string) *Template {
	t.Helper()
	return loadFixture(t, name, filepath.Join("testdata", "models", fixtures[name].config))
}

// TestRaisedErrors: a template's raise_exception comes back as an *Error
// carrying the template's own message, the template's file and the roles.
func TestRaisedErrors(t *testing.T) {
	tests := []struct {
		fixture string
		msgs    []Message
		want    string
	}{
		{"llama2-style", []Message{{Role: "user", Content: "a"}, {Role: "user", Content: "b"}},
			"Roles must alternate user, assistant, user, ... after an optional system message"},
		{"llama2-style", []Message{{Role: "assistant", Content: "a"}}, "Roles must alternate"},
		{"llama31-style", []Message{{Role: "user", Content: "a"}, {Role: "tool", Content: "b"}}, "Unsupported role tool"},
	}
	for _, tc := range tests {
		t.Run(tc.fixture+"/"+tc.msgs[len(tc.msgs)-1].Role, func(t *testing.T) {
			_, err := testdataFixture(t, tc.fixture).Render(tc.msgs, Options{AddGenerationPrompt: true})
			var e *Error
			if !errors.As(err, &e) || !e.Raised {
				t.Fatalf("want a raised *Error, got %v", err)
			}
			if !strings.Contains(e.Message, tc.want) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not carry %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), TemplateFile) || len(e.Roles) != len(tc.msgs) {
				t.Errorf("error %q should name %s and the %d roles", err, TemplateFile, len(tc.msgs))
			}
		})
	}
}

// TestEngineErrors: evaluation failures are *Error with Raised false and
// the engine's error wrapped.
func TestEngineErrors(t *testing.T) {
	tm, err := Parse("{{ no_such_function() }}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.Render([]Message{{Role: "user", Content: "x"}}, Options{})
	var e *Error
	if !errors.As(err, &e) || e.Raised || e.Err == nil || !strings.Contains(err.Error(), "no_such_function") {
		t.Fatalf("want an engine *Error naming no_such_function, got %#v", err)
	}
	panicky, err := Parse("{{ 'a' * -1 }}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := panicky.Render([]Message{{Role: "user", Content: "x"}}, Options{}); !errors.As(err, &e) || !strings.Contains(err.Error(), "panic") {
		t.Errorf("engine panic: got %v", err)
	}
	if _, err := Parse("{% for x in y %}unclosed"); err == nil || !strings.Contains(err.Error(), "chat template") {
		t.Errorf("unclosed for: got %v", err)
	}
	if _, err := tm.Render(nil, Options{}); err == nil || !strings.Contains(err.Error(), "no messages") {
		t.Errorf("no messages: got %v", err)
	}
}

// TestConfigErrors: bad tokenizer configs are refused with the field named.
func TestConfigErrors(t *testing.T) {
	llama2, err := os.ReadFile(filepath.Join("testdata", "models", "llama2", ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, config, want string
	}{
		{"llama2 has no template", string(llama2), "tokenizer_config.json: field chat_template: missing"},
		{"null template", `{"chat_template": null}`, "field chat_template: missing"},
		{"number template", `{"chat_template": 3}`, "field chat_template: want a string or a list"},
		{"list without default", `{"chat_template": [{"name": "tool_use", "template": "x"}]}`, `no template named "default" among ["tool_use"]`},
		{"list entry without template", `{"chat_template": [{"name": "default"}]}`, `chat_template: entry 0`},
		{"token number", `{"chat_template": "x", "bos_token": 5}`, "field bos_token: want a string or an object"},
		{"token object without content", `{"chat_template": "x", "eos_token": {"lstrip": false}}`, "field eos_token"},
		{"additional not a list", `{"chat_template": "x", "additional_special_tokens": "a"}`, "field additional_special_tokens: want a list"},
		{"additional null entry", `{"chat_template": "x", "additional_special_tokens": [null]}`, "additional_special_tokens: entry 0: null"},
		{"not json", `{"chat_template": `, "tokenizer_config.json: unexpected end"},
		{"not an object", `[1]`, "tokenizer_config.json: json: cannot unmarshal array"},
		{"json null", `null`, "tokenizer_config.json: not a JSON object"},
		{"template syntax", `{"chat_template": "{% if %}"}`, "tokenizer_config.json chat_template: jinja"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromTokenizerConfig([]byte(tc.config))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestConfigForms: the accepted shapes of chat_template and special tokens,
// and which variables the template then sees.
func TestConfigForms(t *testing.T) {
	probe := "{{ bos_token }}|{{ eos_token }}|{{ 'pad' if pad_token is defined else 'nopad' }}|" +
		"{{ additional_special_tokens | join(',') if additional_special_tokens is defined else '-' }}|" +
		"{{ tools is none }}{{ documents is none }}|{{ messages | length }}"
	tests := []struct {
		name, config, want string
	}{
		{"strings", `{"chat_template": PROBE, "bos_token": "<s>", "eos_token": "</s>"}`, "<s>|</s>|nopad|-|TrueTrue|1"},
		{"added-token objects", `{"chat_template": PROBE, "bos_token": {"content": "<B>", "lstrip": false},
			"eos_token": {"__type": "AddedToken", "content": "<E>"}, "pad_token": null,
			"additional_special_tokens": ["<x>", {"content": "<y>"}]}`, "<B>|<E>|nopad|<x>,<y>|TrueTrue|1"},
		{"named list", `{"chat_template": [{"name": "tool_use", "template": "wrong"}, {"name": "default", "template": PROBE}],
			"eos_token": "E", "pad_token": "P", "additional_special_tokens": []}`, "|E|pad|-|TrueTrue|1"},
	}
	quoted := strings.ReplaceAll(strings.ReplaceAll(probe, `\`, `\\`), `"`, `\"`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := FromTokenizerConfig([]byte(strings.ReplaceAll(tc.config, "PROBE", `"`+quoted+`"`)))
			if err != nil {
				t.Fatal(err)
			}
			if tm.Source() != probe {
				t.Errorf("Source() = %q", tm.Source())
			}
			got, err := tm.Render([]Message{{Role: "user", Content: "x"}}, Options{})
			if err != nil || got != tc.want {
				t.Errorf("rendered %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestLoad: chat_template.jinja wins over the config's template; missing
// files are named.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := `{"chat_template": "from config {{ eos_token }}", "eos_token": "<E>"}`
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: "x"}}
	tm, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tm.Render(msgs, Options{}); got != "from config <E>" {
		t.Errorf("config template rendered %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, TemplateFile), []byte("from file {{ eos_token }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tm, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tm.Render(msgs, Options{}); got != "from file <E>" {
		t.Errorf("chat_template.jinja rendered %q", got)
	}
	// Jinja2's lexer: CRLF and CR are newlines, one trailing newline goes.
	crlf := "{% if true %}\r\n  a{{ eos_token }}\r\r\n{% endif %}\r\n\r\n"
	if err := os.WriteFile(filepath.Join(dir, TemplateFile), []byte(crlf), 0o644); err != nil {
		t.Fatal(err)
	}
	if tm, err = Load(dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := tm.Render(msgs, Options{}); got != "  a<E>\n\n" || tm.Source() != crlf {
		t.Errorf("CRLF template rendered %q (source kept: %v)", got, tm.Source() == crlf)
	}
	_, err = Load(filepath.Join(dir, "absent"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "absent", ConfigFile)) {
		t.Errorf("missing dir: got %v", err)
	}
}

// TestExtra: extra variables reach the template; unsupported values and
// the reserved names are refused with the key named.
func TestExtra(t *testing.T) {
	tm, err := Parse("{{ a }} {{ b | join('+') }} {{ c.k }} {{ d }} {{ e is none }} {{ f[1] }}")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: "x"}}
	got, err := tm.Render(msgs, Options{Extra: map[string]any{"a": int32(7), "b": []string{"x", "y"},
		"c": map[string]any{"k": true}, "d": 1.5, "e": nil, "f": []any{"p", "q"}}})
	if err != nil || got != "7 x+y True 1.5 True q" {
		t.Errorf("rendered %q, %v", got, err)
	}
	for key, val := range map[string]any{"bad": struct{}{}, "messages": nil, "add_generation_prompt": true,
		"nested": map[string]any{"k": []any{complex(1, 2)}}} {
		_, err := tm.Render(msgs, Options{Extra: map[string]any{key: val}})
		if err == nil || !strings.Contains(err.Error(), `Options.Extra["`+key+`"]`) {
			t.Errorf("Extra[%q]: got %v", key, err)
		}
	}
}

// TestDefaultClock: strftime_now without an injected clock is today's
// date, as transformers' datetime.now().
func TestDefaultClock(t *testing.T) {
	tm := testdataFixture(t, "llama31-style")
	before := Strftime(time.Now(), "%d %b %Y")
	got, err := tm.Render([]Message{{Role: "user", Content: "x"}}, Options{})
	after := Strftime(time.Now(), "%d %b %Y")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "Today is "+before+".") && !strings.Contains(got, "Today is "+after+".") {
		t.Errorf("no date %s in %q", before, got)
	}
}

// TestConcurrentRender renders one template from many goroutines (run with
// -race to check the shared compiled template).
func TestConcurrentRender(t *testing.T) {
	tm := testdataFixture(t, "qwen3")
	msgs := conversations["multi-turn"]
	want, err := tm.Render(msgs, Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				got, err := tm.Render(msgs, Options{AddGenerationPrompt: true, Extra: map[string]any{"enable_thinking": i%2 == 0}})
				if err != nil || !strings.HasPrefix(got, want) {
					t.Errorf("concurrent render %q, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
