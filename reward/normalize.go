package reward

import (
	"regexp"
	"strings"
)

// cleaned is an answer with presentation removed but spacing kept (the
// parser needs spaces to split \pi x), and the percent/degree marks noted.
type cleaned struct {
	s       string
	percent bool
	degree  bool
}

var unicodeMath = strings.NewReplacer(
	"\u2212", "-", "\u2013", "-", "\u00d7", `\times `, "\u00b7", `\cdot `, "\u00f7", `\div `,
	"\u03c0", `\pi `, "\u221e", `\infty `, "\u221a", `\sqrt`, "\u2264", `\le `, "\u2265", `\ge `,
	"\u2260", `\ne `, "\u00b0", `^\circ`, "\u222a", `\cup `, "\u00bd", `\frac{1}{2}`,
	"\u2009", " ", "\u00a0", " ", "\u00b2", "^2", "\u00b3", "^3",
	"€", "", "£", "", "¥", "", "₹", "", // currency signs carry no value
)

var spacing = strings.NewReplacer(
	`\\`, `\\`, `\left`, "", `\right`, "", `\!`, "", `\,`, "", `\;`, " ", `\:`, " ", `\ `, " ", "~", " ",
	`\displaystyle`, "", `\dfrac`, `\frac`, `\tfrac`, `\frac`, `\cfrac`, `\frac`,
	`\dbinom`, `\binom`, `\tbinom`, `\binom`, `\$`, "", "$", "", `{,}`, ",",
	`\textstyle`, "", `\bigl`, "", `\bigr`, "", `\Bigl`, "", `\Bigr`, "",
)

var (
	reDegree    = regexp.MustCompile(`\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree|\^\{\\text\{o\}\}`)
	rePercent   = regexp.MustCompile(`\\%|%|\s*\\text\{\s*(?:percent|percentage|pct)\s*\}|\s*(?:percentage|percent|pct)$`)
	reTextUnit  = regexp.MustCompile(`^(.*[^\s])\s*\\(?:text|mbox|textnormal|mathrm|textbf|textit|textrm|mathit)\{\s*[A-Za-z][A-Za-z\s.]*\}(\s*\^\s*\{?[23]\}?)?$`)
	reWordUnit  = regexp.MustCompile(`^(.*[0-9}.)])\s*(?:units?|square|sq\.?|cubic|cm|mm|km|meters?|metres?|inch(?:es)?|feet|foot|ft|yards?|miles?|mph|hours?|hrs?|minutes?|mins?|seconds?|secs?|days?|weeks?|months?|years?|dollars?|cents?|degrees?|grams?|kg|pounds?|lbs?|ounces?|oz|liters?|litres?|ml|people|students|cups?|pages?|points?|ways?)(?:\s*\^\s*\{?[23]\}?|\s*(?:units?|feet|inches|meters|cm))?\.?$`)
	reSciE      = regexp.MustCompile(`(\d)[eE]([+-]?\d+)\b`)
	reThousands = regexp.MustCompile(`^-?\d{1,3}(,\d{3})+(\.\d+)?$`)
	// 11,\! 111,\! 100 and 1{,}000: LaTeX thousands groups.
	reThinThousands = regexp.MustCompile(`(\d)\s*(?:,\\!|\{\s*,\s*\})\s*(\d{3})`)
	// A decimal comma where a list reading is implausible: 0,111 or
	// 1000,99 (four or more integer digits), as latex2sympy reads them.
	// "inf" and "infinity" written out (latex2sympy2_extended reads both).
	rePlainInf       = regexp.MustCompile(`(^|[^\\A-Za-z])(inf|infinity)([^A-Za-z]|$)`)
	reSpaceThousands = regexp.MustCompile(`^-?[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?$`)
	reDecimalComma   = regexp.MustCompile(`^-?(?:0|\d{4,}),\d+$`)
	reInPrefix       = regexp.MustCompile(`^[A-Za-z]\s*\\in\s*`)
	reWrapText       = regexp.MustCompile(`^\\(?:text|textbf|mathrm|mathbf|textit|mbox|textrm)\{(.*)\}$`)
	reAnd            = regexp.MustCompile(`\s+(?:and|or)\s+|\\text\{\s*(?:and|or)\s*\}|\)\s*(?:and|or)\s*\(`)
	// A doubled backslash before a command (\\frac) is a single one outside
	// matrices (latex2sympy2_extended's command_slash_fix).
	reDoubleSlash = regexp.MustCompile(`\\\\([A-Za-z])`)
)

// clean removes presentation from an answer: math delimiters, \boxed,
// sizing and spacing commands, dollar signs, units, degree and percent
// marks, thousands separators and a trailing period.
func clean(s string) cleaned {
	s = strings.TrimSpace(s)
	if b, ok := lastBoxed(s); ok {
		s = b
	}
	s = unicodeMath.Replace(s)
	if strings.Contains(s, `\\`) && !strings.Contains(s, "matrix") && !strings.Contains(s, "array") {
		s = reDoubleSlash.ReplaceAllString(s, `\$1`)
	}
	s = stripDelims(s)
	if strings.Contains(s, `,\!`) || strings.Contains(s, ",") && strings.Contains(s, "{") {
		s = reThinThousands.ReplaceAllString(s, "$1$2")
		s = reThinThousands.ReplaceAllString(s, "$1$2")
	}
	s = spacing.Replace(s)
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "**", "^")
	// The regexps below run only when a cheap test says they can match:
	// clean is on the per-row hot path.
	letters := hasLetter(s)
	if letters && hasSciE(s) {
		s = reSciE.ReplaceAllString(s, `$1\times 10^{$2}`)
	}
	if letters && strings.Contains(s, "inf") {
		s = rePlainInf.ReplaceAllString(s, `$1\infty $3`)
	}
	for i := 0; letters && i < 3 && mayHavePlainFunc(s) && rePlainFunc.MatchString(s); i++ {
		s = rePlainFunc.ReplaceAllString(s, `$1\$2 $3`)
	}
	s = fixShortArgs(s)
	var c cleaned
	if letters && (strings.Contains(s, "circ") || strings.Contains(s, "degree") || strings.Contains(s, `{o}`)) && reDegree.MatchString(s) {
		c.degree = true
		s = reDegree.ReplaceAllString(s, "")
	}
	if (strings.Contains(s, "%") || strings.Contains(s, "percent") || strings.Contains(s, "pct")) && rePercent.MatchString(s) {
		c.percent = true
		s = rePercent.ReplaceAllString(s, "")
	}
	s = strings.TrimSpace(s)
	for i := 0; i < 3; i++ {
		t := strings.TrimSpace(strings.TrimRight(s, ".,;"))
		if !hasLetter(t) {
			s = t
			break
		}
		t = strings.TrimSuffix(t, `\text{.}`)
		if strings.HasSuffix(t, "}") || strings.Contains(t, "}^") {
			if m := reTextUnit.FindStringSubmatch(t); m != nil && !reWrapText.MatchString(t) {
				t = m[1]
			}
		}
		if unitTail(t) {
			if m := reWordUnit.FindStringSubmatch(t); m != nil {
				t = m[1]
			}
		}
		t = strings.TrimSpace(t)
		if t == s {
			break
		}
		s = t
	}
	if letters && strings.Contains(s, `\in`) {
		s = reInPrefix.ReplaceAllString(s, "")
	}
	if letters && (strings.Contains(s, "and") || strings.Contains(s, "or")) {
		s = reAnd.ReplaceAllStringFunc(s, func(m string) string {
			if strings.HasPrefix(m, ")") {
				return "), ("
			}
			return ", "
		})
	}
	if reSpaceThousands.MatchString(s) {
		s = strings.ReplaceAll(s, " ", "")
	}
	if reDecimalComma.MatchString(s) {
		s = strings.Replace(s, ",", ".", 1)
	} else if reThousands.MatchString(s) {
		s = strings.ReplaceAll(s, ",", "")
	}
	c.s = strings.TrimSpace(s)
	return c
}

// stripDelims removes one layer of $…$, \(…\) or \[…\] around s.
func stripDelims(s string) string {
	for _, d := range [][2]string{{`\(`, `\)`}, {`\[`, `\]`}} {
		if strings.HasPrefix(s, d[0]) && strings.HasSuffix(s, d[1]) && len(s) >= 4 {
			s = s[2 : len(s)-2]
		}
	}
	return strings.TrimSpace(s)
}

var (
	reFracShort = regexp.MustCompile(`\\frac\s*(\d)\s*(\d)`)
	reFracHalf1 = regexp.MustCompile(`\\frac\s*(\d)\s*\{`)
	reFracHalf2 = regexp.MustCompile(`\\frac\{([^{}]*)\}\s*(\d)`)
	reSqrtShort = regexp.MustCompile(`\\sqrt\s*(\d|[a-z])`)
	rePlainFunc = regexp.MustCompile(`(^|[^\\A-Za-z])(sqrt|pi|infty|sin|cos|tan|ln|log)([^A-Za-z]|$)`)
	reIntSlash  = regexp.MustCompile(`^(-?\d+)/(\d+)$`)
	reTrailZero = regexp.MustCompile(`^(-?\d+)\.0*$|^(-?\d+\.\d*?[1-9])0+$`)
	reLeadZero  = regexp.MustCompile(`^(-?)0+(\d)`)
	reEqPrefix  = regexp.MustCompile(`^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*`)
)

// NormalizeAnswer returns the canonical string form of a math answer in the
// style of Hendrycks et al.'s MATH normalization, extended: delimiters,
// \boxed, \left/\right, spacing, \text units, percent and degree marks,
// dfrac/tfrac, thousands separators and a single-variable `x =` prefix are
// removed; \frac12 becomes \frac{1}{2}, a/b becomes \frac{a}{b}, 0.5 becomes
// \frac{1}{2}, trailing zeros after a decimal point and leading zeros are
// dropped, and spaces are removed. Two answers with equal normal forms are
// equal; the converse needs MathEqual.
func NormalizeAnswer(s string) string {
	return canonical(clean(s).s)
}

// fixShortArgs braces single-character arguments: \frac12 → \frac{1}{2},
// \sqrt3 → \sqrt{3}.
func fixShortArgs(s string) string {
	if !strings.Contains(s, `\frac`) && !strings.Contains(s, `\sqrt`) {
		return s
	}
	s = reFracShort.ReplaceAllString(s, `\frac{$1}{$2}`)
	s = reFracHalf1.ReplaceAllString(s, `\frac{$1}{`)
	s = reFracHalf2.ReplaceAllString(s, `\frac{$1}{$2}`)
	return reSqrtShort.ReplaceAllString(s, `\sqrt{$1}`)
}

func canonical(s string) string {
	if !hasLetter(s) {
		s = strings.Join(strings.Fields(s), "")
		return canonicalNumber(s)
	}
	if m := reWrapText.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	s = reEqPrefix.ReplaceAllString(s, "")
	s = strings.Join(strings.Fields(s), "")
	s = fixShortArgs(s)
	return canonicalNumber(s)
}

// canonicalNumber normalises a/b, trailing and leading zeros and 0.5.
func canonicalNumber(s string) string {
	if !strings.Contains(s, "/") {
		// no a/b to rewrite
	} else if m := reIntSlash.FindStringSubmatch(s); m != nil {
		s = `\frac{` + m[1] + `}{` + m[2] + `}`
	}
	if strings.Contains(s, ".") {
		if m := reTrailZero.FindStringSubmatch(s); m != nil {
			s = m[1] + m[2]
		}
	}
	if strings.HasPrefix(s, "0") || strings.HasPrefix(s, "-0") {
		s = reLeadZero.ReplaceAllString(s, "$1$2")
	}
	if s == "0.5" || s == ".5" {
		s = `\frac{1}{2}`
	}
	return s
}

// hasLetter reports whether s contains an ASCII letter (and so may hold a
// command, unit or word the regexps look for).
func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

// hasSciE reports whether s has a digit followed by e or E (1.5e3).
func hasSciE(s string) bool {
	for i := 1; i < len(s); i++ {
		if (s[i] == 'e' || s[i] == 'E') && s[i-1] >= '0' && s[i-1] <= '9' {
			return true
		}
	}
	return false
}

// mayHavePlainFunc reports whether a function name appears without its
// backslash (sqrt 2, pi/2), the only case rePlainFunc rewrites.
func mayHavePlainFunc(s string) bool {
	for _, name := range []string{"sqrt", "pi", "infty", "sin", "cos", "tan", "ln", "log"} {
		for off := 0; ; {
			k := strings.Index(s[off:], name)
			if k < 0 {
				break
			}
			k += off
			if k == 0 || s[k-1] != '\\' && !isLetter(s[k-1]) {
				return true
			}
			off = k + len(name)
		}
	}
	return false
}

func isLetter(c byte) bool { c |= 0x20; return c >= 'a' && c <= 'z' }

// unitTail reports whether t can end in a unit word: a letter, or a
// squared/cubed unit (cm^2, m^{3}), before an optional period.
func unitTail(t string) bool {
	t = strings.TrimRight(t, ". ")
	for _, p := range []string{"^2", "^3", "^{2}", "^{3}"} {
		t = strings.TrimSpace(strings.TrimSuffix(t, p))
	}
	return t != "" && isLetter(t[len(t)-1])
}
