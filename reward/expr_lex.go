package reward

import (
	"fmt"
	"strings"
)

// tokKind classifies a token of the LaTeX-ish answer language.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tNum            // 12, 3.5, .5
	tIdent          // a single letter variable
	tCmd            // \frac, \pi, ... (text without the backslash)
	tPunct          // one of + - * / ^ _ ( ) [ ] { } , ; = < > ! | &
	tLSet           // \{
	tRSet           // \}
	tRowSep         // \\ inside a matrix
	tMatBeg         // \begin{pmatrix} and friends
	tMatEnd         // \end{pmatrix}
)

type token struct {
	kind tokKind
	text string
}

func (t token) is(kind tokKind, text string) bool { return t.kind == kind && t.text == text }

// maxTokens bounds the work spent on one answer; longer answers are compared
// as strings only.
const maxTokens = 4096

// lex splits s into tokens. It reports an error for characters outside the
// answer language so that such answers fall back to string comparison.
func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		if len(toks) > maxTokens {
			return nil, fmt.Errorf("answer too long")
		}
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			if n := len(toks); n > 0 && toks[n-1].kind == tPunct && (toks[n-1].text == "^" || toks[n-1].text == "_") {
				j = i + 1 // x^23 means x^2·3 in LaTeX
			} else {
				seenDot := false
				for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' && !seenDot && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9') {
					if s[j] == '.' {
						seenDot = true
					}
					j++
				}
			}
			toks = append(toks, token{tNum, s[i:j]})
			i = j
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			toks = append(toks, token{tIdent, s[i : i+1]})
			i++
		case c == '\\':
			t, n, err := lexCommand(s[i:])
			if err != nil {
				return nil, err
			}
			if t.kind != tEOF {
				toks = append(toks, t)
			}
			i += n
		case (c == '<' || c == '>' || c == '!') && i+1 < len(s) && s[i+1] == '=':
			toks = append(toks, token{tPunct, s[i : i+2]}) // >=, <=, !=
			i += 2
		case c == ':':
			toks = append(toks, token{tPunct, "/"}) // a ratio 11:21 is the quotient 11/21
			i++
		case strings.IndexByte("+-*/^_()[]{},;=<>!|&", c) >= 0:
			toks = append(toks, token{tPunct, s[i : i+1]})
			i++
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return toks, nil
}

// lexCommand lexes a backslash sequence at the start of s and returns the
// token (tEOF for spacing commands that vanish) and its length.
func lexCommand(s string) (token, int, error) {
	if len(s) < 2 {
		return token{}, 0, fmt.Errorf("lone backslash")
	}
	switch s[1] {
	case '{':
		return token{tLSet, "{"}, 2, nil
	case '}':
		return token{tRSet, "}"}, 2, nil
	case '\\':
		return token{tRowSep, `\\`}, 2, nil
	case ',', ';', ':', '!', ' ':
		return token{}, 2, nil
	case '%':
		return token{tPunct, "%"}, 2, nil
	}
	j := 1
	for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
		j++
	}
	if j == 1 {
		return token{}, 0, fmt.Errorf("unknown escape %q", s[:2])
	}
	name := s[1:j]
	for _, sp := range []string{"qquad", "quad"} {
		if len(name) > len(sp) && strings.HasPrefix(name, sp) {
			return token{}, 1 + len(sp), nil // \quadx: the space, then x
		}
	}
	switch name {
	case "begin", "end":
		if !strings.HasPrefix(s[j:], "{") {
			return token{}, 0, fmt.Errorf(`\%s without environment`, name)
		}
		k := strings.IndexByte(s[j:], '}')
		if k < 0 {
			return token{}, 0, fmt.Errorf(`unterminated \%s`, name)
		}
		env := s[j+1 : j+k]
		if !strings.HasSuffix(env, "matrix") && env != "array" {
			return token{}, 0, fmt.Errorf("unsupported environment %q", env)
		}
		n := j + k + 1
		if name == "begin" && env == "array" && strings.HasPrefix(s[n:], "{") {
			if e := strings.IndexByte(s[n:], '}'); e >= 0 {
				n += e + 1 // column spec
			}
		}
		if name == "begin" {
			return token{tMatBeg, env}, n, nil
		}
		return token{tMatEnd, env}, n, nil
	case "quad", "qquad", "displaystyle", "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "limits":
		return token{}, j, nil
	case "lbrace":
		return token{tLSet, "{"}, j, nil
	case "rbrace":
		return token{tRSet, "}"}, j, nil
	case "lvert", "rvert", "vert", "mid":
		return token{tPunct, "|"}, j, nil
	case "lt":
		return token{tPunct, "<"}, j, nil
	case "gt":
		return token{tPunct, ">"}, j, nil
	case "dfrac", "tfrac", "cfrac":
		name = "frac"
	case "dbinom", "tbinom":
		name = "binom"
	case "leq", "leqslant":
		name = "le"
	case "geq", "geqslant":
		name = "ge"
	case "neq":
		name = "ne"
	case "ast", "times", "cdot":
		name = "cdot"
	case "varnothing":
		name = "emptyset"
	}
	return token{tCmd, name}, j, nil
}
