package data

import (
	"strings"
	"unicode/utf8"
)

// LossyUTF8 makes text for rlpipe's UTF-8 string columns from bytes a
// model produced; it is Rust's String::from_utf8_lossy (what Hugging Face
// tokenizers and Python's errors="replace" produce): each maximal prefix of a
// valid sequence that cannot be completed becomes a single U+FFFD (the
// Unicode "substitution of maximal subparts"), unlike strings.ToValidUTF8,
// which merges adjacent invalid bytes.
func LossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			sb.WriteByte(b[i])
			i++
			continue
		}
		if r, w := utf8.DecodeRune(b[i:]); r != utf8.RuneError || w > 1 {
			sb.Write(b[i : i+w])
			i += w
			continue
		}
		sb.WriteString("\uFFFD")
		i += invalidPrefix(b[i:])
	}
	return sb.String()
}

// invalidPrefix is the length of the maximal subpart at the start of b,
// which does not begin a valid character: the lead byte plus as many
// continuation bytes as could still have completed it.
func invalidPrefix(b []byte) int {
	c := b[0]
	var n int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		n = 2
	case c >= 0xE0 && c <= 0xEF:
		n = 3
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case c >= 0xF0 && c <= 0xF4:
		n = 4
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return 1
	}
	i := 1
	for ; i < n && i < len(b); i++ {
		if b[i] < lo || b[i] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return i
}
