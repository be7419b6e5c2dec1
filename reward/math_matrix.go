package reward

// foldMatrix evaluates matrix arithmetic in n — sums, products, scalar
// multiples and negation of matrices — into one matrix node whose entries
// are (unevaluated) scalar expressions, so "A + B" written out compares
// element-wise with the reference (MATH_RULES.md §5). Nodes without matrix
// arithmetic are returned unchanged.
func foldMatrix(n *node) *node {
	m, ok := matrixValue(n, 0)
	if !ok {
		return n
	}
	return m
}

// maxMatrixCells bounds the work on a folded product.
const maxMatrixCells = 4096

func matrixValue(n *node, depth int) (*node, bool) {
	if depth > 32 {
		return nil, false
	}
	switch n.op {
	case "matrix":
		return n, rectangular(n)
	case "neg":
		m, ok := matrixValue(n.kids[0], depth+1)
		if !ok {
			return nil, false
		}
		return mapCells(m, func(c *node) *node { return neg(c) }), true
	case "add", "mul":
		l, lok := matrixValue(n.kids[0], depth+1)
		r, rok := matrixValue(n.kids[1], depth+1)
		switch {
		case lok && rok && n.op == "add":
			if len(l.kids) != len(r.kids) || len(l.kids[0].kids) != len(r.kids[0].kids) {
				return nil, false
			}
			out := &node{op: "matrix"}
			for i, row := range l.kids {
				nr := &node{op: "tuple", name: "()"}
				for j, c := range row.kids {
					nr.kids = append(nr.kids, &node{op: "add", kids: []*node{c, r.kids[i].kids[j]}})
				}
				out.kids = append(out.kids, nr)
			}
			return out, true
		case lok && rok:
			return matMul(l, r)
		case n.op == "mul" && lok && isScalar(n.kids[1]) && !hasMatrix(n.kids[1]):
			s := n.kids[1]
			return mapCells(l, func(c *node) *node { return &node{op: "mul", kids: []*node{c, s}} }), true
		case n.op == "mul" && rok && isScalar(n.kids[0]) && !hasMatrix(n.kids[0]):
			s := n.kids[0]
			return mapCells(r, func(c *node) *node { return &node{op: "mul", kids: []*node{s, c}} }), true
		}
	}
	return nil, false
}

func rectangular(m *node) bool {
	if len(m.kids) == 0 {
		return false
	}
	w := len(m.kids[0].kids)
	for _, r := range m.kids {
		if len(r.kids) != w || w == 0 {
			return false
		}
	}
	return true
}

func mapCells(m *node, f func(*node) *node) *node {
	out := &node{op: "matrix"}
	for _, row := range m.kids {
		nr := &node{op: "tuple", name: "()"}
		for _, c := range row.kids {
			nr.kids = append(nr.kids, f(c))
		}
		out.kids = append(out.kids, nr)
	}
	return out
}

func matMul(a, b *node) (*node, bool) {
	rows, inner, cols := len(a.kids), len(a.kids[0].kids), len(b.kids[0].kids)
	if inner != len(b.kids) || rows*cols*inner > maxMatrixCells {
		return nil, false
	}
	out := &node{op: "matrix"}
	for i := 0; i < rows; i++ {
		nr := &node{op: "tuple", name: "()"}
		for j := 0; j < cols; j++ {
			var sum *node
			for k := 0; k < inner; k++ {
				t := &node{op: "mul", kids: []*node{a.kids[i].kids[k], b.kids[k].kids[j]}}
				if sum == nil {
					sum = t
				} else {
					sum = &node{op: "add", kids: []*node{sum, t}}
				}
			}
			nr.kids = append(nr.kids, sum)
		}
		out.kids = append(out.kids, nr)
	}
	return out, true
}

func hasMatrix(n *node) bool {
	if n.op == "matrix" {
		return true
	}
	for _, k := range n.kids {
		if hasMatrix(k) {
			return true
		}
	}
	return false
}
