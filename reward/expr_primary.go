package reward

import (
	"fmt"
	"math/big"
	"strings"
)

// funcs are the named functions the evaluator knows (arity 1 unless listed
// in the parser).
var funcs = map[string]bool{
	"sin": true, "cos": true, "tan": true, "cot": true, "sec": true, "csc": true,
	"arcsin": true, "arccos": true, "arctan": true, "sinh": true, "cosh": true, "tanh": true,
	"ln": true, "log": true, "exp": true, "floor": true, "ceil": true, "abs": true,
}

var greek = map[string]bool{
	"alpha": true, "beta": true, "gamma": true, "delta": true, "epsilon": true, "varepsilon": true,
	"zeta": true, "eta": true, "theta": true, "vartheta": true, "iota": true, "kappa": true,
	"lambda": true, "mu": true, "nu": true, "xi": true, "rho": true, "sigma": true, "tau": true,
	"upsilon": true, "phi": true, "varphi": true, "chi": true, "psi": true, "omega": true,
	"Gamma": true, "Delta": true, "Theta": true, "Lambda": true, "Sigma": true, "Phi": true, "Omega": true,
}

func (p *parser) primary() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.next()
	switch t.kind {
	case tNum:
		r, ok := new(big.Rat).SetString(t.text)
		if !ok {
			return nil, fmt.Errorf("bad number %q", t.text)
		}
		n := &node{op: "num", val: r}
		if strings.Contains(t.text, ".") {
			n.name = "dec"
		}
		return n, nil
	case tIdent:
		if t.text == "e" {
			return &node{op: "const", name: "e"}, nil
		}
		return &node{op: "var", name: t.text}, nil
	case tPunct:
		return p.punctPrimary(t.text)
	case tLSet:
		if p.accept(tRSet, "}") {
			return &node{op: "set"}, nil
		}
		n, err := p.list(tRSet, "}")
		if err != nil {
			return nil, err
		}
		if err := p.expect(tRSet, "}"); err != nil {
			return nil, err
		}
		return &node{op: "set", kids: listItems(n)}, nil
	case tMatBeg:
		return p.matrix()
	case tCmd:
		return p.command(t.text)
	}
	return nil, fmt.Errorf("unexpected %q", t.text)
}

func listItems(n *node) []*node {
	if n.op == "list" {
		return n.kids
	}
	return []*node{n}
}

func (p *parser) punctPrimary(open string) (*node, error) {
	switch open {
	case "(", "[":
		n, err := p.list(tPunct, ")]")
		if err != nil {
			return nil, err
		}
		cl := p.next()
		if cl.kind != tPunct || cl.text != ")" && cl.text != "]" {
			return nil, fmt.Errorf("unclosed %q", open)
		}
		if n.op != "list" && open+cl.text == "()" {
			return n, nil
		}
		if n.op != "list" && open+cl.text == "[]" {
			return n, nil
		}
		return &node{op: "tuple", name: open + cl.text, kids: listItems(n)}, nil
	case "{":
		if p.accept(tPunct, "}") {
			return &node{op: "set"}, nil
		}
		n, err := p.list(tPunct, "}")
		if err != nil {
			return nil, err
		}
		if err := p.expect(tPunct, "}"); err != nil {
			return nil, err
		}
		if n.op == "list" {
			return &node{op: "set", kids: n.kids}, nil
		}
		return n, nil
	case "|":
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tPunct, "|"); err != nil {
			return nil, err
		}
		return &node{op: "fn", name: "abs", kids: []*node{n}}, nil
	}
	return nil, fmt.Errorf("unexpected %q", open)
}

// group parses a braced argument {…} or, failing that, one primary.
func (p *parser) group() (*node, error) {
	if p.accept(tPunct, "{") {
		n, err := p.list(tPunct, "}")
		if err != nil {
			return nil, err
		}
		return n, p.expect(tPunct, "}")
	}
	return p.primary()
}

func (p *parser) command(name string) (*node, error) {
	switch {
	case name == "pi":
		return &node{op: "const", name: "pi"}, nil
	case name == "infty" || name == "infin" || name == "inf":
		return &node{op: "const", name: "inf"}, nil
	case name == "emptyset":
		return &node{op: "set"}, nil
	case name == "frac" || name == "binom":
		a, err := p.group()
		if err != nil {
			return nil, err
		}
		b, err := p.group()
		if err != nil {
			return nil, err
		}
		if name == "binom" {
			return &node{op: "fn", name: "binom", kids: []*node{a, b}}, nil
		}
		return &node{op: "frac", kids: []*node{a, b}}, nil
	case name == "sqrt":
		return p.sqrt()
	case name == "text" || name == "textbf" || name == "mathrm" || name == "mathbf" || name == "textit" ||
		name == "mathit" || name == "operatorname" || name == "mbox" || name == "textrm" || name == "boxed":
		return p.textArg()
	case name == "lfloor" || name == "lceil":
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		closer := "r" + name[1:]
		if err := p.expect(tCmd, closer); err != nil {
			return nil, err
		}
		return &node{op: "fn", name: name[1:], kids: []*node{n}}, nil
	case name == "mathbb":
		g, err := p.group()
		if err != nil {
			return nil, err
		}
		return &node{op: "const", name: "mathbb" + g.String()}, nil
	case funcs[name]:
		return p.function(name)
	case greek[name]:
		return &node{op: "var", name: name}, nil
	}
	return nil, fmt.Errorf(`unsupported command \%s`, name)
}

func (p *parser) sqrt() (*node, error) {
	var index *node
	if p.accept(tPunct, "[") {
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tPunct, "]"); err != nil {
			return nil, err
		}
		index = n
	}
	arg, err := p.group()
	if err != nil {
		return nil, err
	}
	if index == nil {
		index = numNode(2)
	}
	return &node{op: "root", kids: []*node{arg, index}}, nil
}

// textArg parses \text{…}: numbers and expressions inside are parsed as such
// (\text{(A)}, \mathbf{5}); words become a text node.
func (p *parser) textArg() (*node, error) {
	if !p.peek().is(tPunct, "{") {
		return nil, fmt.Errorf("text without braces")
	}
	start := p.pos
	save := p.depth
	if n, err := p.group(); err == nil {
		if n.op != "mul" || !allVars(n) {
			return n, nil
		}
	}
	p.pos, p.depth = start+1, save
	var words []string
	for d := 1; p.pos < len(p.toks); p.pos++ {
		t := p.toks[p.pos]
		if t.is(tPunct, "{") {
			d++
		} else if t.is(tPunct, "}") {
			if d--; d == 0 {
				p.pos++
				break
			}
		}
		words = append(words, t.text)
	}
	return &node{op: "text", name: strings.ToLower(strings.Join(words, ""))}, nil
}

// allVars reports whether n is a product of single-letter variables, i.e. a
// word such as "odd" that must not be compared as a commutative product.
func allVars(n *node) bool {
	if n.op == "var" || n.op == "const" && n.name == "e" {
		return true
	}
	if n.op != "mul" {
		return false
	}
	for _, k := range n.kids {
		if !allVars(k) {
			return false
		}
	}
	return true
}

func (p *parser) function(name string) (*node, error) {
	var base *node
	if name == "log" && p.accept(tPunct, "_") {
		b, err := p.group()
		if err != nil {
			return nil, err
		}
		base = b
	}
	var pow *node
	if p.accept(tPunct, "^") {
		e, err := p.group()
		if err != nil {
			return nil, err
		}
		pow = e
	}
	var arg *node
	var err error
	if p.peek().is(tPunct, "(") || p.peek().is(tPunct, "{") {
		arg, err = p.primary()
	} else {
		arg, err = p.power()
	}
	if err != nil {
		return nil, err
	}
	n := &node{op: "fn", name: name, kids: []*node{arg}}
	if base != nil {
		n = &node{op: "div", kids: []*node{n, {op: "fn", name: "log", kids: []*node{base}}}}
	}
	if pow != nil {
		n = &node{op: "pow", kids: []*node{n, pow}}
	}
	return n, nil
}

func (p *parser) matrix() (*node, error) {
	m := &node{op: "matrix"}
	row := &node{op: "tuple", name: "()"}
	for {
		if p.peek().kind == tMatEnd {
			p.pos++
			break
		}
		if p.peek().kind == tEOF {
			return nil, fmt.Errorf("unterminated matrix")
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		row.kids = append(row.kids, e)
		switch {
		case p.accept(tPunct, "&"):
		case p.accept(tRowSep, `\\`):
			m.kids = append(m.kids, row)
			row = &node{op: "tuple", name: "()"}
		case p.peek().kind == tMatEnd:
		default:
			return nil, fmt.Errorf("unexpected %q in matrix", p.peek().text)
		}
	}
	if len(row.kids) > 0 {
		m.kids = append(m.kids, row)
	}
	return m, nil
}
