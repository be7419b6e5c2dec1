package reward

import (
	"regexp"
	"sort"
	"strings"
)

// boxedHit is one \boxed{…} (or \fbox{…}) with its content offsets.
type boxedHit struct{ start, end, in0, in1 int }

// boxedHits finds every braced \boxed and \fbox in one left-to-right pass
// with a stack of open braces, so nested or unbalanced input costs linear
// time (the naive "scan to the matching brace from each \boxed" is
// quadratic on `\boxed{\boxed{…`).
func boxedHits(s string) []boxedHit {
	type open struct {
		brace int // index of '{'
		cmd   int // index of the \boxed owning it, or -1
	}
	var stack []open
	var hits []boxedHit
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+2 < len(s) && s[i+1] == '\\' && isLetter(s[i+2]) {
				continue // \\boxed written with a doubled backslash
			}
			cmd := -1
			n := 0
			switch {
			case strings.HasPrefix(s[i:], `\boxed`):
				cmd, n = i, len(`\boxed`)
			case strings.HasPrefix(s[i:], `\fbox`):
				cmd, n = i, len(`\fbox`)
			}
			if cmd >= 0 {
				j := i + n
				for j < len(s) && s[j] == ' ' {
					j++
				}
				if j < len(s) && s[j] == '{' {
					stack = append(stack, open{j, cmd})
					i = j
				}
				continue
			}
			i++ // \{ and \} are set braces, not groups
		case '{':
			stack = append(stack, open{i, -1})
		case '}':
			if len(stack) == 0 {
				continue
			}
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if o.cmd >= 0 {
				hits = append(hits, boxedHit{o.cmd, i + 1, o.brace + 1, i})
			}
		}
	}
	// Hits close inner-first; order by start so "last" means rightmost.
	sortHits(hits)
	return hits
}

func sortHits(h []boxedHit) {
	sort.Slice(h, func(i, j int) bool { return h[i].start < h[j].start })
}

// reBoxSep is a separator that lets two nearby boxes form one answer.
var reBoxSep = regexp.MustCompile(`\b(?:and|or)\b|,|;`)

// lastBoxedGroup returns the boxed answer (MATH_RULES.md §1–2), following
// latex2sympy2_extended's box extraction as Math-Verify applies it:
//   - when the last box sits in a LaTeX span that ends after the last '}'
//     of the text, every box of that span is taken, together with the boxes
//     of spans joined to it by "," "and" "or" (Math-Verify's boxed
//     environment pattern, normalised with boxed="all");
//   - otherwise, from the last box leftwards, a box joins when the text
//     between it and the next is under 10 bytes, or under 70 bytes with a
//     separator (and, or, comma, semicolon) and a different content
//     (boxed="last"). Repeated neighbouring contents count once.
//
// \boxed 5 without braces is a fallback.
func lastBoxedGroup(text string) (MathExtraction, bool) {
	hits := outermost(boxedHits(text))
	if len(hits) == 0 {
		if i := strings.LastIndex(text, `\boxed `); i >= 0 {
			if v, ok := boxedAt(text[i+len(`\boxed`):]); ok {
				return single(v, RuleBoxed, i, len(text)), true
			}
		}
		return MathExtraction{}, false
	}
	k := len(hits) - 1
	if ex, ok := boxedInSpans(text, hits); ok {
		return ex, true
	}
	content := func(h boxedHit) string { return strings.TrimSpace(text[h.in0:h.in1]) }
	parts := []string{content(hits[k])}
	first := k
	for i := k - 1; i >= 0; i-- {
		gap := text[hits[i].end:hits[i+1].start]
		c := content(hits[i])
		if !(len(gap) < 10 || c != parts[0] && len(gap) < 70 && reBoxSep.MatchString(gap)) {
			break
		}
		if c != parts[0] {
			parts = append([]string{c}, parts...)
		}
		first = i
	}
	return boxedParts(parts, hits[first].start, hits[k].end)
}

// boxedInSpans applies the span rule of lastBoxedGroup.
func boxedInSpans(text string, hits []boxedHit) (MathExtraction, bool) {
	last := hits[len(hits)-1]
	spans := latexSpans(text)
	j := -1
	for i := len(spans) - 1; i >= 0; i-- {
		if spans[i].in0 <= last.start && last.end <= spans[i].in1 {
			j = i
			break
		}
	}
	if j < 0 || spans[j].end <= strings.LastIndexByte(text, '}') {
		return MathExtraction{}, false
	}
	first := j
	for first > 0 && j-first < 5 && reJoiner.MatchString(text[spans[first-1].end:spans[first].start]) &&
		hasHitIn(hits, spans[first-1]) {
		first--
	}
	var parts []string
	for _, h := range hits {
		if h.start >= spans[first].in0 && h.end <= spans[j].in1 {
			if c := strings.TrimSpace(text[h.in0:h.in1]); len(parts) == 0 || parts[len(parts)-1] != c {
				parts = append(parts, c)
			}
		}
	}
	return boxedParts(parts, spans[first].start, spans[j].end)
}

func hasHitIn(hits []boxedHit, sp span) bool {
	for _, h := range hits {
		if h.start >= sp.in0 && h.end <= sp.in1 {
			return true
		}
	}
	return false
}

func boxedParts(parts []string, start, end int) (MathExtraction, bool) {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return MathExtraction{}, false
	}
	return joined(out, RuleBoxed, start, end), true
}

// outermost drops boxes nested inside other boxes.
func outermost(h []boxedHit) []boxedHit {
	var out []boxedHit
	for _, x := range h {
		if n := len(out); n > 0 && x.start < out[n-1].end {
			continue
		}
		out = append(out, x)
	}
	return out
}

// Plain-text numbers, as Math-Verify's expression extractor reads them
// (MATH_RULES.md §6): thousands groups "1,234" / "1 234", a decimal point
// or comma "1000,99", ".5", an optional currency sign before and a percent
// word after. The prefix keeps "XDY2K" from yielding 2.
var (
	rePlainNumber = regexp.MustCompile(`(?:^|[\s=(*:,;])\**(?:\\?[$]|[€£¥₹])?(-?[1-9]\d{0,2}(?:[ ,]\d{3})+(?:\.\d+)?|-?\d+(?:[.,]\d+)?|-?\.\d+)(\s*(?:%|[Pp]ercentage|[Pp]ercent|[Pp]ct)\b?)?`)
	rePlainExpr   = regexp.MustCompile(`(?:^|[\s=*])\**(-?\(?-?\d[\d.\s+\-*/^()×÷]*[+\-*/^×÷][\d.\s+\-*/^()×÷]*[\d)])(?:\**)(?:[.,:\s)$]|$)`)
)

// lastPlainNumber returns the rightmost plain number or a/b-style
// expression, normalised: separators removed, a decimal comma read as a
// point, a percent word kept as \%.
func lastPlainNumber(text string) (MathExtraction, bool) {
	// Search a growing tail window: the rightmost match almost always lies
	// in the last few hundred bytes, and a window starting just after a
	// space anchors the regexps exactly as the full text would.
	last := strings.LastIndexAny(text, "0123456789")
	if last < 0 {
		return MathExtraction{}, false
	}
	for w := 64; ; w *= 4 {
		from := 0
		if last > w {
			from = last - w
			if k := strings.IndexAny(text[from:], " \n\t"); k >= 0 {
				from += k
			} else {
				continue
			}
		}
		if ex, ok := lastPlainNumberIn(text, from); ok || from == 0 {
			// Nothing after the last digit can start a number, so a match
			// in [from, end) is the rightmost of the whole text.
			return ex, ok
		}
	}
}

func lastPlainNumberIn(text string, from int) (MathExtraction, bool) {
	seg := text[from:]
	best := MathExtraction{end: -1}
	if m := rePlainNumber.FindAllStringSubmatchIndex(seg, -1); m != nil {
		l := m[len(m)-1]
		v := plainNumber(seg[l[2]:l[3]])
		if l[4] >= 0 {
			v += `\%`
		}
		best = single(v, RuleNumber, from+l[2], from+l[3])
	}
	// An expression that ends at or after the last number contains it, so
	// the expression regexp only needs the text from shortly before it.
	exFrom := from
	if best.end >= 0 && best.start-160 > from {
		exFrom = best.start - 160
		if k := strings.IndexAny(text[exFrom:], " \n\t"); k >= 0 && exFrom+k < best.start {
			exFrom += k
		}
	}
	if exFrom < len(text) && strings.ContainsAny(text[exFrom:], "+-*/^×÷") {
		eseg := text[exFrom:]
		if m := rePlainExpr.FindAllStringSubmatchIndex(eseg, -1); m != nil {
			l := m[len(m)-1]
			if exFrom+l[3] >= best.end {
				best = single(strings.TrimSpace(eseg[l[2]:l[3]]), RuleNumber, exFrom+l[2], exFrom+l[3])
			}
		}
	}
	return best, best.end >= 0
}

var reThreeGroups = regexp.MustCompile(`^-?[1-9]\d{0,2}(?:[ ,]\d{3})+(?:\.\d+)?$`)

// plainNumber normalises a matched number: "1,234" and "1 234" lose their
// separators; "1000,99" and "0,5" use a decimal comma.
func plainNumber(s string) string {
	if reThreeGroups.MatchString(s) {
		return strings.NewReplacer(",", "", " ", "").Replace(s)
	}
	return strings.Replace(s, ",", ".", 1)
}
