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
// answer gold: equal normal forms (NormalizeAnswer), the same multiple-choice
// letter, equal words, or — for what the expression engine parses — equal
// values: numbers within a relative tolerance of 1e-6, fractions, roots, π,
// powers and algebraic expressions evaluated exactly (big.Rat, float
// fallback) at several deterministic points, ordered tuples and intervals,
// unordered sets and comma lists, unions, matrices, `x = …` prefixes,
// ± expansion, and percent (10\% matches 10 and 0.1). It is pure and safe
// for concurrent use; cost is bounded by the answer length (at most 4096
// tokens are parsed).
func MathEqual(gold, pred string) bool {
	g, p := clean(gold), clean(pred)
	if g.s == "" || p.s == "" {
		return false
	}
	if canonical(g.s) == canonical(p.s) {
		return true
	}
	if lg, ok := choiceLetter(g.s); ok {
		lp, okp := choiceLetter(p.s)
		return okp && lg == lp
	}
	if hasWord(g.s) || hasWord(p.s) {
		return wordForm(g.s) == wordForm(p.s)
	}
	ng, err := parseExpr(g.s)
	if err != nil {
		return false
	}
	np, err := parseExpr(p.s)
	if err != nil {
		return false
	}
	if nodesEqual(ng, np) {
		return true
	}
	// Percent: 10\% may be meant as 10 (already compared) or as 0.1.
	if g.percent != p.percent && isScalar(ng) && isScalar(np) {
		if g.percent {
			ng = &node{op: "div", kids: []*node{ng, numNode(100)}}
		} else {
			np = &node{op: "div", kids: []*node{np, numNode(100)}}
		}
		return nodesEqual(ng, np)
	}
	return false
}

var (
	reWord     = regexp.MustCompile(`(?:^|[^\\A-Za-z])[A-Za-z]{3,}`)
	reTextCmd  = regexp.MustCompile(`\\(?:text|textbf|mathrm|mathbf|textit|mbox|textrm)\{([^{}]*)\}`)
	reNonAlnum = regexp.MustCompile(`[^a-z0-9]+`)
	reEnvName  = regexp.MustCompile(`\\(?:begin|end|mathbb)\{[^{}]*\}`)
)

// hasWord reports whether s contains a word of three or more letters
// outside commands, which the expression engine would misread as a product.
func hasWord(s string) bool {
	s = reEnvName.ReplaceAllString(s, " ")
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

// stripLHS turns `x = rhs`, `f(x) = rhs` and `x \in rhs` into rhs.
func stripLHS(n *node) *node {
	if n.op == "rel" && len(n.kids) == 2 && (n.name == "=" || n.name == "in") && isName(n.kids[0]) {
		return n.kids[1]
	}
	return n
}

func isName(n *node) bool {
	switch n.op {
	case "var":
		return true
	case "mul": // f(x), written as f·x
		return len(n.kids) == 2 && n.kids[0].op == "var" && n.kids[1].op == "var"
	}
	return false
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

// items returns the elements of an unordered collection (set, bare list,
// ± expansion) and whether n is one.
func items(n *node) ([]*node, bool) {
	switch n.op {
	case "set", "list":
		var out []*node
		for _, k := range n.kids {
			out = append(out, expandPM(stripLHS(k))...)
		}
		return out, true
	}
	if vs := expandPM(n); len(vs) > 1 {
		return vs, true
	}
	return nil, false
}

// nodesEqual compares two parsed answers semantically.
func nodesEqual(a, b *node) bool {
	if a.op == "rel" && b.op == "rel" && relEqual(a, b) {
		return true
	}
	a, b = relToInterval(stripLHS(a)), relToInterval(stripLHS(b))
	ia, aColl := items(a)
	ib, bColl := items(b)
	switch {
	case aColl && bColl:
		return multisetEqual(ia, ib)
	case aColl && b.op == "tuple" && a.op == "list":
		return seqEqual(ia, b.kids)
	case bColl && a.op == "tuple" && b.op == "list":
		return seqEqual(a.kids, ib)
	case aColl && len(ia) == 1:
		return nodesEqual(ia[0], b)
	case bColl && len(ib) == 1:
		return nodesEqual(a, ib[0])
	case aColl || bColl:
		return false
	}
	if v, ok := vectorOf(a); ok && b.op == "tuple" && b.name == "()" {
		return seqEqual(v, b.kids)
	}
	if v, ok := vectorOf(b); ok && a.op == "tuple" && a.name == "()" {
		return seqEqual(a.kids, v)
	}
	if a.op != b.op && (!isScalar(a) || !isScalar(b)) {
		return false
	}
	switch a.op {
	case "tuple":
		return a.name == b.name && seqEqual(a.kids, b.kids)
	case "matrix":
		return seqEqual(a.kids, b.kids)
	case "union":
		return multisetEqual(a.kids, b.kids)
	case "text":
		return a.name == b.name
	case "rel":
		return relEqual(a, b)
	}
	return scalarEqual(a, b)
}

func seqEqual(a, b []*node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !nodesEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// multisetEqual matches elements greedily; equality is transitive for the
// values compared here, so greedy matching is exact.
func multisetEqual(a, b []*node) bool {
	if len(a) != len(b) || len(a) > 512 {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && nodesEqual(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

var flipRel = map[string]string{"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "!=": "!="}

func relEqual(a, b *node) bool {
	if len(a.kids) != len(b.kids) {
		return false
	}
	if a.name == b.name && seqEqual(a.kids, b.kids) {
		return true
	}
	if len(a.kids) == 2 && flipRel[a.name] == b.name {
		if nodesEqual(a.kids[0], b.kids[1]) && nodesEqual(a.kids[1], b.kids[0]) {
			return true
		}
	}
	if a.name == "=" && b.name == "=" && len(a.kids) == 2 {
		// Equations equal up to a non-zero factor: compare l−r across sides.
		da := &node{op: "add", kids: []*node{a.kids[0], {op: "neg", kids: []*node{a.kids[1]}}}}
		db := &node{op: "add", kids: []*node{b.kids[0], {op: "neg", kids: []*node{b.kids[1]}}}}
		return scalarEqual(da, db) || scalarEqual(da, &node{op: "neg", kids: []*node{db}})
	}
	return false
}

// scalarEqual compares two scalar expressions by evaluating both at several
// deterministic points for their variables.
func scalarEqual(a, b *node) bool {
	vars := map[string]bool{}
	collectVars(a, vars)
	collectVars(b, vars)
	if len(vars) == 0 {
		va, errA := eval(a, nil)
		vb, errB := eval(b, nil)
		if errA != nil || errB != nil {
			return false
		}
		if va.exact && vb.exact && (hasDecimal(a) || hasDecimal(b)) {
			// A decimal literal is a rounded value: 0.3333333333 matches 1/3.
			va, vb = floatVal(va.float()), floatVal(vb.float())
		}
		return valuesEqual(va, vb, relTolNumeric)
	}
	agree := 0
	for pt := 0; pt < 6; pt++ {
		env := make(map[string]value, len(vars))
		for v := range vars {
			env[v] = samplePoint(v, pt)
		}
		va, errA := eval(a, env)
		vb, errB := eval(b, env)
		if errA != nil || errB != nil {
			continue
		}
		if !valuesEqual(va, vb, relTolSymbolic) {
			return false
		}
		agree++
	}
	return agree >= 2
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

// relToInterval rewrites a one-variable inequality (x < 3, 1 <= x < 2,
// 3 > x) as the interval it describes; other nodes are returned unchanged.
func relToInterval(n *node) *node {
	if n.op != "rel" || n.name == "=" || n.name == "!=" || n.name == "in" {
		return n
	}
	k := n.kids
	inf := &node{op: "const", name: "inf"}
	ninf := &node{op: "neg", kids: []*node{inf}}
	open := func(op string) bool { return op == "<" || op == ">" }
	switch {
	case len(k) == 2 && k[0].op == "var" && (n.name == "<" || n.name == "<="):
		return &node{op: "tuple", name: "(" + closer(open(n.name)), kids: []*node{ninf, k[1]}}
	case len(k) == 2 && k[0].op == "var":
		return &node{op: "tuple", name: opener(open(n.name)) + ")", kids: []*node{k[1], inf}}
	case len(k) == 2 && k[1].op == "var":
		return relToInterval(&node{op: "rel", name: flipRel[n.name], kids: []*node{k[1], k[0]}})
	case len(k) == 3 && k[1].op == "var" && (n.name == "<" || n.name == "<="):
		return &node{op: "tuple", name: opener(open(n.name)) + closer(open(n.name)), kids: []*node{k[0], k[2]}}
	}
	return n
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
