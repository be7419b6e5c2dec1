package hftok

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// File names inside a model directory.
const (
	TokenizerFile = "tokenizer.json"
	ConfigFile    = "tokenizer_config.json"
)

// Tokenizer encodes and decodes text exactly as the Rust tokenizers library
// does for the supported tokenizer.json files. It is immutable after
// loading (its word cache is internally synchronised) and safe for
// concurrent use.
type Tokenizer struct {
	name      string
	model     *bpe
	norm      *normalizer
	steps     []preStep
	dec       *decoder
	tmpl      template
	byContent map[string]int32      // added token content -> id
	byID      map[int32]*addedToken // added tokens by id
	normCache map[int32]string      // normalized form of normalized added tokens
	specials  map[string]bool       // contents of special added tokens
	raw       *matcher              // added tokens matched on the raw text
	normd     *matcher              // added tokens with normalized: true
	idToken   []string              // model vocabulary by id ("" for holes)
	size      int
	cfg       config
	files     map[string][]byte
}

// Load reads dir/tokenizer.json and, if present, dir/tokenizer_config.json.
func Load(dir string) (*Tokenizer, error) {
	tj, err := os.ReadFile(filepath.Join(dir, TokenizerFile))
	if err != nil {
		return nil, fmt.Errorf("hftok: %w", err)
	}
	cj, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		cj, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hftok: %w", err)
	}
	t, err := Parse(tj, cj)
	if err != nil {
		return nil, fmt.Errorf("hftok: %s: %w", dir, err)
	}
	return t, nil
}

// Parse builds a Tokenizer from the bytes of tokenizer.json and of
// tokenizer_config.json (nil when there is none). Anything this package
// cannot reproduce exactly is refused with an error naming the file and
// the JSON field path.
func Parse(tokenizerJSON, tokenizerConfigJSON []byte) (*Tokenizer, error) {
	t, err := parseTokenizer(tokenizerJSON)
	if err != nil {
		return nil, err
	}
	if tokenizerConfigJSON != nil {
		if t.cfg, err = parseConfig(tokenizerConfigJSON); err != nil {
			return nil, err
		}
	}
	t.files = map[string][]byte{TokenizerFile: clone(tokenizerJSON)}
	if tokenizerConfigJSON != nil {
		t.files[ConfigFile] = clone(tokenizerConfigJSON)
	}
	return t, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// Encode returns the ids of text without special tokens added by the
// post-processor; added tokens written in the text are recognised.
func (t *Tokenizer) Encode(text string) []int32 { return t.AppendEncode(nil, text) }

// AppendEncode appends the ids of text (as Encode) to dst.
func (t *Tokenizer) AppendEncode(dst []int32, text string) []int32 {
	t.raw.split(text, func(seg segment) {
		if seg.tok != nil {
			dst = append(dst, seg.tok.id)
			return
		}
		s := seg.text
		if t.norm != nil {
			s = t.norm.apply(s)
		}
		t.normd.split(s, func(seg segment) {
			if seg.tok != nil {
				dst = append(dst, seg.tok.id)
				return
			}
			dst = t.pretokenize(dst, seg.text, 0)
		})
	})
	return dst
}

// pretokenize runs the pre-tokenizer steps from step on, then the model.
func (t *Tokenizer) pretokenize(dst []int32, s string, step int) []int32 {
	if s == "" {
		return dst
	}
	if step == len(t.steps) {
		return t.model.encodeWord(dst, s)
	}
	st := &t.steps[step]
	switch st.kind {
	case "ByteLevel":
		if st.addPrefixSpace && s[0] != ' ' {
			s = " " + s
		}
		if !st.useRegex {
			return t.pretokenize(dst, s, step+1)
		}
		fallthrough
	case "Split":
		for i := 0; i < len(s); {
			j := st.split.next(s, i)
			dst = t.pretokenize(dst, s[i:j], step+1)
			i = j
		}
	case "Digits":
		for i := 0; i < len(s); {
			r, w := runeAt(s, i)
			digit := unicode.IsNumber(r)
			j := i + w
			for j < len(s) && !(digit && st.individual) {
				r, w := runeAt(s, j)
				if unicode.IsNumber(r) != digit {
					break
				}
				j += w
			}
			dst = t.pretokenize(dst, s[i:j], step+1)
			i = j
		}
	}
	return dst
}

// EncodeWithSpecial is Encode plus the special tokens the tokenizer adds:
// the TemplateProcessing post-processor when there is one, otherwise
// tokenizer_config.json's add_bos_token / add_eos_token.
func (t *Tokenizer) EncodeWithSpecial(text string) []int32 {
	if t.tmpl == nil {
		var out []int32
		if id, ok := t.BOS(); ok && t.cfg.addBOS {
			out = append(out, id)
		}
		out = t.AppendEncode(out, text)
		if id, ok := t.EOS(); ok && t.cfg.addEOS {
			out = append(out, id)
		}
		return out
	}
	var out []int32
	for _, p := range t.tmpl {
		if p.seq {
			out = t.AppendEncode(out, text)
		} else {
			out = append(out, p.ids...)
		}
	}
	return out
}

// Decode returns the text of ids, special tokens included, as the Rust
// library's decode(ids, skip_special_tokens=false): invalid UTF-8 becomes
// U+FFFD as String::from_utf8_lossy does, and unknown ids are dropped.
func (t *Tokenizer) Decode(ids []int32) string { return t.decode(ids, false) }

// DecodeText is Decode with skip_special_tokens=true: tokens of added
// tokens marked special are left out.
func (t *Tokenizer) DecodeText(ids []int32) string { return t.decode(ids, true) }

func (t *Tokenizer) decode(ids []int32, skipSpecial bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		// Rust decodes a normalized added token from its normalized form, so
		// the decoder can invert the normalization.
		tok, ok := t.normCache[id]
		if !ok {
			if tok, ok = t.Token(id); !ok {
				continue
			}
		}
		if skipSpecial && t.specials[tok] {
			continue
		}
		toks = append(toks, tok)
	}
	if t.dec == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.dec.chain(toks), "")
}

// VocabSize is one more than the largest id of the vocabulary and the
// added tokens.
func (t *Tokenizer) VocabSize() int { return t.size }

// ID returns the id of a token string (an added token's content or a
// vocabulary entry, in the model's alphabet such as "Ġthe" or "▁the").
func (t *Tokenizer) ID(token string) (int32, bool) {
	if id, ok := t.byContent[token]; ok {
		return id, true
	}
	id, ok := t.model.vocab[token]
	return id, ok
}

// Token returns the token string of id, an added token's content first.
func (t *Tokenizer) Token(id int32) (string, bool) {
	if a, ok := t.byID[id]; ok {
		return a.content, true
	}
	if id < 0 || int(id) >= len(t.idToken) {
		return "", false
	}
	if tok := t.idToken[id]; tok != "" {
		return tok, true
	}
	return "", false
}

// IsSpecial reports whether id is an added token marked special.
func (t *Tokenizer) IsSpecial(id int32) bool {
	a, ok := t.byID[id]
	return ok && t.specials[a.content]
}

// BOS returns the id of tokenizer_config.json's bos_token.
func (t *Tokenizer) BOS() (int32, bool) { return t.idOf(t.cfg.bos) }

// EOS returns the id of tokenizer_config.json's eos_token.
func (t *Tokenizer) EOS() (int32, bool) { return t.idOf(t.cfg.eos) }

// PAD returns the id of tokenizer_config.json's pad_token.
func (t *Tokenizer) PAD() (int32, bool) { return t.idOf(t.cfg.pad) }

// UNK returns the id of tokenizer_config.json's unk_token.
func (t *Tokenizer) UNK() (int32, bool) { return t.idOf(t.cfg.unk) }

// idOf is ID that treats the empty string (an unset token) as absent.
func (t *Tokenizer) idOf(token string) (int32, bool) {
	if token == "" {
		return 0, false
	}
	return t.ID(token)
}

// MaxLength returns tokenizer_config.json's model_max_length; ok is false
// when it is absent or Hugging Face's "unlimited" sentinel (about 1e30).
func (t *Tokenizer) MaxLength() (n int, ok bool) {
	return t.cfg.maxLen, t.cfg.maxLen > 0
}

// Name identifies the kind of tokenizer: "hf-bpe-bytelevel" (GPT-2 style,
// Llama 3, Qwen, SmolLM2) or "hf-bpe-sentencepiece" (Llama 2 style).
func (t *Tokenizer) Name() string { return t.name }

// Files returns copies of the original file bytes by file name, to be
// written next to a checkpoint so that it can be loaded again.
func (t *Tokenizer) Files() map[string][]byte {
	out := make(map[string][]byte, len(t.files))
	for k, v := range t.files {
		out[k] = clone(v)
	}
	return out
}
