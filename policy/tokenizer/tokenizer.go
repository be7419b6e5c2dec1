package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rlpipe/rlpipe/data"
)

// Fixed token ids. Control tokens (PAD, BOS, EOS, Mask) are only ever
// inserted by code; markup tokens (Think, EndThink, Answer, EndAnswer) are
// also produced by Encode when their strings appear in text.
const (
	PAD       int32 = 0 // padding; never attended to or trained on
	BOS       int32 = 1 // start of sequence
	EOS       int32 = 2 // end of sequence; generation stops here
	Think     int32 = 3 // "<think>"
	EndThink  int32 = 4 // "</think>"
	Answer    int32 = 5 // "<answer>"
	EndAnswer int32 = 6 // "</answer>"
	Mask      int32 = 7 // masked position of the masked diffusion LM

	// ByteOffset is the id of byte 0x00; byte b has id ByteOffset+b.
	ByteOffset int32 = 8
	// NumSpecial is the number of special tokens (ids 0..NumSpecial-1).
	NumSpecial = 8
	// Size is the vocabulary size: NumSpecial specials plus 256 bytes.
	Size = NumSpecial + 256
)

// SpecVersion is the version of the byte-level vocabulary described by Spec.
const SpecVersion = 1

// specKind names the tokenizer family in a Spec.
const specKind = "rlpipe-byte"

// ErrSpec is wrapped by every error FromSpec returns.
var ErrSpec = errors.New("tokenizer: bad spec")

// specialNames holds the rendered string of each special id.
var specialNames = [NumSpecial]string{
	"<pad>", "<bos>", "<eos>", "<think>", "</think>", "<answer>", "</answer>", "<mask>",
}

// markup lists the specials Encode recognises inside text.
var markup = [...]int32{Think, EndThink, Answer, EndAnswer}

// Tokenizer maps between strings and token ids of the fixed byte-level
// vocabulary. It holds no mutable state: one value is safe for concurrent
// use by any number of goroutines, and every Tokenizer is equivalent to
// every other.
type Tokenizer struct {
	_ struct{} // keep the struct opaque so fields can be added later
}

// New returns the byte-level tokenizer.
func New() *Tokenizer { return &Tokenizer{} }

// VocabSize returns the number of token ids, Size (264).
func (t *Tokenizer) VocabSize() int { return Size }

// ID returns the id of a special token by its string form ("<eos>") or of a
// single byte given as a one-byte string, and whether name is known.
func (t *Tokenizer) ID(name string) (int32, bool) {
	for i, s := range specialNames {
		if s == name {
			return int32(i), true
		}
	}
	if len(name) == 1 {
		return ByteOffset + int32(name[0]), true
	}
	return 0, false
}

// Name returns the string form of id: the special's name, the byte as a
// one-byte string, or "" when id is outside the vocabulary.
func (t *Tokenizer) Name(id int32) string {
	switch {
	case id >= 0 && id < NumSpecial:
		return specialNames[id]
	case id >= ByteOffset && id < Size:
		return string([]byte{byte(id - ByteOffset)})
	}
	return ""
}

// IsSpecial reports whether id is one of the eight special tokens.
func IsSpecial(id int32) bool { return id >= 0 && id < NumSpecial }

// IsControl reports whether id is PAD, BOS, EOS or Mask: the specials that
// are never part of the text a reward function sees.
func IsControl(id int32) bool { return id == PAD || id == BOS || id == EOS || id == Mask }

// Encode returns the ids of s. The markup strings "<think>", "</think>",
// "<answer>" and "</answer>" become their single special id wherever they
// appear; every other byte becomes ByteOffset+byte. Control tokens are never
// produced from text ("<eos>" in a prompt encodes as five bytes), so user
// data cannot end or pad a sequence. Decode(Encode(s)) == s for every s.
// Cost: one allocation of at most len(s) ids.
func (t *Tokenizer) Encode(s string) []int32 {
	return t.AppendEncode(make([]int32, 0, len(s)), s)
}

// AppendEncode appends the ids of s (as Encode) to dst and returns the
// extended slice; it allocates only when dst lacks capacity.
func (t *Tokenizer) AppendEncode(dst []int32, s string) []int32 {
	for i := 0; i < len(s); {
		b := s[i]
		if b == '<' {
			if id, n := matchMarkup(s[i:]); n > 0 {
				dst = append(dst, id)
				i += n
				continue
			}
		}
		dst = append(dst, ByteOffset+int32(b))
		i++
	}
	return dst
}

// matchMarkup returns the markup id whose string prefixes s and its length,
// or n == 0 when none does.
func matchMarkup(s string) (id int32, n int) {
	for _, m := range markup {
		if name := specialNames[m]; strings.HasPrefix(s, name) {
			return m, len(name)
		}
	}
	return 0, 0
}

// Decode renders ids as text: bytes as themselves, every special (control
// ones included) as its string form, and ids outside the vocabulary as
// U+FFFD. The text is always valid UTF-8: byte sequences that are not
// (a sampled lone continuation byte, a character cut by max_new_tokens)
// become U+FFFD as in LossyUTF8; the token ids remain the exact record.
// It never stops early; use DecodeText for the text a reward sees.
func (t *Tokenizer) Decode(ids []int32) string {
	return t.decode(ids, false)
}

// EndOfCompletion returns EOS, the token every completion ends with.
func (t *Tokenizer) EndOfCompletion() int32 { return EOS }

// DecodeText renders ids like Decode but drops the control tokens (PAD,
// BOS, EOS, Mask); markup tags are kept because format rewards check them.
func (t *Tokenizer) DecodeText(ids []int32) string {
	return t.decode(ids, true)
}

// TokenBytes returns the raw bytes id stands for (its string form for a
// special, nil outside the vocabulary): what OpenAI's logprobs `bytes`
// report, from which a client reassembles characters split across tokens.
func (t *Tokenizer) TokenBytes(id int32) []byte {
	switch {
	case id >= ByteOffset && id < Size:
		return []byte{byte(id - ByteOffset)}
	case id >= 0 && id < NumSpecial:
		return []byte(specialNames[id])
	}
	return nil
}

func (t *Tokenizer) decode(ids []int32, skipControl bool) string {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		switch {
		case id >= ByteOffset && id < Size:
			b = append(b, byte(id-ByteOffset))
		case id >= 0 && id < NumSpecial:
			if !(skipControl && IsControl(id)) {
				b = append(b, specialNames[id]...)
			}
		default:
			b = utf8.AppendRune(b, utf8.RuneError)
		}
	}
	return data.LossyUTF8(b)
}

// spec is the JSON form of the vocabulary stored in model metadata.
type spec struct {
	Kind       string   `json:"kind"`
	Version    int      `json:"version"`
	Specials   []string `json:"specials"`
	ByteOffset int32    `json:"byte_offset"`
	VocabSize  int      `json:"vocab_size"`
}

func currentSpec() spec {
	return spec{Kind: specKind, Version: SpecVersion, Specials: specialNames[:],
		ByteOffset: ByteOffset, VocabSize: Size}
}

// Spec returns the tokenizer's description as a compact JSON string, for
// storing under a model file's metadata key (e.g. "tokenizer").
func (t *Tokenizer) Spec() string {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false) // keep "<pad>" readable in model metadata
	if err := enc.Encode(currentSpec()); err != nil {
		panic("tokenizer: marshal spec: " + err.Error())
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

// MarshalJSON encodes the tokenizer as its Spec object.
func (t *Tokenizer) MarshalJSON() ([]byte, error) { return []byte(t.Spec()), nil }

// UnmarshalJSON accepts only a Spec object equal to this package's
// vocabulary; see FromSpec.
func (t *Tokenizer) UnmarshalJSON(b []byte) error {
	_, err := FromSpec(string(b))
	return err
}

// FromSpec parses a string produced by Spec and returns the tokenizer it
// describes. It refuses unknown kinds, versions and fields and any
// vocabulary that differs from this package's, with an error wrapping
// ErrSpec that names the offending field.
func FromSpec(s string) (*Tokenizer, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var got spec
	if err := dec.Decode(&got); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the spec object", ErrSpec)
	}
	want := currentSpec()
	switch {
	case got.Kind != want.Kind:
		return nil, fmt.Errorf("%w: field \"kind\": %q, want %q", ErrSpec, got.Kind, want.Kind)
	case got.Version != want.Version:
		return nil, fmt.Errorf("%w: field \"version\": %d unsupported (this build reads %d)", ErrSpec, got.Version, want.Version)
	case got.ByteOffset != want.ByteOffset:
		return nil, fmt.Errorf("%w: field \"byte_offset\": %d, want %d", ErrSpec, got.ByteOffset, want.ByteOffset)
	case got.VocabSize != want.VocabSize:
		return nil, fmt.Errorf("%w: field \"vocab_size\": %d, want %d", ErrSpec, got.VocabSize, want.VocabSize)
	case len(got.Specials) != len(want.Specials):
		return nil, fmt.Errorf("%w: field \"specials\": %d entries, want %d", ErrSpec, len(got.Specials), len(want.Specials))
	}
	for i, name := range got.Specials {
		if name != want.Specials[i] {
			return nil, fmt.Errorf("%w: field \"specials\" entry %d: %q, want %q", ErrSpec, i, name, want.Specials[i])
		}
	}
	return New(), nil
}
