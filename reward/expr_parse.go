package reward

import (
	"fmt"
	"math/big"
	"strings"
)

// node is a parsed answer. Scalar ops: num (val), var, const (name pi|e|inf),
// add, mul, neg, div, pow, fact, fn (name; kids = args), pm (a ± b).
// Structure ops: tuple (name = brackets, e.g. "(]"), set, list (bare
// comma list), union, matrix (kids = rows as tuples), rel (name = operator,
// kids = sides), text (name = the words).
type node struct {
	op   string
	name string
	val  *big.Rat
	kids []*node
}

func (n *node) String() string {
	switch n.op {
	case "num":
		return n.val.RatString()
	case "var", "const", "text":
		return n.name
	}
	parts := make([]string, len(n.kids))
	for i, k := range n.kids {
		parts[i] = k.String()
	}
	return n.op + n.name + "(" + strings.Join(parts, " ") + ")"
}

// maxDepth bounds recursion so adversarial nesting cannot exhaust the stack.
const maxDepth = 200

type parser struct {
	toks  []token
	pos   int
	depth int
}

// parseExpr parses a cleaned answer string into a node.
func parseExpr(s string) (*node, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty answer")
	}
	p := &parser{toks: toks}
	n, err := p.list(tEOF, "")
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at token %d", p.peek().text, p.pos)
	}
	return n, nil
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{kind: tEOF}
}

func (p *parser) next() token { t := p.peek(); p.pos++; return t }

func (p *parser) accept(kind tokKind, text string) bool {
	if p.peek().is(kind, text) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(kind tokKind, text string) error {
	if !p.accept(kind, text) {
		return fmt.Errorf("expected %q, got %q", text, p.peek().text)
	}
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d", maxDepth)
	}
	return nil
}

// list parses items separated by ',' or ';' up to (not including) a closing
// token of closeKind whose text is one of the characters in closers; one
// item is returned as itself, more as a "list" node.
func (p *parser) list(closeKind tokKind, closers string) (*node, error) {
	var items []*node
	var groups [][]*node // items split at ';' (p = 5, q = 2; p = 7, q = 2)
	for {
		it, err := p.union()
		if err != nil {
			return nil, err
		}
		items = append(items, it)
		semi := false
		if !p.accept(tPunct, ",") {
			if !p.accept(tPunct, ";") {
				break
			}
			semi = true
		}
		if t := p.peek(); t.kind == tEOF || t.kind == closeKind && t.text != "" && strings.Contains(closers, t.text) {
			break // trailing comma
		}
		if semi {
			groups = append(groups, items)
			items = nil
		}
	}
	if len(groups) > 0 {
		groups = append(groups, items)
		return semicolonGroups(groups), nil
	}
	if len(items) == 1 {
		return items[0], nil
	}
	return &node{op: "list", kids: items}, nil
}

// semicolonGroups reads "a, b; c, d" as the list of tuples (a, b), (c, d);
// with one item per group it is the plain list a; c.
func semicolonGroups(groups [][]*node) *node {
	out := &node{op: "list"}
	for _, g := range groups {
		switch len(g) {
		case 0:
		case 1:
			out.kids = append(out.kids, g[0])
		default:
			out.kids = append(out.kids, &node{op: "tuple", name: "()", kids: g})
		}
	}
	if len(out.kids) == 1 {
		return out.kids[0]
	}
	return out
}

func (p *parser) union() (*node, error) {
	first, err := p.relation()
	if err != nil {
		return nil, err
	}
	items := []*node{first}
	for p.accept(tCmd, "cup") {
		n, err := p.relation()
		if err != nil {
			return nil, err
		}
		items = append(items, n)
	}
	if len(items) == 1 {
		return first, nil
	}
	return &node{op: "union", kids: items}, nil
}

var relOps = map[string]string{"=": "=", "<": "<", ">": ">", "le": "<=", "ge": ">=", "ne": "!=", "in": "in", "approx": "=",
	"<=": "<=", ">=": ">=", "!=": "!="}

// relation parses a chain of relations. Links of one direction may mix
// strict and non-strict (-2 < x \le 7: name "<|<="); a trailing
// "\approx v" after an equation is dropped, as the exact value before it
// is the answer (x = 1/3 \approx 0.33).
func (p *parser) relation() (*node, error) {
	left, err := p.expr()
	if err != nil {
		return nil, err
	}
	kids := []*node{left}
	var ops []string
	for {
		t := p.peek()
		r, ok := relOps[t.text]
		if !ok || t.kind != tPunct && t.kind != tCmd {
			break
		}
		p.pos++
		right, err := p.expr()
		if err != nil {
			return nil, err
		}
		if t.text == "approx" && len(ops) > 0 && ops[0] == "=" {
			continue
		}
		if len(ops) > 0 && !compatibleRel(ops[0], r) {
			return nil, fmt.Errorf("mixed relations %s and %s", ops[0], r)
		}
		ops = append(ops, r)
		kids = append(kids, right)
	}
	if len(ops) == 0 {
		return left, nil
	}
	name := ops[0]
	for _, o := range ops[1:] {
		if o != ops[0] {
			name = strings.Join(ops, "|")
			break
		}
	}
	return &node{op: "rel", name: name, kids: kids}, nil
}

// compatibleRel reports whether two links may form one chain: the same
// operator, or both pointing the same way (< with <=, > with >=).
func compatibleRel(a, b string) bool {
	if a == b {
		return true
	}
	dir := func(o string) int {
		switch o {
		case "<", "<=":
			return -1
		case ">", ">=":
			return 1
		}
		return 0
	}
	return dir(a) != 0 && dir(a) == dir(b)
}

// expr parses sums: term (('+' | '-' | '\pm') term)*.
func (p *parser) expr() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	var left *node
	if p.accept(tCmd, "pm") || p.accept(tCmd, "mp") {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		left = &node{op: "pm", kids: []*node{{op: "num", val: new(big.Rat)}, t}}
	} else {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		left = t
	}
	for {
		var op string
		switch {
		case p.accept(tPunct, "+"):
			op = "+"
		case p.accept(tPunct, "-"):
			op = "-"
		case p.accept(tCmd, "pm"), p.accept(tCmd, "mp"):
			op = "pm"
		default:
			return left, nil
		}
		right, err := p.term()
		if err != nil {
			return nil, err
		}
		switch op {
		case "+":
			left = &node{op: "add", kids: []*node{left, right}}
		case "-":
			left = &node{op: "add", kids: []*node{left, {op: "neg", kids: []*node{right}}}}
		default:
			left = &node{op: "pm", kids: []*node{left, right}}
		}
	}
}

// term parses products, quotients and implicit multiplication.
func (p *parser) term() (*node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.accept(tPunct, "*"), p.accept(tCmd, "cdot"):
			r, err := p.unary()
			if err != nil {
				return nil, err
			}
			left = &node{op: "mul", kids: []*node{left, r}}
		case p.accept(tPunct, "/"), p.accept(tCmd, "div"):
			r, err := p.unary()
			if err != nil {
				return nil, err
			}
			left = &node{op: "div", kids: []*node{left, r}}
		case p.startsPrimary():
			r, err := p.power()
			if err != nil {
				return nil, err
			}
			if isMixedNumber(left, r) {
				left = &node{op: "add", kids: []*node{left, r}}
			} else {
				left = &node{op: "mul", kids: []*node{left, r}}
			}
		default:
			return left, nil
		}
	}
}

// isMixedNumber reports whether an integer literal is followed by a literal
// fraction, as in 2\frac{1}{2} (= 5/2 in competition answers).
func isMixedNumber(l, r *node) bool {
	return l.op == "num" && l.val.IsInt() && l.val.Sign() > 0 && r.op == "frac" &&
		r.kids[0].op == "num" && r.kids[1].op == "num" && r.kids[0].val.IsInt() && r.kids[1].val.IsInt()
}

func (p *parser) startsPrimary() bool {
	t := p.peek()
	switch t.kind {
	case tNum, tIdent, tMatBeg, tLSet:
		return true
	case tPunct:
		return t.text == "(" || t.text == "{"
	case tCmd:
		_, rel := relOps[t.text]
		return !rel && t.text != "cdot" && t.text != "div" && t.text != "pm" && t.text != "mp" && t.text != "cup" && t.text != "circ"
	}
	return false
}

func (p *parser) unary() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if p.accept(tPunct, "-") {
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &node{op: "neg", kids: []*node{n}}, nil
	}
	if p.accept(tPunct, "+") {
		return p.unary()
	}
	return p.power()
}

// power parses postfix '!', '%', '^' (right associative) and subscripts.
func (p *parser) power() (*node, error) {
	base, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.accept(tPunct, "!"):
			base = &node{op: "fact", kids: []*node{base}}
		case p.accept(tPunct, "%"):
			base = &node{op: "div", kids: []*node{base, numNode(100)}}
		case p.accept(tPunct, "_"):
			// Subscripts name variables (x_1) or bases (log handled in fn).
			sub, err := p.primary()
			if err != nil {
				return nil, err
			}
			if base.op == "num" && base.val.IsInt() && sub.op == "num" {
				// 52_8: a numeral in another base, compared literally.
				base = &node{op: "text", name: base.val.RatString() + "_" + sub.val.RatString()}
				continue
			}
			if base.op != "var" {
				return nil, fmt.Errorf("subscript on %s", base.op)
			}
			base = &node{op: "var", name: base.name + "_" + sub.String()}
		case p.accept(tPunct, "^"):
			if p.accept(tCmd, "circ") {
				continue // degrees
			}
			var exp *node
			if p.peek().is(tPunct, "-") {
				exp, err = p.unary()
			} else {
				exp, err = p.power()
			}
			if err != nil {
				return nil, err
			}
			base = &node{op: "pow", kids: []*node{base, exp}}
		default:
			return base, nil
		}
	}
}

func numNode(v int64) *node { return &node{op: "num", val: big.NewRat(v, 1)} }
