package reward

import (
	"fmt"
	"math"
	"math/big"
)

// value is a real number: exact (a big.Rat) when every step allowed it,
// otherwise a float64.
type value struct {
	r     *big.Rat
	f     float64
	exact bool
}

func exactVal(r *big.Rat) value { return value{r: r, exact: true} }
func floatVal(f float64) value  { return value{f: f} }

func (v value) float() float64 {
	if v.exact {
		f, _ := v.r.Float64()
		return f
	}
	return v.f
}

// maxRatBits bounds exact arithmetic; beyond it values degrade to floats.
const maxRatBits = 1 << 14

func norm(r *big.Rat) value {
	if r.Num().BitLen()+r.Denom().BitLen() > maxRatBits {
		f, _ := r.Float64()
		return floatVal(f)
	}
	return exactVal(r)
}

var errDomain = fmt.Errorf("outside the domain")

// eval evaluates a scalar node with variables bound by env.
func eval(n *node, env map[string]value) (value, error) {
	switch n.op {
	case "num":
		return exactVal(n.val), nil
	case "var":
		v, ok := env[n.name]
		if !ok {
			return value{}, fmt.Errorf("unbound variable %s", n.name)
		}
		return v, nil
	case "const":
		switch n.name {
		case "pi":
			return floatVal(math.Pi), nil
		case "e":
			return floatVal(math.E), nil
		case "inf":
			return floatVal(math.Inf(1)), nil
		}
		return value{}, fmt.Errorf("constant %s has no value", n.name)
	case "neg":
		a, err := eval(n.kids[0], env)
		if err != nil {
			return value{}, err
		}
		if a.exact {
			return exactVal(new(big.Rat).Neg(a.r)), nil
		}
		return floatVal(-a.f), nil
	case "add", "mul", "div", "frac":
		return evalBinary(n, env)
	case "pow":
		return evalPow(n, env)
	case "root":
		return evalRoot(n, env)
	case "fact":
		return evalFact(n, env)
	case "fn":
		return evalFunc(n, env)
	}
	return value{}, fmt.Errorf("%s is not a number", n.op)
}

// evalPair evaluates a binary node's two operands.
func evalPair(n *node, env map[string]value) (a, b value, err error) {
	if a, err = eval(n.kids[0], env); err != nil {
		return value{}, value{}, err
	}
	b, err = eval(n.kids[1], env)
	return a, b, err
}

func evalBinary(n *node, env map[string]value) (value, error) {
	a, b, err := evalPair(n, env)
	if err != nil {
		return value{}, err
	}
	if a.exact && b.exact {
		r := new(big.Rat)
		switch n.op {
		case "add":
			r.Add(a.r, b.r)
		case "mul":
			r.Mul(a.r, b.r)
		default:
			if b.r.Sign() == 0 {
				return value{}, errDomain
			}
			r.Quo(a.r, b.r)
		}
		return norm(r), nil
	}
	x, y := a.float(), b.float()
	switch n.op {
	case "add":
		return floatVal(x + y), nil
	case "mul":
		return floatVal(x * y), nil
	}
	if y == 0 {
		return value{}, errDomain
	}
	return floatVal(x / y), nil
}

func evalPow(n *node, env map[string]value) (value, error) {
	a, b, err := evalPair(n, env)
	if err != nil {
		return value{}, err
	}
	if a.exact && b.exact && b.r.IsInt() && b.r.Num().IsInt64() {
		e := b.r.Num().Int64()
		bits := int64(a.r.Num().BitLen() + a.r.Denom().BitLen())
		if e >= -1024 && e <= 1024 && bits*abs64(e) <= maxRatBits {
			if e < 0 && a.r.Sign() == 0 {
				return value{}, errDomain
			}
			num := new(big.Int).Exp(a.r.Num(), big.NewInt(abs64(e)), nil)
			den := new(big.Int).Exp(a.r.Denom(), big.NewInt(abs64(e)), nil)
			if e < 0 {
				num, den = den, num
			}
			return norm(new(big.Rat).SetFrac(num, den)), nil
		}
	}
	if a.exact && b.exact && !b.r.IsInt() && b.r.Num().IsInt64() && b.r.Denom().IsInt64() {
		// a^(p/q) = (q-th root of a)^p when the root is exact.
		if root, ok := exactRoot(a.r, b.r.Denom().Int64()); ok {
			return evalPow(&node{op: "pow", kids: []*node{{op: "num", val: root}, {op: "num", val: new(big.Rat).SetInt(b.r.Num())}}}, env)
		}
	}
	x, y := a.float(), b.float()
	if x < 0 && y != math.Trunc(y) {
		return value{}, errDomain
	}
	r := math.Pow(x, y)
	if math.IsNaN(r) || math.IsInf(r, 0) && !math.IsInf(x, 0) {
		return value{}, errDomain
	}
	return floatVal(r), nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// exactRoot returns the exact k-th root of r when numerator and denominator
// are perfect k-th powers.
func exactRoot(r *big.Rat, k int64) (*big.Rat, bool) {
	if k < 2 || k > 64 || r.Sign() < 0 && k%2 == 0 {
		return nil, false
	}
	neg := r.Sign() < 0
	num := new(big.Int).Abs(r.Num())
	n, ok := intRoot(num, k)
	if !ok {
		return nil, false
	}
	d, ok := intRoot(r.Denom(), k)
	if !ok {
		return nil, false
	}
	if neg {
		n.Neg(n)
	}
	return new(big.Rat).SetFrac(n, d), true
}

func intRoot(x *big.Int, k int64) (*big.Int, bool) {
	if x.Sign() == 0 {
		return new(big.Int), true
	}
	if k == 2 {
		s := new(big.Int).Sqrt(x)
		return s, new(big.Int).Mul(s, s).Cmp(x) == 0
	}
	f, _ := new(big.Float).SetInt(x).Float64()
	guess := int64(math.Round(math.Pow(f, 1/float64(k))))
	for g := guess - 1; g <= guess+1; g++ {
		if g < 0 {
			continue
		}
		gi := big.NewInt(g)
		if new(big.Int).Exp(gi, big.NewInt(k), nil).Cmp(x) == 0 {
			return gi, true
		}
	}
	return nil, false
}

func evalRoot(n *node, env map[string]value) (value, error) {
	a, err := eval(n.kids[0], env)
	if err != nil {
		return value{}, err
	}
	k, err := eval(n.kids[1], env)
	if err != nil {
		return value{}, err
	}
	if k.exact && k.r.IsInt() && k.r.Num().IsInt64() {
		ki := k.r.Num().Int64()
		if a.exact {
			if r, ok := exactRoot(a.r, ki); ok {
				return exactVal(r), nil
			}
		}
		x := a.float()
		if x < 0 {
			if ki%2 == 0 {
				return value{}, errDomain
			}
			return floatVal(-math.Pow(-x, 1/float64(ki))), nil
		}
		return floatVal(math.Pow(x, 1/float64(ki))), nil
	}
	x, y := a.float(), k.float()
	if x < 0 || y == 0 {
		return value{}, errDomain
	}
	return floatVal(math.Pow(x, 1/y)), nil
}

func evalFact(n *node, env map[string]value) (value, error) {
	a, err := eval(n.kids[0], env)
	if err != nil {
		return value{}, err
	}
	if !a.exact || !a.r.IsInt() || a.r.Sign() < 0 || a.r.Num().Cmp(big.NewInt(300)) > 0 {
		return value{}, errDomain
	}
	r := new(big.Int).MulRange(1, a.r.Num().Int64())
	return norm(new(big.Rat).SetInt(r)), nil
}

func evalFunc(n *node, env map[string]value) (value, error) {
	args := make([]value, len(n.kids))
	for i, k := range n.kids {
		v, err := eval(k, env)
		if err != nil {
			return value{}, err
		}
		args[i] = v
	}
	a := args[0]
	switch n.name {
	case "abs":
		if a.exact {
			return exactVal(new(big.Rat).Abs(a.r)), nil
		}
		return floatVal(math.Abs(a.f)), nil
	case "floor", "ceil":
		if a.exact {
			q := new(big.Int).Div(a.r.Num(), a.r.Denom()) // Euclidean: floor for positive denominators
			if n.name == "ceil" && !a.r.IsInt() {
				q.Add(q, big.NewInt(1))
			}
			return exactVal(new(big.Rat).SetInt(q)), nil
		}
		if n.name == "floor" {
			return floatVal(math.Floor(a.f)), nil
		}
		return floatVal(math.Ceil(a.f)), nil
	case "binom":
		b := args[1]
		if !a.exact || !b.exact || !a.r.IsInt() || !b.r.IsInt() || !a.r.Num().IsInt64() || !b.r.Num().IsInt64() {
			return value{}, errDomain
		}
		nn, kk := a.r.Num().Int64(), b.r.Num().Int64()
		if nn < 0 || kk < 0 || kk > nn || nn > 10000 {
			return value{}, errDomain
		}
		return norm(new(big.Rat).SetInt(new(big.Int).Binomial(nn, kk))), nil
	}
	return floatFunc(n.name, a.float())
}

// floatFuncs are the functions evaluated in float64.
var floatFuncs = map[string]func(float64) float64{
	"sin":    math.Sin,
	"cos":    math.Cos,
	"tan":    math.Tan,
	"cot":    func(x float64) float64 { return 1 / math.Tan(x) },
	"sec":    func(x float64) float64 { return 1 / math.Cos(x) },
	"csc":    func(x float64) float64 { return 1 / math.Sin(x) },
	"arcsin": math.Asin,
	"arccos": math.Acos,
	"arctan": math.Atan,
	"sinh":   math.Sinh,
	"cosh":   math.Cosh,
	"tanh":   math.Tanh,
	"exp":    math.Exp,
	// Log of x <= 0 is -Inf or NaN, which floatFunc reports as errDomain.
	"ln":  math.Log,
	"log": math.Log,
}

func floatFunc(name string, x float64) (value, error) {
	f, ok := floatFuncs[name]
	if !ok {
		return value{}, fmt.Errorf("unknown function %s", name)
	}
	r := f(x)
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return value{}, errDomain
	}
	return floatVal(r), nil
}
