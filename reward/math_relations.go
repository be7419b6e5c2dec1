package reward

import (
	"math/big"
	"strings"
)

// isRelation reports whether n is an (in)equation or a chain of them.
func isRelation(n *node) bool { return n.op == "rel" && n.name != "in" }

// relationLike reports whether n is an inequality or a list of them
// (x < -1 or x > 2).
func relationLike(n *node) bool {
	if n.op == "list" {
		for _, k := range n.kids {
			if !isRelation(k) || k.name == "=" {
				return false
			}
		}
		return true
	}
	return isRelation(n)
}

// isEquation reports whether n is an equation (a = b, or a chain a = b = c).
func isEquation(n *node) bool { return n.op == "rel" && n.name == "=" }

// isAssignment reports whether n is an equation whose left side names
// variables only: x = 1, (p, q) = (3, 2), f(x) = …, V_1 : V_2 = 11 : 21
// (Math-Verify's is_assignment_relation). See onlyNames.
func isAssignment(n *node) bool {
	return isEquation(n) && len(n.kids) >= 2 && onlyNames(n.kids[0])
}

// onlyNames reports whether n can be the left side of an assignment.
// Any expression of variables without a number literal counts (|AB| = 1,
// a + b = 6), as in latex2sympy2_extended; 2x + z = 1 does not.
func onlyNames(n *node) bool {
	return hasVars(n) && noNumbers(n)
}

func noNumbers(n *node) bool {
	switch n.op {
	case "num", "rel", "set", "list", "matrix", "text":
		return false
	}
	for _, k := range n.kids {
		if !noNumbers(k) {
			return false
		}
	}
	return true
}

// truncateChain turns x = 5 + 5 + 1 = 7 = 11 into x = 11.
func truncateChain(n *node) *node {
	if len(n.kids) <= 2 {
		return n
	}
	return &node{op: "rel", name: n.name, kids: []*node{n.kids[0], n.kids[len(n.kids)-1]}}
}

// falseStatement reports whether n is an equation without variables whose
// first and last sides are different numbers (1 = 129): a wrong claim, whose
// right side is not read as the answer. A true one (2 + 3 = 5) and any
// chain with variables (x = 5 + 5 + 1 = 7 = 11) still give their last side.
func falseStatement(n *node) bool {
	if len(n.kids) < 2 || hasVars(n) {
		return false
	}
	a, err := eval(n.kids[0], nil)
	if err != nil {
		return false
	}
	b, err := eval(lastRHS(n), nil)
	return err == nil && !valuesEqual(a, b, 1e-9)
}

// lastRHS returns the last right side of an equation chain.
func lastRHS(n *node) *node { return n.kids[len(n.kids)-1] }

// stripIn turns `x \in S` into S (latex2sympy reads membership as the set).
func stripIn(n *node) *node {
	if n.op == "rel" && n.name == "in" && len(n.kids) == 2 && onlyNames(n.kids[0]) {
		return n.kids[1]
	}
	return n
}

// isSetLike reports whether n is a set, interval, union or bare list.
func isSetLike(n *node) bool {
	switch n.op {
	case "set", "union":
		return true
	case "tuple":
		return len(n.kids) == 2
	}
	return false
}

// relEqual compares two relations as Math-Verify does: same operator and
// equal (left − right); mirrored operator and left − right equal to the
// other's right − left (-x > -1 ≡ x < 1); equations equal up to a non-zero
// constant factor (y = -x/2 + 3/4 ≡ 2x + 4y - 3 = 0); else the solution
// intervals of one-variable linear inequalities.
func (c *mathCmp) relEqual(a, b *node) bool {
	if len(a.kids) == 2 && len(b.kids) == 2 {
		da, db := diff(a.kids[0], a.kids[1]), diff(b.kids[0], b.kids[1])
		if a.name == b.name && c.scalar(da, db) {
			return true
		}
		if flipRel[a.name] == b.name && c.scalar(da, neg(db)) {
			return true
		}
		if a.name == "=" && b.name == "=" {
			c.set("equation")
			return proportional(da, db)
		}
		if a.name == "!=" || b.name == "!=" {
			return false
		}
	}
	if len(a.kids) == len(b.kids) && a.name == b.name && c.seq(a.kids, b.kids) {
		return true
	}
	ia, okA := relationSet(a)
	ib, okB := relationSet(b)
	c.set("inequality_interval")
	return okA && okB && c.equal(ia, ib)
}

var flipRel = map[string]string{"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "!=": "!="}

func diff(a, b *node) *node { return &node{op: "add", kids: []*node{a, neg(b)}} }
func neg(a *node) *node     { return &node{op: "neg", kids: []*node{a}} }

// proportional reports whether a = k·b for a constant k ≠ 0, by checking
// the ratio at several sample points.
func proportional(a, b *node) bool {
	vars := map[string]bool{}
	collectVars(a, vars)
	collectVars(b, vars)
	var ratio value
	agree := 0
	for pt := 0; pt < 6; pt++ {
		va, vb, ok := evalAt(a, b, vars, pt)
		if !ok {
			continue
		}
		if isZero(vb) || isZero(va) {
			if isZero(va) != isZero(vb) {
				return false
			}
			continue
		}
		r := quo(va, vb)
		if agree > 0 && !valuesEqual(r, ratio, relTolSymbolic) {
			return false
		}
		ratio = r
		agree++
	}
	return agree >= 2
}

func isZero(v value) bool {
	if v.exact {
		return v.r.Sign() == 0
	}
	return v.f == 0
}

func quo(a, b value) value {
	if a.exact && b.exact {
		return exactVal(new(big.Rat).Quo(a.r, b.r))
	}
	return floatVal(a.float() / b.float())
}

// relationSet returns the interval (or union, for a list of relations) a
// one-variable inequality describes: x < 3, 1 <= x < 2, 3 > x, 2x - 4 < 0,
// x < -1 or x > 2.
func relationSet(n *node) (*node, bool) {
	if n.op == "list" {
		u := &node{op: "union"}
		for _, k := range n.kids {
			s, ok := relationSet(k)
			if !ok {
				return nil, false
			}
			u.kids = append(u.kids, s)
		}
		return u, true
	}
	if n.op != "rel" || n.name == "=" || n.name == "!=" || n.name == "in" {
		return nil, false
	}
	k := n.kids
	inf := &node{op: "const", name: "inf"}
	ninf := neg(inf)
	open := n.name == "<" || n.name == ">"
	switch len(k) {
	case 2:
		root, dir, ok := linearRoot(diff(k[0], k[1]))
		switch {
		case onlyNames(k[0]) && !hasVars(k[1]):
			root, dir, ok = k[1], 1, true
		case onlyNames(k[1]) && !hasVars(k[0]):
			root, dir, ok = k[0], -1, true
		}
		if !ok {
			return nil, false
		}
		less := n.name == "<" || n.name == "<="
		if dir < 0 {
			less = !less
		}
		if less {
			return &node{op: "tuple", name: "(" + closer(open), kids: []*node{ninf, root}}, true
		}
		return &node{op: "tuple", name: opener(open) + ")", kids: []*node{root, inf}}, true
	case 3:
		ops := strings.Split(n.name, "|")
		if len(ops) == 1 {
			ops = append(ops, ops[0])
		}
		if !onlyNames(k[1]) || hasVars(k[0]) || hasVars(k[2]) || !compatibleRel(ops[0], ops[1]) || ops[0] == "=" || ops[0] == "!=" {
			return nil, false
		}
		lo, hi := k[0], k[2]
		strictLo, strictHi := ops[0] == "<" || ops[0] == ">", ops[1] == "<" || ops[1] == ">"
		if ops[0] == ">" || ops[0] == ">=" {
			lo, hi, strictLo, strictHi = hi, lo, strictHi, strictLo
		}
		iv := &node{op: "tuple", name: opener(strictLo) + closer(strictHi), kids: []*node{lo, hi}}
		if m := k[1]; m.op == "fn" && m.name == "abs" {
			// a <= |z| <= b with a >= 0: [-b, -a] ∪ [a, b].
			if v, err := eval(lo, nil); err == nil && v.float() >= 0 {
				mirror := &node{op: "tuple", name: opener(strictHi) + closer(strictLo), kids: []*node{neg(hi), neg(lo)}}
				return &node{op: "union", kids: []*node{mirror, iv}}, true
			}
		}
		return iv, true
	}
	return nil, false
}

// linearRoot solves f(v) = 0 for f linear in its single variable v,
// returning the root and the sign of the slope.
func linearRoot(f *node) (*node, int, bool) {
	vars := map[string]bool{}
	collectVars(f, vars)
	if len(vars) != 1 {
		return nil, 0, false
	}
	var name string
	for v := range vars {
		name = v
	}
	at := func(x int64) (value, bool) {
		v, err := eval(f, map[string]value{name: exactVal(big.NewRat(x, 1))})
		return v, err == nil && v.exact
	}
	f0, ok0 := at(0)
	f1, ok1 := at(1)
	f2, ok2 := at(2)
	if !ok0 || !ok1 || !ok2 {
		return nil, 0, false
	}
	slope := new(big.Rat).Sub(f1.r, f0.r)
	if slope.Sign() == 0 || new(big.Rat).Sub(f2.r, f1.r).Cmp(slope) != 0 {
		return nil, 0, false
	}
	root := new(big.Rat).Quo(new(big.Rat).Neg(f0.r), slope)
	return &node{op: "num", val: root}, slope.Sign(), true
}

func hasVars(n *node) bool {
	if n.op == "var" {
		return true
	}
	for _, k := range n.kids {
		if hasVars(k) {
			return true
		}
	}
	return false
}
