package policyfile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/policyfile/hftest"
)

// TestHFTokenizerLargerThanTheModelIsRefused: a tokenizer.json with ids the
// embedding has no row for would index past it on the first prompt that
// uses them; Load refuses the pair naming both sizes. A model padded past
// the tokenizer (as Qwen2's are) loads.
func TestHFTokenizerLargerThanTheModelIsRefused(t *testing.T) {
	_, err := policyfile.Load(hftest.TinyLlamaVocab(t, 1000))
	if !errors.Is(err, policyfile.ErrFormat) || !strings.Contains(err.Error(), "31999") || !strings.Contains(err.Error(), "vocab_size is 1000") {
		t.Fatalf("got %v, want a format error naming the tokenizer's last id and the model's vocab_size", err)
	}
	pol, err := policyfile.Load(hftest.TinyLlamaVocab(t, 32064))
	if err != nil {
		t.Fatalf("a model padded past the tokenizer: %v", err)
	}
	if got := pol.Tokenizer.VocabSize(); got != 32000 {
		t.Errorf("tokenizer vocab %d, want 32000", got)
	}
}
