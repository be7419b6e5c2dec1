package hftok

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/rlpipe/rlpipe/data"
)

// normalizer is one supported tokenizer.json normalizer.
type normalizer struct {
	kind    string // NFC, NFD, NFKC, NFKD, Prepend, Replace, Sequence
	text    string // Prepend's prefix, Replace's pattern
	content string // Replace's replacement
	seq     []normalizer
}

func (n *normalizer) apply(s string) string {
	switch n.kind {
	case "NFC":
		return norm.NFC.String(s)
	case "NFD":
		return norm.NFD.String(s)
	case "NFKC":
		return norm.NFKC.String(s)
	case "NFKD":
		return norm.NFKD.String(s)
	case "Prepend":
		if s == "" {
			return s
		}
		return n.text + s
	case "Replace":
		return strings.ReplaceAll(s, n.text, n.content)
	case "Sequence":
		for i := range n.seq {
			s = n.seq[i].apply(s)
		}
	}
	return s
}

// decoder is one supported tokenizer.json decoder; like Rust's
// decode_chain, each maps a list of token strings to a new list and the
// final list is concatenated.
type decoder struct {
	kind        string // ByteLevel, Replace, ByteFallback, Fuse, Strip, Sequence
	from, to    string // Replace
	content     rune   // Strip
	start, stop int    // Strip
	seq         []decoder
}

func (d *decoder) chain(toks []string) []string {
	switch d.kind {
	case "ByteLevel":
		var raw []byte
		for _, t := range toks {
			if b, ok := byteLevelDecode(t); ok {
				raw = append(raw, b...)
			} else {
				raw = append(raw, t...) // not byte-level text: its own bytes
			}
		}
		return []string{data.LossyUTF8(raw)}
	case "Replace":
		for i, t := range toks {
			toks[i] = strings.ReplaceAll(t, d.from, d.to)
		}
	case "ByteFallback":
		return byteFallback(toks)
	case "Fuse":
		return []string{strings.Join(toks, "")}
	case "Strip":
		for i, t := range toks {
			toks[i] = d.strip(t)
		}
	case "Sequence":
		for i := range d.seq {
			toks = d.seq[i].chain(toks)
		}
	}
	return toks
}

// strip removes up to start leading and stop trailing copies of content.
func (d *decoder) strip(t string) string {
	c := string(d.content)
	for i := 0; i < d.start && strings.HasPrefix(t, c); i++ {
		t = t[len(c):]
	}
	for i := 0; i < d.stop && strings.HasSuffix(t, c); i++ {
		t = t[:len(t)-len(c)]
	}
	return t
}

// byteFallback joins runs of "<0xNN>" tokens into their bytes; a run that
// is not valid UTF-8 becomes one U+FFFD per byte, as in Rust.
func byteFallback(toks []string) []string {
	out := make([]string, 0, len(toks))
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, "\uFFFD")
			}
		}
		pending = pending[:0]
	}
	for _, t := range toks {
		if b, ok := parseFallback(t); ok {
			pending = append(pending, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// parseFallback recognises "<0xNN>" (hex digits in either case).
func parseFallback(t string) (byte, bool) {
	if len(t) != 6 || t[:3] != "<0x" || t[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range []byte(t[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}
