package objective

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Rule names a quadrature rule on the masking time t ∈ [0,1] (ALGORITHMS §3.2).
type Rule string

// Rules. Gauss–Legendre with n = 1..5 nodes ("gauss-n"), and the reference's
// Simpson variant on t ∈ {0.1, 0.5, 1.0} with weights (1, 4, 1)/6 (t = 0 is
// avoided because of the 1/t singularity).
const (
	RuleGauss1  Rule = "gauss-1"
	RuleGauss2  Rule = "gauss-2" // rlpipe default (§7)
	RuleGauss3  Rule = "gauss-3"
	RuleGauss4  Rule = "gauss-4"
	RuleGauss5  Rule = "gauss-5"
	RuleSimpson Rule = "simpson"
)

// Quadrature returns the nodes t_n ∈ (0,1] in ascending order and their
// effective weights (Σ w = 1). Gauss nodes x on [−1,1] map to t = 0.5x + 0.5
// with weight 0.5·w, as the reference. "" means gauss-2. The slices are new
// on every call.
func Quadrature(r Rule) (t, w []float64, err error) {
	if r == "" {
		r = RuleGauss2
	}
	if r == RuleSimpson {
		return []float64{0.1, 0.5, 1.0}, []float64{1.0 / 6, 4.0 / 6, 1.0 / 6}, nil
	}
	n, ok := gaussOrder(r)
	if !ok {
		return nil, nil, fmt.Errorf("%w: quadrature rule %q: want gauss-1..gauss-5 or simpson", ErrInvalid, r)
	}
	x, wx := gaussLegendre(n)
	t, w = make([]float64, n), make([]float64, n)
	for i := range x {
		t[i] = 0.5*x[i] + 0.5
		w[i] = 0.5 * wx[i]
	}
	return t, w, nil
}

func gaussOrder(r Rule) (int, bool) {
	s, ok := strings.CutPrefix(string(r), "gauss-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 5 {
		return 0, false
	}
	return n, true
}

// gaussLegendre returns the n-point Gauss–Legendre nodes on [−1,1] in
// ascending order and their weights, by Newton iteration on P_n to machine
// precision (cheaper to verify than a hand-typed table).
func gaussLegendre(n int) (x, w []float64) {
	x, w = make([]float64, n), make([]float64, n)
	for i := range n {
		z := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		for range 100 {
			p, d := legendre(n, z)
			dz := p / d
			z -= dz
			if math.Abs(dz) < 1e-16 {
				break
			}
		}
		_, dp := legendre(n, z)
		x[i] = z
		w[i] = 2 / ((1 - z*z) * dp * dp)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	xs, ws := make([]float64, n), make([]float64, n)
	for k, i := range idx {
		xs[k], ws[k] = x[i], w[i]
	}
	return xs, ws
}

// legendre returns P_n(z) and P_n'(z) by the three-term recurrence.
func legendre(n int, z float64) (p, dp float64) {
	p0, p1 := 1.0, z
	if n == 0 {
		return 1, 0
	}
	for k := 2; k <= n; k++ {
		p0, p1 = p1, (float64(2*k-1)*z*p1-float64(k-1)*p0)/float64(k)
	}
	return p1, float64(n) * (z*p1 - p0) / (z*z - 1)
}
