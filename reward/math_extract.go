package reward

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Extraction rules, in the order the math verifier tries them (MATH_RULES.md
// §1). Within the boxed / "final answer … is" tier and within the last
// expression / last number tier the rightmost candidate wins, as in
// Math-Verify.
const (
	RuleAnswerTag   = "answer_tag"    // <answer>…</answer>
	RuleBoxed       = "boxed"         // \boxed{…} (several joined by , and or)
	RuleFinalAnswer = "final_answer"  // "final answer … is X"
	RuleAnswerColon = "answer_marker" // "Answer: X", "the answer is X"
	RuleHashes      = "hashes"        // "#### X"
	RuleWhole       = "whole"         // a one-line completion taken whole
	RuleLatex       = "last_latex"    // the last $…$, $$…$$, \(…\), \[…\]
	RuleNumber      = "last_number"   // the last number or a/b-style expression
	RuleNone        = "none"
)

// maxMathInput bounds the text the extractor reads; longer inputs are not
// scored (ExplainMath reports FailTooLong).
const maxMathInput = 1 << 20

// MathExtraction is what the math extractor found in a text.
type MathExtraction struct {
	Answer string   // the answer, several parts joined by ", "
	Parts  []string // the parts (one unless several boxes or spans were joined)
	Rule   string   // one of the Rule* constants
	start  int      // byte offsets of the matched span, for rightmost-wins ties
	end    int
	// why says, when Rule is RuleNone, why a present answer was not read.
	why string
}

// ExtractMath returns the final answer of a free-text completion following
// Math-Verify's priorities (MATH_RULES.md §1): an <answer> tag, then the
// rightmost \boxed group or "final answer … is", then "Answer:", then "####",
// then the rightmost LaTeX span or plain number. whole allows a short
// one-line completion that parses as math to be taken whole before the last
// span/number tier, and a one-line answer of words when nothing else is
// found.
func ExtractMath(text string, whole bool) MathExtraction {
	if len(text) > maxMathInput {
		return MathExtraction{Rule: RuleNone}
	}
	if ex, ok := answerTag(text); ok {
		return ex
	}
	best := MathExtraction{Rule: RuleNone, end: -1}
	if b, ok := lastBoxedGroup(text); ok {
		best = b
	}
	lower := asciiLower(text)
	if f, ok := finalAnswerIs(text, lower); ok && f.end > best.end {
		best = f
	}
	if best.Rule != RuleNone {
		return best
	}
	if a, ok := answerMarker(text, lower); ok {
		return a
	}
	if ex, ok := hashesAnswer(text); ok {
		return ex
	}
	if whole {
		if v, ok := wholeAnswer(text); ok && !strings.Contains(strings.ReplaceAll(v, `\$`, ""), "$") && parsesAsMath(v) {
			return single(v, RuleWhole, 0, len(text))
		}
	}
	ex := lastSpanOrNumber(text)
	if ex.Rule == RuleNone && whole {
		// A short line of words ("Paris", "\text{Evelyn}") is still the
		// answer when nothing else was found.
		if v, ok := wholeAnswer(text); ok {
			return single(v, RuleWhole, 0, len(text))
		}
	}
	return ex
}

// answerTag reads the last <answer>…</answer>: the same extraction inside
// it (the content never holds "</answer>", so this recurses once at most),
// else its trimmed text; an empty tag is no answer.
func answerTag(text string) (MathExtraction, bool) {
	if !strings.Contains(text, "<answer>") {
		return MathExtraction{}, false // skip the regexp on the common path
	}
	m := reAnswerTag.FindAllStringSubmatchIndex(text, -1)
	if m == nil {
		return MathExtraction{}, false
	}
	last := m[len(m)-1]
	inner := text[last[2]:last[3]]
	if strings.ContainsRune(inner, utf8.RuneError) {
		// U+FFFD stands for bytes that were not text (data.LossyUTF8): the
		// model's final answer is malformed output, and a number read out
		// of it ("104\uFFFD" → 104) would reward the malformation.
		return MathExtraction{Rule: RuleNone, why: "the <answer> holds U+FFFD (bytes that are not UTF-8 text)"}, true
	}
	ex := ExtractMath(inner, true)
	ex.start, ex.end = ex.start+last[2], ex.end+last[2] // offsets into text
	if ex.Rule == RuleNone {
		v := trimAnswer(inner)
		if v == "" {
			// The model closed its answer empty: that is its answer, and
			// no number in its reasoning stands in for it.
			return MathExtraction{Rule: RuleNone}, true
		}
		ex = single(v, RuleWhole, last[2], last[3])
	}
	ex.Rule = RuleAnswerTag + "/" + ex.Rule
	return ex, true
}

// hashesAnswer reads the last GSM8K-style "#### X".
func hashesAnswer(text string) (MathExtraction, bool) {
	if !strings.Contains(text, "####") {
		return MathExtraction{}, false
	}
	m := reHashes.FindAllStringSubmatchIndex(text, -1)
	if m == nil {
		return MathExtraction{}, false
	}
	l := m[len(m)-1]
	v := trimAnswer(text[l[2]:l[3]])
	return single(v, RuleHashes, l[2], l[3]), v != ""
}

func single(v, rule string, start, end int) MathExtraction {
	return MathExtraction{Answer: v, Parts: []string{v}, Rule: rule, start: start, end: end}
}

func joined(parts []string, rule string, start, end int) MathExtraction {
	return MathExtraction{Answer: strings.Join(parts, ", "), Parts: parts, Rule: rule, start: start, end: end}
}

// lastSpanOrNumber is Math-Verify's lowest tier: the last LaTeX group and
// the last plain number compete, and the one ending further right wins.
func lastSpanOrNumber(text string) MathExtraction {
	best := MathExtraction{Rule: RuleNone, end: -1}
	if g, ok := lastLatexGroup(text, 0); ok {
		best = g
	}
	if n, ok := lastPlainNumber(text); ok && n.end > best.end {
		best = n
	}
	return best
}

// span is one LaTeX math span: [start,end) including delimiters and
// [in0,in1) its content.
type span struct{ start, end, in0, in1 int }

// latexSpans finds $$…$$ and \[…\] (multi-line) and $…$ and \(…\) (one
// line) left to right, skipping escaped dollars.
func latexSpans(s string) []span {
	var out []span
	// failed[k] is a position from which closer k is known to be absent (to
	// the end for display math, to failedEOL[k] for inline math), so a run
	// of unclosed openers costs linear, not quadratic, time.
	closers := [4]string{`\]`, `\)`, "$$", "$"}
	failed := [4]int{-1, -1, -1, -1}
	var failedEOL [4]int
	find := func(from, k int) int {
		oneLine := k == 1 || k == 3
		if f := failed[k]; f >= 0 && from >= f && (!oneLine || from < failedEOL[k]) {
			return -1
		}
		j := closeAt(s, from, closers[k], oneLine)
		if j < 0 {
			failed[k] = from
			failedEOL[k] = len(s)
			if oneLine {
				if e := strings.IndexByte(s[from:], '\n'); e >= 0 {
					failedEOL[k] = from + e
				}
			}
		}
		return j
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '[' || s[i+1] == '('):
			k := 0
			if s[i+1] == '(' {
				k = 1
			}
			if j := find(i+2, k); j >= 0 {
				out = append(out, span{i, j + 2, i + 2, j})
				i = j + 2
				continue
			}
			i += 2
		case c == '\\':
			i += 2
		case c == '$' && i+1 < len(s) && s[i+1] == '$':
			if j := find(i+2, 2); j >= 0 {
				out = append(out, span{i, j + 2, i + 2, j})
				i = j + 2
				continue
			}
			i += 2
		case c == '$':
			if j := find(i+1, 3); j > i+1 {
				out = append(out, span{i, j + 1, i + 1, j})
				i = j + 1
				continue
			}
			i++
		default:
			i++
		}
	}
	return out
}

// closeAt returns the index of the first unescaped closer at or after i
// (-1 if none, or if oneLine and a newline comes first).
func closeAt(s string, i int, closer string, oneLine bool) int {
	if !oneLine {
		// Display math: jump between candidate closers; a "$$" right after
		// a backslash is an escaped dollar.
		for j := i; j < len(s); {
			k := strings.Index(s[j:], closer)
			if k < 0 {
				return -1
			}
			j += k
			if closer == "$$" && j > 0 && s[j-1] == '\\' {
				j++
				continue
			}
			return j
		}
		return -1
	}
	for j := i; j < len(s); j++ {
		if s[j] == '\n' {
			return -1
		}
		if closer == "$" && s[j] == '\\' {
			j++ // \$ is a literal dollar
			continue
		}
		if strings.HasPrefix(s[j:], closer) {
			return j
		}
	}
	return -1
}

var (
	reJoiner     = regexp.MustCompile(`^\s*(?:\\q?quad\s*)*(?:,?\s*(?:and|or)|,|;|\\text\{\s*(?:and|or)\s*\})\s*(?:\\q?quad\s*)*$`)
	rePercentSfx = regexp.MustCompile(`^\s*(?:\\?%|[Pp]ercentage|[Pp]ercent|[Pp]ct)\b?`)
)

// lastLatexGroup returns the last LaTeX span, joined with the spans before
// it that are separated only by ",", "and" or "or" (at most 6, as in
// Math-Verify); a percent word right after a span makes it a percentage.
func lastLatexGroup(text string, from int) (MathExtraction, bool) {
	spans := latexSpans(text[from:])
	if len(spans) == 0 {
		return MathExtraction{}, false
	}
	k := len(spans) - 1
	first := k
	for first > 0 && k-first < 5 && reJoiner.MatchString(text[from+spans[first-1].end:from+spans[first].start]) {
		first--
	}
	var parts []string
	for _, sp := range spans[first:] {
		p := strings.TrimSpace(text[from+sp.in0 : from+sp.in1])
		if m := rePercentSfx.FindString(text[from+sp.end:]); m != "" && !strings.HasSuffix(p, `%`) {
			p += `\%`
		}
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return MathExtraction{}, false
	}
	return joined(parts, RuleLatex, from+spans[first].start, from+spans[k].end), true
}

var reIsAfter = regexp.MustCompile(`^(?s:.{0,100}?)\s+is:?\s*`)

// asciiLower lowers ASCII letters only, so byte offsets stay valid; the
// markers are searched in it with strings.LastIndex instead of a
// case-insensitive regexp over the whole completion (the hot path).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// finalAnswerIs handles "Final Answer: The final answer is $X$. I hope it is
// correct." and "the final answer to … is X".
func finalAnswerIs(text, lower string) (MathExtraction, bool) {
	for end := len(lower); ; {
		k := strings.LastIndex(lower[:end], "final answer")
		if k < 0 {
			break
		}
		end = k
		at := k + len("final answer")
		m := reIsAfter.FindStringIndex(text[at:])
		if m == nil {
			continue
		}
		rest := at + m[1]
		if ex, ok := answerAt(text, rest, RuleFinalAnswer, true); ok {
			return ex, true
		}
	}
	return MathExtraction{}, false
}

// answerAt reads an answer starting at offset i: a LaTeX group starting
// there (or a \boxed), else the rest of the line.
func answerAt(text string, i int, rule string, strict bool) (MathExtraction, bool) {
	// Bounds keep a completion full of markers linear: an answer is read
	// from at most 64 KiB after its marker, a prose line from 1000 bytes.
	rest := text[i:min(len(text), i+64<<10)]
	line := rest
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	if len(line) > 1000 {
		line = line[:1000]
	}
	trimmed := strings.TrimLeft(line, " \t*\"")
	if strings.HasPrefix(trimmed, "$") || strings.HasPrefix(trimmed, `\(`) || strings.HasPrefix(trimmed, `\[`) {
		sps := latexSpans(rest)
		if len(sps) > 0 && strings.TrimLeft(rest[:sps[0].start], " \t*\"") == "" {
			parts := []string{strings.TrimSpace(rest[sps[0].in0:sps[0].in1])}
			end := sps[0].end
			for k := 1; k < len(sps) && k < 6 && reJoiner.MatchString(rest[sps[k-1].end:sps[k].start]); k++ {
				parts = append(parts, strings.TrimSpace(rest[sps[k].in0:sps[k].in1]))
				end = sps[k].end
			}
			if m := rePercentSfx.FindString(rest[end:]); m != "" {
				parts[len(parts)-1] += `\%`
			}
			return joined(parts, rule, i, i+end), true
		}
	}
	line = strings.TrimSuffix(strings.TrimSpace(line), "I hope it is correct.")
	if k := strings.Index(line, ". I hope"); k >= 0 {
		line = line[:k]
	}
	v := trimAnswer(line)
	if v == "" {
		return MathExtraction{}, false
	}
	if parsesAsMath(v) {
		return single(v, rule, i, i+len(line)), true
	}
	// Prose after the marker ("Final Answer: Jane started 3 hours ago"):
	// Math-Verify takes a LaTeX span or number within 50 characters, or the
	// number after the last "=" within 100.
	if ex, ok := nearAnswer(text, i, rule); ok {
		return ex, true
	}
	return single(v, rule, i, i+len(line)), !strict
}

// nearAnswer finds, after an answer marker at i, a LaTeX span starting
// within 50 bytes, else the number after the last "=" within 100 bytes,
// else the first number within 50 bytes.
func nearAnswer(text string, i int, rule string) (MathExtraction, bool) {
	win := text[i:min(len(text), i+100)]
	if j := strings.IndexByte(win, '\n'); j >= 0 {
		win = win[:j]
	}
	for _, sp := range latexSpans(text[i:min(len(text), i+400)]) {
		if sp.start <= 50 {
			return single(strings.TrimSpace(text[i+sp.in0:i+sp.in1]), rule, i+sp.start, i+sp.end), true
		}
		break
	}
	from := 0
	if k := strings.LastIndexByte(win, '='); k >= 0 {
		from = k + 1
	}
	seg := " " + win[from:]
	m := rePlainNumber.FindStringSubmatchIndex(seg)
	if m == nil || from == 0 && m[2] > 51 {
		return MathExtraction{}, false
	}
	v := plainNumber(seg[m[2]:m[3]])
	if m[4] >= 0 {
		v += `\%`
	}
	return single(v, rule, i+from+m[2]-1, i+from+m[3]-1), true
}

var reAnswerWord = regexp.MustCompile(`^answer\b\**\s*(?:is\b|:)\s*:?`)

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

// answerMarker handles "Answer: X", "**Answer:** X" and "the answer is X":
// the last marker followed by an answer.
func answerMarker(text, lower string) (MathExtraction, bool) {
	for end := len(lower); ; {
		k := strings.LastIndex(lower[:end], "answer")
		if k < 0 {
			break
		}
		end = k
		if k > 0 && isWordByte(lower[k-1]) {
			continue
		}
		m := reAnswerWord.FindStringIndex(lower[k:min(len(lower), k+40)])
		if m == nil || m[0] != 0 {
			continue
		}
		at := k + m[1]
		if ex, ok := answerAt(text, at, RuleAnswerColon, false); ok {
			return ex, true
		}
	}
	return MathExtraction{}, false
}

// parsesAsMath reports whether s, cleaned, is an expression the engine
// reads (so a short line of prose is not taken whole as an answer).
func parsesAsMath(s string) bool {
	c := clean(s)
	if c.s == "" || hasWord(c.s) {
		return false
	}
	_, err := parseExpr(c.s)
	return err == nil
}
