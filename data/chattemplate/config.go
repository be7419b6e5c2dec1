package chattemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ardanlabs/jinja"
)

// ConfigFile and TemplateFile are the file names Load reads from a model
// directory. Newer transformers versions save the template separately in
// TemplateFile, which then wins over the config's chat_template field.
const (
	ConfigFile   = "tokenizer_config.json"
	TemplateFile = "chat_template.jinja"
)

// specialTokens are the tokenizer attributes transformers passes to every
// chat template (its special_tokens_map); a token that is null or absent is
// left out, so the template sees it as undefined.
var specialTokens = []string{"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}

// FromTokenizerConfig compiles the chat template of a tokenizer_config.json
// and binds its special tokens. chat_template may be a string or a list of
// {"name", "template"} entries, of which "default" is used; each token may
// be a string or an AddedToken object {"content": ...}.
func FromTokenizerConfig(configJSON []byte) (*Template, error) {
	return fromConfig(ConfigFile, configJSON, nil)
}

// Load reads dir/tokenizer_config.json and, if present, dir/
// chat_template.jinja, whose template takes precedence over the config's.
func Load(dir string) (*Template, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("chattemplate: %w", err)
	}
	tplPath := filepath.Join(dir, TemplateFile)
	src, err := os.ReadFile(tplPath)
	switch {
	case err == nil:
		return fromConfig(cfgPath, cfg, &namedSource{name: tplPath, source: string(src)})
	case errors.Is(err, fs.ErrNotExist):
		return fromConfig(cfgPath, cfg, nil)
	default:
		return nil, fmt.Errorf("chattemplate: %w", err)
	}
}

type namedSource struct{ name, source string }

// fromConfig parses a tokenizer config named file; override, when set, is
// the template to use instead of the config's chat_template.
func fromConfig(file string, configJSON []byte, override *namedSource) (*Template, error) {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(configJSON, &cfg); err != nil {
		return nil, fmt.Errorf("chattemplate: %s: %w", file, err)
	}
	if cfg == nil {
		return nil, fmt.Errorf("chattemplate: %s: not a JSON object", file)
	}
	tokens := map[string]jinja.Value{}
	for _, name := range specialTokens {
		tok, ok, err := tokenField(cfg[name])
		if err != nil {
			return nil, fmt.Errorf("chattemplate: %s: field %s: %w", file, name, err)
		}
		if ok {
			tokens[name] = jinja.NewString(tok)
		}
	}
	if err := additionalTokens(cfg["additional_special_tokens"], tokens); err != nil {
		return nil, fmt.Errorf("chattemplate: %s: field additional_special_tokens: %w", file, err)
	}
	src := override
	if src == nil {
		s, label, err := chatTemplateField(cfg["chat_template"])
		if err != nil {
			return nil, fmt.Errorf("chattemplate: %s: field chat_template: %w", file, err)
		}
		src = &namedSource{name: file + " chat_template" + label, source: s}
	}
	return parseNamed(src.name, src.source, tokens)
}

// chatTemplateField decodes chat_template; label names the chosen entry of
// a list.
func chatTemplateField(raw json.RawMessage) (source, label string, err error) {
	if isNull(raw) {
		return "", "", errors.New("missing (this tokenizer has no chat template)")
	}
	if err := json.Unmarshal(raw, &source); err == nil {
		return source, "", nil
	}
	var named []struct {
		Name     *string `json:"name"`
		Template *string `json:"template"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", "", fmt.Errorf("want a string or a list of {\"name\", \"template\"} objects: %w", err)
	}
	var names []string
	for i, n := range named {
		if n.Name == nil || n.Template == nil {
			return "", "", fmt.Errorf("entry %d: want string fields \"name\" and \"template\"", i)
		}
		if *n.Name == "default" {
			return *n.Template, ` "default"`, nil
		}
		names = append(names, *n.Name)
	}
	return "", "", fmt.Errorf("no template named \"default\" among %q", names)
}

// tokenField decodes a special token given as a string or as an AddedToken
// object; ok is false for null or absent.
func tokenField(raw json.RawMessage) (tok string, ok bool, err error) {
	if isNull(raw) {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &tok); err == nil {
		return tok, true, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return "", false, fmt.Errorf("want a string or an object with a string \"content\", got %.60s", raw)
	}
	return *obj.Content, true, nil
}

// additionalTokens sets additional_special_tokens when non-empty, as
// transformers' special_tokens_map does.
func additionalTokens(raw json.RawMessage, tokens map[string]jinja.Value) error {
	if isNull(raw) {
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("want a list: %w", err)
	}
	if len(list) == 0 {
		return nil
	}
	items := make([]jinja.Value, len(list))
	for i, r := range list {
		tok, ok, err := tokenField(r)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if !ok {
			return fmt.Errorf("entry %d: null", i)
		}
		items[i] = jinja.NewString(tok)
	}
	tokens["additional_special_tokens"] = jinja.NewList(items)
	return nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}
