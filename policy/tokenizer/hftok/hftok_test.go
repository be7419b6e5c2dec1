package hftok

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// synthetic builds a small byte-level tokenizer.json: the 256 byte
// characters plus a few merges, with the Llama 3 pre-tokenizer.
func synthetic(t testing.TB) []byte {
	t.Helper()
	vocab := map[string]int{}
	for b := 0; b < 256; b++ {
		vocab[string(byteRune[b])] = b
	}
	merges := [][2]string{{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"i", "n"}, {"Ġ", "Ġ"}, {"1", "2"}}
	for _, m := range merges {
		if _, ok := vocab[m[0]+m[1]]; !ok {
			vocab[m[0]+m[1]] = len(vocab)
		}
	}
	doc := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens": []map[string]any{{"id": len(vocab), "content": "<|eot|>", "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": false, "special": true}},
		"normalizer": map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": llama3Regex}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}}},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "ByteLevel"},
		"model":          map[string]any{"type": "BPE", "vocab": vocab, "merges": merges, "ignore_merges": true},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit replaces one top-level field of a tokenizer.json.
func edit(t testing.TB, tj []byte, key, value string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(tj, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = json.RawMessage(value)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSyntheticBasics(t *testing.T) {
	tok, err := Parse(synthetic(t), []byte(`{"eos_token":{"content":"<|eot|>"},"model_max_length":4096}`))
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("a the in 12<|eot|>")
	the, _ := tok.ID("Ġthe")
	eot, _ := tok.ID("<|eot|>")
	if !slices.Contains(ids, the) || ids[len(ids)-1] != eot {
		t.Fatalf("Encode = %v, want Ġthe (%d) and <|eot|> (%d) last", ids, the, eot)
	}
	if e, ok := tok.EOS(); !ok || e != eot || !tok.IsSpecial(eot) {
		t.Fatalf("EOS = %d,%v", e, ok)
	}
	if n, ok := tok.MaxLength(); !ok || n != 4096 {
		t.Fatalf("MaxLength = %d,%v", n, ok)
	}
	if got := tok.DecodeText(ids); got != "a the in 12" {
		t.Fatalf("DecodeText = %q", got)
	}
	if tok.Name() != "hf-bpe-bytelevel" || tok.VocabSize() != int(eot)+1 {
		t.Fatalf("Name %q VocabSize %d", tok.Name(), tok.VocabSize())
	}
}

// TestErrors checks that each unsupported or broken input is refused with
// the file and field named.
func TestErrors(t *testing.T) {
	base := synthetic(t)
	cases := []struct {
		name string
		json []byte
		want string
	}{
		{"bad JSON", []byte(`{"model":`), "tokenizer.json: invalid JSON"},
		{"model type", edit(t, base, "model", `{"type":"WordPiece","vocab":{}}`), `tokenizer.json: model.type "WordPiece" not supported`},
		{"pre-tokenizer", edit(t, base, "pre_tokenizer", `{"type":"Sequence","pretokenizers":[{"type":"Digits"},{"type":"Metaspace"}]}`),
			`tokenizer.json: pre_tokenizer.pretokenizers[1].type "Metaspace" not supported`},
		{"regex", edit(t, base, "pre_tokenizer", `{"type":"Split","pattern":{"Regex":"\\w+"},"behavior":"Isolated","invert":false}`),
			`tokenizer.json: pre_tokenizer.pattern.Regex "\\w+" not supported`},
		{"missing merge token", edit(t, base, "model", `{"type":"BPE","vocab":{"a":0},"merges":["a b"]}`),
			`tokenizer.json: model.merges[0] token "b" is not in model.vocab`},
		{"merge result", edit(t, base, "model", `{"type":"BPE","vocab":{"a":0,"b":1},"merges":[["a","b"]]}`),
			`tokenizer.json: model.merges[0] merged token "ab" is not in model.vocab`},
		{"normalizer", edit(t, base, "normalizer", `{"type":"Lowercase"}`), `tokenizer.json: normalizer.type "Lowercase" not supported`},
		{"decoder", edit(t, base, "decoder", `{"type":"Metaspace"}`), `tokenizer.json: decoder.type "Metaspace" not supported`},
		{"truncation", edit(t, base, "truncation", `{"max_length":5}`), `tokenizer.json: truncation not supported`},
		{"unk", edit(t, base, "model", `{"type":"BPE","vocab":{"a":0},"merges":[],"unk_token":"<unk>"}`), `tokenizer.json: model.unk_token "<unk>" is not in model.vocab`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.json, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := Parse(base, []byte(`{"bos_token":3}`)); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json: bos_token") {
		t.Fatalf("config err = %v", err)
	}
}

// TestRoundTrip: byte-level Decode(Encode(s)) == s for every valid UTF-8
// corpus line; for Llama 2, DecodeText(EncodeWithSpecial(s)) == s for
// lines without added-token text or "▁" (HF inserts a space after an
// added token and decodes "▁" as a space).
func TestRoundTrip(t *testing.T) {
	modules := nodeModules()
	texts := corpus(t)
	for _, name := range []string{"llama3", "qwen3", "llama2"} {
		tok, err := Load(modelsDir(modules, name))
		if err != nil {
			t.Skipf("real tokenizer files unavailable: %v", err)
		}
		for i, s := range texts {
			if name == "llama2" && (strings.Contains(s, "<s>") || strings.Contains(s, "</s>") || strings.Contains(s, "<unk>") || strings.Contains(s, "▁")) {
				continue
			}
			if name == "qwen3" {
				s = normNFC(s)
			}
			var got string
			if name == "llama2" {
				got = tok.DecodeText(tok.EncodeWithSpecial(s))
			} else {
				got = tok.Decode(tok.Encode(s))
			}
			if got != s {
				t.Errorf("%s line %d: round trip %q -> %q", name, i+1, s, got)
			}
		}
	}
}

func normNFC(s string) string { return (&normalizer{kind: "NFC"}).apply(s) }

// TestMergeHeapMatchesLinear checks the two merge loops agree.
func TestMergeHeapMatchesLinear(t *testing.T) {
	tok, err := Load(modelsDir(nodeModules(), "llama2"))
	if err != nil {
		t.Skip(err)
	}
	for _, s := range corpus(t) {
		w := "▁" + strings.ReplaceAll(s, " ", "▁")
		syms := tok.model.initial(nil, w)
		a := tok.model.mergeHeap(slices.Clone(syms))
		if len(syms) <= heapThreshold {
			if b := tok.model.mergeLinear(slices.Clone(syms)); !slices.Equal(a, b) {
				t.Fatalf("%q: heap %v linear %v", s, a, b)
			}
		}
	}
}

func TestLoadAndFiles(t *testing.T) {
	dir := t.TempDir()
	tj := synthetic(t)
	if err := os.WriteFile(filepath.Join(dir, TokenizerFile), tj, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := tok.Files()
	if string(f[TokenizerFile]) != string(tj) || len(f) != 1 {
		t.Fatalf("Files = %d entries", len(f))
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("Load of an empty dir succeeded")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(synthetic(f))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]}}`))
	f.Add([]byte(`{"added_tokens":[{"id":0,"content":"x"}],"model":{"type":"BPE","vocab":{}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := Parse(b, nil)
		if err == nil {
			tok.Decode(tok.Encode("a b <x> ab"))
		}
	})
}

func FuzzEncode(f *testing.F) {
	tok, err := Parse(synthetic(f), nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"the in 12", "  \n\n x", "héllo 👍🏽", "<|eot|>a", "'S 'll"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		s = normNFC(s)
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	})
}

// BenchmarkEncode measures Llama 3 encoding of the GSM8K/MATH-500 excerpt.
func BenchmarkEncode(b *testing.B) {
	tok, err := Load(modelsDir(nodeModules(), "llama3"))
	if err != nil {
		b.Skipf("llama3 tokenizer unavailable: %v", err)
	}
	texts := readLines(b, "testdata/corpus.jsonl")
	var dst []int32
	n := 0
	b.ResetTimer()
	for b.Loop() {
		for _, s := range texts {
			dst = tok.AppendEncode(dst[:0], s)
			n += len(dst)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
}
