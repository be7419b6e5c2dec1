package reward

import (
	"regexp"
	"strings"
)

// lastBoxed returns the content of the last \boxed{…} or \fbox{…} in s
// (nested braces balanced; the innermost when boxes nest); `\boxed 5`
// (no braces) yields the text up to the next space, '$' or end of line.
// It runs in linear time (boxedHits).
func lastBoxed(s string) (string, bool) {
	if !strings.Contains(s, `\boxed`) && !strings.Contains(s, `\fbox`) {
		return "", false
	}
	if hits := boxedHits(s); len(hits) > 0 {
		h := hits[len(hits)-1]
		return strings.TrimSpace(s[h.in0:h.in1]), true
	}
	if i := strings.LastIndex(s, `\boxed `); i >= 0 {
		return boxedAt(s[i+len(`\boxed`):])
	}
	return "", false
}

// boxedAt parses the argument following a \boxed command.
func boxedAt(s string) (string, bool) {
	if strings.HasPrefix(s, " ") {
		t := strings.TrimLeft(s, " ")
		end := strings.IndexAny(t, "$\n ")
		if end < 0 {
			end = len(t)
		}
		v := strings.TrimSpace(t[:end])
		return v, v != ""
	}
	if !strings.HasPrefix(s, "{") {
		return "", false
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip escaped char, e.g. \{ inside a set
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return strings.TrimSpace(s[1:i]), true
			}
		}
	}
	return "", false
}

var (
	reAnswerTag = regexp.MustCompile(`(?s)<answer>(.*?)</answer>`)
	reAnswerIs  = regexp.MustCompile(`(?i)(?:final answer|the answer|answer)\s*(?:is|:)\s*:?\s*`)
	reHashes    = regexp.MustCompile(`####\s*([^\n]*)`)
)

// ExtractAnswer returns the final answer in a completion, trying in order:
// the last <answer>…</answer> (and a \boxed inside it), the last \boxed{…}
// (\fbox fallback), the last "the answer is …" / "Answer: …", and the last
// "#### …". It returns false when none is present.
func ExtractAnswer(text string) (string, bool) {
	if m := reAnswerTag.FindAllStringSubmatch(text, -1); m != nil {
		inner := m[len(m)-1][1]
		if b, ok := lastBoxed(inner); ok {
			return b, true
		}
		if v, ok := answerIs(inner); ok {
			return v, true
		}
		return trimAnswer(inner), strings.TrimSpace(inner) != ""
	}
	if b, ok := lastBoxed(text); ok {
		return b, true
	}
	if v, ok := answerIs(text); ok {
		return v, true
	}
	if m := reHashes.FindAllStringSubmatch(text, -1); m != nil {
		v := trimAnswer(m[len(m)-1][1])
		return v, v != ""
	}
	return "", false
}

func answerIs(text string) (string, bool) {
	locs := reAnswerIs.FindAllStringIndex(text, -1)
	if locs == nil {
		return "", false
	}
	rest := text[locs[len(locs)-1][1]:]
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	v := trimAnswer(rest)
	return v, v != ""
}

// trimAnswer strips markdown emphasis, math delimiters and sentence
// punctuation around an answer.
func trimAnswer(s string) string {
	s = strings.TrimSpace(s)
	for {
		t := strings.TrimSpace(strings.Trim(s, "*_"))
		t = strings.TrimSuffix(t, ".")
		if strings.HasPrefix(t, "$") && strings.HasSuffix(t, "$") && len(t) >= 2 {
			t = strings.Trim(t, "$")
		}
		t = stripDelims(strings.TrimSpace(t))
		if t == s {
			return s
		}
		s = t
	}
}

var reChoice = regexp.MustCompile(`^(?:\(([A-Ea-e])\)|([A-E]))[.:]?$`)

// choiceLetter returns the upper-case letter of a multiple-choice answer
// written as A, (A), A., \text{(A)} or \textbf{(A)}.
func choiceLetter(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for {
		m := reWrapText.FindStringSubmatch(s)
		if m == nil {
			break
		}
		s = strings.TrimSpace(m[1])
	}
	m := reChoice.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return strings.ToUpper(m[1] + m[2]), true
}
