package hftok

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of tokenizer.json's added_tokens.
type addedToken struct {
	id         int32
	content    string
	singleWord bool
	lstrip     bool
	rstrip     bool
	normalized bool
	special    bool
}

// matcher finds added tokens in text with leftmost-longest semantics, the
// aho-corasick MatchKind the Rust AddedVocabulary uses: the earliest start
// wins, then the longest pattern there; the scan resumes after the match.
type matcher struct {
	byFirst [256][]pattern // longest first
	n       int
}

type pattern struct {
	text string
	tok  *addedToken
}

func newMatcher(pats []pattern) *matcher {
	m := &matcher{}
	for _, p := range pats {
		if p.text == "" {
			continue
		}
		m.byFirst[p.text[0]] = append(m.byFirst[p.text[0]], p)
		m.n++
	}
	for i := range m.byFirst {
		l := m.byFirst[i]
		sort.SliceStable(l, func(a, b int) bool { return len(l[a].text) > len(l[b].text) })
	}
	return m
}

func (m *matcher) empty() bool { return m.n == 0 }

// find returns the leftmost-longest match at or after from: its token,
// start and end, or a nil token.
func (m *matcher) find(s string, from int) (*addedToken, int, int) {
	for i := from; i < len(s); i++ {
		for _, p := range m.byFirst[s[i]] {
			if strings.HasPrefix(s[i:], p.text) {
				return p.tok, i, i + len(p.text)
			}
		}
	}
	return nil, -1, -1
}

// segment is a piece of the input: an added token (tok != nil) or text
// still to be normalized and tokenized by the model.
type segment struct {
	tok  *addedToken
	text string
}

// split cuts s at the added tokens m finds, honouring single_word, lstrip
// and rstrip as the Rust find_matches does; whitespace absorbed by
// lstrip/rstrip disappears from the text.
func (m *matcher) split(s string, emit func(segment)) {
	if m.empty() {
		emit(segment{text: s})
		return
	}
	done := 0
	for pos := 0; pos < len(s); {
		t, start, stop := m.find(s, pos)
		if t == nil {
			break
		}
		pos = stop
		if t.singleWord && (endsWithWord(s[:start]) || startsWithWord(s[stop:])) {
			continue
		}
		if t.lstrip {
			start = trimRightSpace(s[:start])
		}
		// A match inside whitespace an rstrip already took starts after it.
		start = max(start, done)
		if t.rstrip {
			stop += len(s[stop:]) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
		}
		if done < start {
			emit(segment{text: s[done:start]})
		}
		emit(segment{tok: t})
		done = stop
	}
	if done < len(s) {
		emit(segment{text: s[done:]})
	}
}

// isWordChar approximates the regex crate's Unicode \w (Alphabetic, marks,
// decimal digits, connector punctuation, joiners), which single_word uses.
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.IsMark(r) ||
		unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordChar(r)
}

func trimRightSpace(s string) int { return len(strings.TrimRightFunc(s, unicode.IsSpace)) }
