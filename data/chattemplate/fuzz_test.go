package chattemplate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRender sends random message texts through every fixture: rendering
// must not fail or panic, and each user text must reach the prompt (as the
// template prints it: Llama templates trim or strip() it).
func FuzzRender(f *testing.F) {
	names := sortedKeys(fixtures)
	templates := map[string]*Template{}
	for _, name := range names {
		templates[name] = testdataFixture(f, name)
	}
	trims := map[string]bool{"llama3": true, "llama2-style": true, "llama31-style": true}
	f.Add("You are helpful.", "Hi {{ x }} {% if %}", "<think>a</think>b", "again", false, uint8(0))
	f.Add("", "  \n", "\n</think>\n", "<tool_response>x</tool_response>", true, uint8(1))
	f.Add("Ünï 🤖", "\"'\\", "}}{{", "{#", true, uint8(2))
	f.Fuzz(func(t *testing.T, sys, user, assistant, user2 string, gen bool, pick uint8) {
		msgs := []Message{{Role: "user", Content: user}, {Role: "assistant", Content: assistant}, {Role: "user", Content: user2}}
		if sys != "" {
			msgs = append([]Message{{Role: "system", Content: sys}}, msgs...)
		}
		name := names[int(pick)%len(names)]
		out, err := templates[name].Render(msgs, Options{AddGenerationPrompt: gen})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, u := range []string{user, user2} {
			if trims[name] {
				u = strings.TrimSpace(u)
			}
			if !strings.Contains(out, u) {
				t.Fatalf("%s: user text %q missing from %q", name, u, out)
			}
		}
	})
}

// FuzzFromTokenizerConfig: arbitrary config bytes give a template or an
// error, never a panic; a template that parses renders or errors.
func FuzzFromTokenizerConfig(f *testing.F) {
	for _, name := range []string{"llama3", "qwen3", "llama2"} {
		b, err := os.ReadFile(filepath.Join("testdata", "models", name, ConfigFile))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"chat_template": [{"name": "default", "template": "{{ messages[0].content }}"}], "bos_token": {"content": "<s>"}}`))
	f.Add([]byte(`{"chat_template": "{% for m in messages %}{{ m.role }}{% endfor %}", "eos_token": null}`))
	f.Add([]byte(`{"chat_template": "{{ 'a' * -1 }}{{ 'x' | indent(-5) }}"}`))
	f.Fuzz(func(t *testing.T, cfg []byte) {
		tm, err := FromTokenizerConfig(cfg)
		if err != nil {
			if !strings.Contains(err.Error(), ConfigFile) {
				t.Fatalf("error does not name %s: %v", ConfigFile, err)
			}
			return
		}
		var raw struct {
			ChatTemplate json.RawMessage `json:"chat_template"`
		}
		if err := json.Unmarshal(cfg, &raw); err != nil {
			t.Fatalf("accepted a config encoding/json rejects: %v", err)
		}
		if !strings.Contains(string(cfg), "template") {
			t.Fatalf("template %q from a config without one", tm.Source())
		}
		if strings.Contains(tm.Source(), "range") {
			return // range(10**9) would only measure memory
		}
		_, _ = tm.Render([]Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "yo"}}, Options{AddGenerationPrompt: true})
	})
}
