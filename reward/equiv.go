package reward

import (
	"hash/fnv"
	"math"
	"math/big"
	"regexp"
	"strings"
)

// Tolerances of MathEqual: numbers without variables compare within
// relTolNumeric (so 0.866025 matches \frac{\sqrt3}{2} but 0.87 does not);
// inexact symbolic evaluations compare within relTolSymbolic.
const (
	relTolNumeric  = 1e-6
	relTolSymbolic = 1e-9
)

// MathEqual reports whether the predicted answer pred equals the reference
// answer gold under DefaultMathOptions: equal normal forms (NormalizeAnswer),
// the same multiple-choice letter, equal words, or — for what the expression
// engine parses — equal values: decimals rounded to 6 places, fractions,
// roots, π, powers and algebraic expressions evaluated exactly (big.Rat,
// float fallback) at several deterministic points, ordered tuples and
// intervals, unordered sets and comma lists, unions, matrices, assignments
// and equations, inequalities and the intervals they describe, ± expansion,
// and percent (10\% matches 10 and 0.1). The rules and their sources are in
// MATH_RULES.md. Like Math-Verify's verify it is not symmetric: the
// reference's form decides (x = 5 + 6 = 11 matches 11). It is pure and safe
// for concurrent use; cost is bounded by the answer length (at most 4096
// tokens are parsed).
func MathEqual(gold, pred string) bool {
	return mathEqual(gold, pred, DefaultMathOptions(), nil)
}

// MathEqualWith is MathEqual with explicit strictness options.
func MathEqualWith(gold, pred string, o MathOptions) bool {
	return mathEqual(gold, pred, o, nil)
}

// trace records how mathEqual decided, for ExplainMath.
type trace struct {
	goldNorm, predNorm string
	rule               string
	failure            string
}

func (t *trace) set(rule string) {
	if t != nil {
		t.rule = rule
	}
}

func mathEqual(gold, pred string, o MathOptions, tr *trace) bool {
	g, p := clean(gold), clean(pred)
	gNorm, pNorm := canonical(g.s), canonical(p.s)
	if tr != nil {
		tr.goldNorm, tr.predNorm = gNorm, pNorm
	}
	if g.s == "" || p.s == "" {
		tr.set("empty")
		return false
	}
	if gNorm == pNorm && sameLHS(g.s, p.s) {
		tr.set("normal_form")
		return true
	}
	lg, okg := choiceLetter(g.s)
	lp, okp := choiceLetter(p.s)
	if okg || okp {
		tr.set("choice_letter")
		return okg && okp && lg == lp
	}
	if hasWord(g.s) || hasWord(p.s) {
		tr.set("words")
		return wordForm(g.s) == wordForm(p.s)
	}
	ng, err := parseLastEq(g.s)
	if err != nil {
		tr.set("parse_error")
		if tr != nil {
			tr.failure = "gold: " + err.Error()
		}
		return false
	}
	np, err := parseLastEq(p.s)
	if err != nil {
		tr.set("parse_error")
		if tr != nil {
			tr.failure = "pred: " + err.Error()
		}
		return false
	}
	c := &mathCmp{opts: o}
	if !o.StrictVariables {
		np = renameVars(ng, np)
	}
	if c.top(ng, np) {
		tr.set(c.rule)
		return true
	}
	// Percent: 10\% may be meant as 10 (already compared) or as 0.1.
	if g.percent != p.percent && isScalar(ng) && isScalar(np) {
		if g.percent {
			ng = &node{op: "div", kids: []*node{ng, numNode(100)}}
		} else {
			np = &node{op: "div", kids: []*node{np, numNode(100)}}
		}
		if c.equal(ng, np) {
			tr.set("percent")
			return true
		}
	}
	tr.set(c.rule)
	return false
}

var (
	reWord      = regexp.MustCompile(`(?:^|[^\\A-Za-z])[A-Za-z]{3,}`)
	reTextCmd   = regexp.MustCompile(`\\(?:text|textbf|mathrm|mathbf|textit|mbox|textrm)\{([^{}]*)\}`)
	reNonAlnum  = regexp.MustCompile(`[^a-z0-9]+`)
	reSubscript = regexp.MustCompile(`_\{[^{}]*\}`)
	reEnvName   = regexp.MustCompile(`\\(?:begin|end|mathbb)\{[^{}]*\}`)
)

// hasWord reports whether s contains a word of three or more letters
// outside commands, which the expression engine would misread as a product.
func hasWord(s string) bool {
	s = reEnvName.ReplaceAllString(s, " ")
	if strings.Contains(s, "_{") {
		s = reSubscript.ReplaceAllString(s, "_0")
	}
	return reWord.MatchString(reTextCmd.ReplaceAllString(s, " $1 "))
}

func wordForm(s string) string {
	s = reTextCmd.ReplaceAllString(s, "$1")
	return reNonAlnum.ReplaceAllString(strings.ToLower(s), "")
}

func isScalar(n *node) bool {
	switch n.op {
	case "tuple", "set", "list", "union", "matrix", "rel", "text", "pm":
		return false
	}
	return true
}

// expandPM replaces the first ± in n by + and −, recursively, returning
// every variant (one when n has no ±). At most 8 variants are produced.
func expandPM(n *node) []*node {
	if n.op == "pm" {
		var out []*node
		for _, l := range expandPM(n.kids[0]) {
			for _, r := range expandPM(n.kids[1]) {
				out = append(out,
					&node{op: "add", kids: []*node{l, r}},
					&node{op: "add", kids: []*node{l, {op: "neg", kids: []*node{r}}}})
			}
		}
		if len(out) > 8 {
			out = out[:8]
		}
		return out
	}
	for i, k := range n.kids {
		vs := expandPM(k)
		if len(vs) == 1 {
			continue
		}
		out := make([]*node, len(vs))
		for j, v := range vs {
			c := *n
			c.kids = append([]*node(nil), n.kids...)
			c.kids[i] = v
			out[j] = &c
		}
		return out
	}
	return []*node{n}
}

func collectVars(n *node, vars map[string]bool) {
	if n.op == "var" {
		vars[n.name] = true
	}
	for _, k := range n.kids {
		collectVars(k, vars)
	}
}

// samplePoint returns a positive, generic rational for variable v at point
// pt (positive so roots and logarithms stay real; derived from the name so
// different variables never coincide).
func samplePoint(v string, pt int) value {
	h := fnv.New32a()
	h.Write([]byte(v))
	k := int64(h.Sum32()%97) + 1
	primes := []int64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37}
	num := 3*k + primes[(int(k)+pt)%len(primes)]*int64(pt+1)
	den := primes[(int(k)*7+pt*5)%len(primes)]
	return exactVal(big.NewRat(num, den))
}

// evalAt evaluates a and b with each variable of vars at sample point pt;
// ok is false when either is undefined there.
func evalAt(a, b *node, vars map[string]bool, pt int) (va, vb value, ok bool) {
	env := make(map[string]value, len(vars))
	for v := range vars {
		env[v] = samplePoint(v, pt)
	}
	va, errA := eval(a, env)
	vb, errB := eval(b, env)
	return va, vb, errA == nil && errB == nil
}

func valuesEqual(a, b value, rtol float64) bool {
	if a.exact && b.exact {
		return a.r.Cmp(b.r) == 0
	}
	x, y := a.float(), b.float()
	if math.IsInf(x, 0) || math.IsInf(y, 0) {
		return x == y
	}
	return math.Abs(x-y) <= 1e-12+rtol*math.Max(math.Abs(x), math.Abs(y))
}

func opener(open bool) string {
	if open {
		return "("
	}
	return "["
}

func closer(open bool) string {
	if open {
		return ")"
	}
	return "]"
}

// hasDecimal reports whether n contains a decimal literal such as 0.25.
func hasDecimal(n *node) bool {
	if n.op == "num" && n.name == "dec" {
		return true
	}
	for _, k := range n.kids {
		if hasDecimal(k) {
			return true
		}
	}
	return false
}

// vectorOf returns the entries of a one-row or one-column matrix, which
// competition answers use interchangeably with tuples.
func vectorOf(n *node) ([]*node, bool) {
	if n.op != "matrix" || len(n.kids) == 0 {
		return nil, false
	}
	if len(n.kids) == 1 {
		return n.kids[0].kids, true
	}
	var out []*node
	for _, row := range n.kids {
		if len(row.kids) != 1 {
			return nil, false
		}
		out = append(out, row.kids[0])
	}
	return out, true
}

// sameLHS is false when both answers are assignments to different
// variables (x = 1 vs y = 1: Math-Verify keeps both sides of two
// assignments), which the normal form would otherwise equate.
func sameLHS(a, b string) bool {
	la, lb := reEqPrefix.FindString(a), reEqPrefix.FindString(b)
	if la == "" || lb == "" {
		return true
	}
	return strings.Join(strings.Fields(strings.TrimSuffix(strings.TrimSpace(la), "=")), "") ==
		strings.Join(strings.Fields(strings.TrimSuffix(strings.TrimSpace(lb), "=")), "")
}

// parseLastEq parses s; when that fails and s is a chain of three or more
// "="-separated parts without commas, it parses the last part alone, as
// Math-Verify does (1 = \zzz = x = 0 reads as 0).
func parseLastEq(s string) (*node, error) {
	n, err := parseExpr(s)
	if err == nil || strings.ContainsAny(s, ",;") {
		return n, err
	}
	parts := strings.Split(s, "=")
	if len(parts) < 3 {
		return n, err
	}
	last := strings.TrimSpace(parts[len(parts)-1])
	if m, err2 := parseExpr(last); err2 == nil {
		return m, nil
	}
	return n, err
}
