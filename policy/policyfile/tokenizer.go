package policyfile

import (
	"errors"
	"fmt"

	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// Tokenizer is the text codec saved with a policy: rlpipe's byte-level
// tokenizer (*tokenizer.Tokenizer) for its own models, a pretrained
// model's Hugging Face tokenizer for the hf family. Every consumer (SFT,
// rollouts, curation, the servers) goes through it, so a family's
// tokenizer is chosen in one place: the policy file.
type Tokenizer interface {
	// Encode tokenizes text without adding sequence markers; special tokens
	// written in the text are recognised.
	Encode(s string) []int32
	// Decode renders ids, special tokens included.
	Decode(ids []int32) string
	// DecodeText renders ids without control tokens: the text a reward and
	// a user see.
	DecodeText(ids []int32) string
	// VocabSize is the number of token ids.
	VocabSize() int
	// EndOfCompletion is the token a completion ends with: SFT appends it
	// to every target and generation stops at it.
	EndOfCompletion() int32
}

// ErrNotByteLevel is returned where only rlpipe's byte-level tokenizer is
// supported (the Flight rollout workers ship it inside the weights'
// metadata).
var ErrNotByteLevel = errors.New("policyfile: only policies with the byte-level tokenizer are supported here")

// ByteTokenizer returns the policy's tokenizer when it is the byte-level
// one, else an error wrapping ErrNotByteLevel.
func (p *Policy) ByteTokenizer() (*tokenizer.Tokenizer, error) {
	if bt, ok := p.Tokenizer.(*tokenizer.Tokenizer); ok {
		return bt, nil
	}
	return nil, fmt.Errorf("%w (this %s policy has its own tokenizer)", ErrNotByteLevel, p.Kind())
}
