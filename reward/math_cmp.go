package reward

import (
	"math"
	"sort"
	"strconv"
)

// mathCmp compares parsed answers under one set of options and remembers
// the rule that decided the last top-level comparison.
type mathCmp struct {
	opts MathOptions
	rule string
}

// set records the deciding rule: the outermost comparison names it (a set
// of numbers is decided by "set", not by its elements' "numeric"), except
// that a relation may be refined to "equation" or "inequality_interval".
func (c *mathCmp) set(rule string) {
	if c.rule == "" || c.rule == "relation" && (rule == "equation" || rule == "inequality_interval") {
		c.rule = rule
	}
}

// top applies Math-Verify's reference-first rules (MATH_RULES.md §4) before
// the structural comparison: assignment chains are truncated to their first
// left side and last right side; a predicted equation is unwrapped to its
// last right side when the reference is not an equation; a reference
// assignment is unwrapped when the prediction is not an equation; a
// reference relation becomes the set it describes when the prediction is a
// set (and the converse only with AllowSetRelationComp).
func (c *mathCmp) top(g, p *node) bool {
	g, p = stripIn(g), stripIn(p)
	gAssign, pAssign := isAssignment(g), isAssignment(p)
	if gAssign {
		g = truncateChain(g)
	}
	if pAssign {
		p = truncateChain(p)
	}
	gEq, pEq := isEquation(g), isEquation(p)
	switch {
	case pEq && !gEq && falseStatement(p):
		c.set("equation")
		return false
	case pEq && !gEq:
		p = lastRHS(p)
	case gAssign && !pEq:
		g = lastRHS(g)
	}
	if relationLike(g) && isSetLike(p) {
		if s, ok := relationSet(g); ok {
			g = s
		}
	}
	if c.opts.AllowSetRelationComp && relationLike(p) && isSetLike(g) {
		if s, ok := relationSet(p); ok {
			p = s
		}
	}
	if g.op != "matrix" && hasMatrix(g) {
		g = foldMatrix(g)
	}
	if p.op != "matrix" && hasMatrix(p) {
		p = foldMatrix(p)
	}
	return c.equal(g, p)
}

// equal compares two parsed answers structurally, then as values.
func (c *mathCmp) equal(a, b *node) bool {
	if isRelation(a) && isRelation(b) {
		c.set("relation")
		return c.relEqual(a, b)
	}
	if isRelation(a) != isRelation(b) && a.op != "list" && b.op != "list" {
		c.set("relation_vs_value")
		return false
	}
	ia, aColl := items(a)
	ib, bColl := items(b)
	if aColl && a.op != "tuple" {
		ia = c.dedupe(ia)
	}
	if bColl && b.op != "tuple" {
		ib = c.dedupe(ib)
	}
	switch {
	case aColl && bColl:
		c.set("set")
		return c.multiset(ia, ib)
	case aColl && b.op == "tuple" && b.name == "()" && a.op == "set":
		c.set("set_vs_tuple")
		return c.seq(sortedByValue(ia), sortedByValue(b.kids))
	case bColl && a.op == "tuple" && a.name == "()" && b.op == "set":
		c.set("set_vs_tuple")
		return c.seq(a.kids, ib)
	case aColl && b.op == "tuple" && a.op == "list":
		c.set("list_vs_tuple")
		return c.seq(ia, b.kids)
	case bColl && a.op == "tuple" && b.op == "list":
		c.set("list_vs_tuple")
		return c.seq(a.kids, ib)
	case aColl && len(ia) == 1:
		return c.equal(ia[0], b)
	case bColl && len(ib) == 1:
		return c.equal(a, ib[0])
	case aColl || bColl:
		c.set("set_size")
		return false
	}
	if v, ok := vectorOf(a); ok && b.op == "tuple" && b.name == "()" {
		c.set("vector")
		return c.seq(v, b.kids)
	}
	if v, ok := vectorOf(b); ok && a.op == "tuple" && a.name == "()" {
		c.set("vector")
		return c.seq(a.kids, v)
	}
	if a.op != b.op && (!isScalar(a) || !isScalar(b)) {
		c.set("shape")
		return false
	}
	switch a.op {
	case "tuple":
		c.set("tuple_or_interval")
		return a.name == b.name && c.seq(a.kids, b.kids)
	case "matrix":
		c.set("matrix")
		if len(a.kids) != len(b.kids) {
			return false
		}
		for i := range a.kids {
			if !c.seq(a.kids[i].kids, b.kids[i].kids) {
				return false
			}
		}
		return true
	case "union":
		c.set("union")
		return c.multiset(a.kids, b.kids)
	case "text":
		c.set("text")
		return a.name == b.name
	}
	return c.scalar(a, b)
}

func (c *mathCmp) seq(a, b []*node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !c.equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// dedupe drops repeated elements, as a sympy FiniteSet does: the boxed
// pair "15\frac{39}{40}, or \frac{639}{40}" is the one value 639/40.
func (c *mathCmp) dedupe(xs []*node) []*node {
	if len(xs) < 2 || len(xs) > 64 {
		return xs
	}
	keep := xs[:0:0]
	rule := c.rule
outer:
	for _, x := range xs {
		for _, y := range keep {
			if c.equal(x, y) {
				continue outer
			}
		}
		keep = append(keep, x)
	}
	c.rule = rule
	return keep
}

// multiset matches elements greedily; equality is transitive for the values
// compared here, so greedy matching is exact.
func (c *mathCmp) multiset(a, b []*node) bool {
	if len(a) != len(b) || len(a) > 512 {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && c.equal(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// scalar compares two scalar expressions: without variables by value
// (decimals rounded to Precision places), with variables by evaluating both
// at several deterministic points.
func (c *mathCmp) scalar(a, b *node) bool {
	vars := map[string]bool{}
	collectVars(a, vars)
	collectVars(b, vars)
	if len(vars) == 0 {
		rounded := hasDecimal(a) || hasDecimal(b)
		if rounded {
			c.set("numeric_rounded")
		} else {
			c.set("numeric")
		}
		va, errA := eval(a, nil)
		vb, errB := eval(b, nil)
		if errA != nil || errB != nil {
			return false
		}
		if rounded {
			return roundedEqual(va.float(), vb.float(), c.opts.Precision)
		}
		return valuesEqual(va, vb, relTolSymbolic)
	}
	c.set("symbolic")
	agree := 0
	for pt := 0; pt < 6; pt++ {
		va, vb, ok := evalAt(a, b, vars, pt)
		if !ok {
			continue
		}
		if !valuesEqual(va, vb, relTolSymbolic) {
			return false
		}
		agree++
	}
	return agree >= 2
}

// roundedEqual compares x and y rounded to p decimal places (Math-Verify
// rounds both sides when one is a float).
func roundedEqual(x, y float64, p int) bool {
	if math.IsInf(x, 0) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsNaN(y) {
		return x == y
	}
	scale := math.Pow(10, float64(p))
	if math.Abs(x*scale) < 1<<52 && math.Abs(y*scale) < 1<<52 {
		return math.Round(x*scale) == math.Round(y*scale) // -0 == 0
	}
	return strconv.FormatFloat(x, 'g', 15, 64) == strconv.FormatFloat(y, 'g', 15, 64)
}

// sortedByValue orders numeric set elements ascending (as sympy orders a
// FiniteSet) so {3,1} can be compared with the open pair (1,3).
func sortedByValue(ns []*node) []*node {
	type kv struct {
		n *node
		v float64
	}
	out := make([]kv, len(ns))
	for i, n := range ns {
		v, err := eval(n, nil)
		if err != nil {
			return ns
		}
		out[i] = kv{n, v.float()}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].v < out[j].v })
	res := make([]*node, len(out))
	for i, x := range out {
		res[i] = x.n
	}
	return res
}

// items returns the elements of an unordered collection (set, bare list,
// ± expansion) and whether n is one.
func items(n *node) ([]*node, bool) {
	switch n.op {
	case "set", "list":
		var out []*node
		for _, k := range n.kids {
			if isAssignment(k) {
				k = lastRHS(truncateChain(k))
			} else if k.op == "tuple" {
				k = tupleOfValues(k)
			}
			out = append(out, expandPM(stripIn(k))...)
		}
		return out, true
	}
	if vs := expandPM(n); len(vs) > 1 {
		return vs, true
	}
	return nil, false
}

// tupleOfValues turns a tuple of assignments (p = 5, q = 2) into the tuple
// of their values (5, 2).
func tupleOfValues(t *node) *node {
	for _, k := range t.kids {
		if !isAssignment(k) {
			return t
		}
	}
	c := &node{op: "tuple", name: t.name}
	for _, k := range t.kids {
		c.kids = append(c.kids, lastRHS(truncateChain(k)))
	}
	return c
}

// renameVars renames p's variables, in sorted order, to g's when both have
// the same number (Math-Verify strict=False).
func renameVars(g, p *node) *node {
	gv, pv := map[string]bool{}, map[string]bool{}
	collectVars(g, gv)
	collectVars(p, pv)
	if len(gv) != len(pv) || len(gv) == 0 {
		return p
	}
	gs, ps := sortedKeys(gv), sortedKeys(pv)
	m := make(map[string]string, len(ps))
	for i := range ps {
		m[ps[i]] = gs[i]
	}
	return substVars(p, m)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func substVars(n *node, m map[string]string) *node {
	if n.op == "var" {
		if to, ok := m[n.name]; ok {
			return &node{op: "var", name: to}
		}
		return n
	}
	if len(n.kids) == 0 {
		return n
	}
	c := *n
	c.kids = make([]*node, len(n.kids))
	for i, k := range n.kids {
		c.kids[i] = substVars(k, m)
	}
	return &c
}
