package hftok

import (
	"unicode"
	"unicode/utf8"
)

// The regular expressions below are the only Split patterns accepted. Go's
// regexp has no lookahead (`\s+(?!\S)`), so each is implemented as a
// hand-written scanner that reproduces the leftmost-first backtracking
// result of Oniguruma, the engine the Rust library uses.
const (
	// gpt2Regex is the pattern of GPT-2 and of the ByteLevel pre-tokenizer
	// with use_regex=true.
	gpt2Regex = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// llama3Regex is the pattern of Llama 3 (digits in runs of up to three).
	llama3Regex = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// qwen2Regex is the pattern of Qwen2, Qwen2.5 and Qwen3 (single digits).
	qwen2Regex = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// splitter finds the end of the regex match that starts at byte i of s.
// Every pattern here matches at every position (each character is a
// letter, a number, whitespace or "other"), so Isolated splitting reduces
// to repeatedly taking the match at the current position.
type splitter struct {
	llama     bool // the Llama 3 / Qwen2 family rather than GPT-2
	maxDigits int  // 0: unbounded run
}

// knownSplitters maps an exact pattern string to its scanner.
var knownSplitters = map[string]splitter{
	gpt2Regex:   {llama: false, maxDigits: 0},
	llama3Regex: {llama: true, maxDigits: 3},
	qwen2Regex:  {llama: true, maxDigits: 1},
}

// runeAt decodes the rune at byte i; an invalid byte decodes as RuneError of
// width 1 and so falls in the "other" class, as U+FFFD itself does.
func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

var asciiClass [128]uint8

const (
	clsLetter = 1 + iota
	clsNumber
	clsSpace
	clsOther
)

func init() {
	for c := 0; c < 128; c++ {
		asciiClass[c] = classify(rune(c))
	}
}

func classify(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r):
		return clsSpace
	}
	return clsOther
}

// class reports which of \p{L}, \p{N}, \s or none r belongs to (-1, the end
// of input, is in none).
func class(r rune) uint8 {
	if r < 0 {
		return 0
	}
	if r < 128 {
		return asciiClass[r]
	}
	return classify(r)
}

// run returns the end of the maximal run of class c starting at i, taking
// at most max runes when max > 0.
func run(s string, i int, c uint8, max int) int {
	n := 0
	for i < len(s) && (max == 0 || n < max) {
		r, w := runeAt(s, i)
		if class(r) != c {
			break
		}
		i += w
		n++
	}
	return i
}

// contraction returns the length of 's 't 're 've 'm 'll 'd following the
// apostrophe at i-1, or 0. With fold, letters compare under Unicode simple
// case folding, where U+017F (long s) folds to s.
func contraction(s string, i int, fold bool) int {
	lower := func(j int) (rune, int) {
		r, w := runeAt(s, j)
		if fold {
			if r == 0x17F {
				r = 's'
			} else if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
		}
		return r, w
	}
	r1, w1 := lower(i)
	switch r1 {
	case 's', 't', 'm', 'd':
		return w1
	case 'r', 'v', 'l':
		want := 'e'
		if r1 == 'l' {
			want = 'l'
		}
		if r2, w2 := lower(i + w1); r2 == want {
			return w1 + w2
		}
	}
	return 0
}

// whitespace handles the trailing `\s+(?!\S)|\s+` alternatives at i, which
// holds whitespace: a run followed by non-space gives back its last
// character so that it can prefix the next word.
func whitespace(s string, i int) int {
	end, last, n := i, i, 0
	for end < len(s) {
		r, w := runeAt(s, end)
		if class(r) != clsSpace {
			break
		}
		last = end
		end += w
		n++
	}
	if end == len(s) || n == 1 {
		return end
	}
	return last
}

// next returns the end of the match starting at i (< len(s)).
func (p splitter) next(s string, i int) int {
	r0, w0 := runeAt(s, i)
	if r0 == '\'' {
		if n := contraction(s, i+1, p.llama); n > 0 {
			return i + 1 + n
		}
	}
	c0 := class(r0)
	if p.llama {
		return p.nextLlama(s, i, r0, w0, c0)
	}
	j, c := i, c0
	if r0 == ' ' {
		r1, _ := runeAt(s, i+1)
		if c1 := class(r1); c1 != clsSpace && c1 != 0 {
			j, c = i+1, c1
		}
	}
	switch c {
	case clsLetter, clsNumber, clsOther:
		return run(s, j, c, 0)
	}
	return whitespace(s, i)
}

func (p splitter) nextLlama(s string, i int, r0 rune, w0 int, c0 uint8) int {
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0 == clsLetter {
		return run(s, i, clsLetter, 0)
	}
	if r0 != '\r' && r0 != '\n' && c0 != clsNumber {
		if r1, _ := runeAt(s, i+w0); class(r1) == clsLetter {
			return run(s, i+w0, clsLetter, 0)
		}
	}
	if c0 == clsNumber {
		return run(s, i, clsNumber, p.maxDigits)
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	j := i
	if r0 == ' ' {
		j = i + 1
	}
	if r, _ := runeAt(s, j); class(r) == clsOther {
		k := run(s, j, clsOther, 0)
		for k < len(s) && (s[k] == '\r' || s[k] == '\n') {
			k++
		}
		return k
	}
	// \s*[\r\n]+ : up to the last newline of the whitespace run.
	end, nl := i, -1
	for end < len(s) {
		r, w := runeAt(s, end)
		if class(r) != clsSpace {
			break
		}
		end += w
		if r == '\r' || r == '\n' {
			nl = end
		}
	}
	if nl >= 0 {
		return nl
	}
	return whitespace(s, i)
}

// byteRune is GPT-2's bytes_to_unicode table: printable Latin-1 bytes stand
// for themselves, the rest are shifted to U+0100 onwards in byte order.
var byteRune [256]rune

// runeByte inverts byteRune.
var runeByte = map[rune]byte{}

func init() {
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteRune[b] = rune(b)
		} else {
			byteRune[b] = 256 + n
			n++
		}
		runeByte[byteRune[b]] = byte(b)
	}
}

// byteLevelDecode maps a token of the byte-level alphabet back to its bytes;
// ok is false when some rune is outside the alphabet.
func byteLevelDecode(tok string) (raw []byte, ok bool) {
	raw = make([]byte, 0, len(tok))
	for _, r := range tok {
		b, found := runeByte[r]
		if !found {
			return nil, false
		}
		raw = append(raw, b)
	}
	return raw, true
}
