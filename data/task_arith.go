package data

import (
	"strconv"
	"strings"
)

// arithLevel is one difficulty level of the arithmetic task: digit ranges
// of the operands of + and −, and of ×'s multiplicand and multiplier.
type arithLevel struct {
	ops              string // operator mix, one byte per choice
	addMin, addMax   int    // digits of each operand of + and − (results stay >= 0)
	mulAMin, mulAMax int    // digits of the multiplicand
	mulBDigits       int    // digits of the multiplier
}

// arithLevels[d-1] is difficulty d. Level 2 (the default) keeps prompt plus
// completion under ~70 bytes so a small byte-level model can learn it.
var arithLevels = [MaxDifficulty]arithLevel{
	{ops: "+-", addMin: 1, addMax: 2},
	{ops: "++--*", addMin: 2, addMax: 3, mulAMin: 2, mulAMax: 2, mulBDigits: 1},
	{ops: "++--**", addMin: 3, addMax: 4, mulAMin: 2, mulAMax: 3, mulBDigits: 1},
	{ops: "+-*", addMin: 4, addMax: 5, mulAMin: 2, mulAMax: 3, mulBDigits: 2},
	{ops: "+-*", addMin: 5, addMax: 6, mulAMin: 3, mulAMax: 4, mulBDigits: 2},
}

// randDigits returns a uniform number with exactly n decimal digits (n >= 1;
// one digit includes 0).
func randDigits(r *taskRNG, n int) int {
	if n == 1 {
		return r.intn(10)
	}
	lo := pow10(n - 1)
	return lo + r.intn(9*lo)
}

func pow10(n int) int {
	p := 1
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// genArithmetic draws one problem "A op B=" with its worked trace.
func genArithmetic(r *taskRNG, difficulty int) generated {
	lv := arithLevels[difficulty-1]
	op := lv.ops[r.intn(len(lv.ops))]
	var a, b int
	var trace string
	var result int
	switch op {
	case '+':
		a = randDigits(r, r.between(lv.addMin, lv.addMax))
		b = randDigits(r, r.between(lv.addMin, lv.addMax))
		trace, result = addTrace(a, b), a+b
	case '-':
		a = randDigits(r, r.between(lv.addMin, lv.addMax))
		b = randDigits(r, r.between(lv.addMin, lv.addMax))
		if a < b {
			a, b = b, a
		}
		trace, result = subTrace(a, b), a-b
	default:
		a = randDigits(r, r.between(lv.mulAMin, lv.mulAMax))
		b = randDigits(r, lv.mulBDigits)
		trace, result = mulTrace(a, b), a*b
	}
	ans := strconv.Itoa(result)
	return generated{
		prompt:   strconv.Itoa(a) + string(op) + strconv.Itoa(b) + "=",
		trace:    trace,
		solution: ans,
		answer:   ans,
	}
}

// digitsLE returns n's decimal digits, least significant first (0 -> [0]).
func digitsLE(n int) []int {
	if n == 0 {
		return []int{0}
	}
	var d []int
	for ; n > 0; n /= 10 {
		d = append(d, n%10)
	}
	return d
}

func digitAt(d []int, i int) int {
	if i < len(d) {
		return d[i]
	}
	return 0
}

// addTrace writes column-wise addition right to left with carries, e.g.
// 58+67: "8+7=15,5+6+1=12".
func addTrace(a, b int) string {
	da, db := digitsLE(a), digitsLE(b)
	var sb strings.Builder
	carry := 0
	for i := 0; i < max(len(da), len(db)); i++ {
		x, y := digitAt(da, i), digitAt(db, i)
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Itoa(x) + "+" + strconv.Itoa(y))
		if carry > 0 {
			sb.WriteString("+1")
		}
		s := x + y + carry
		sb.WriteString("=" + strconv.Itoa(s))
		carry = s / 10
	}
	return sb.String()
}

// subTrace writes column-wise subtraction (a >= b) right to left; a column
// that borrows shows its digit plus ten, the next column subtracts the
// borrow, e.g. 342-15: "12-5=7,4-1-1=2,3-0=3".
func subTrace(a, b int) string {
	da, db := digitsLE(a), digitsLE(b)
	var sb strings.Builder
	borrow := 0
	for i := range da {
		x, y := da[i], digitAt(db, i)
		next := 0
		if x-borrow < y {
			x += 10
			next = 1
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Itoa(x) + "-" + strconv.Itoa(y))
		if borrow > 0 {
			sb.WriteString("-1")
		}
		sb.WriteString("=" + strconv.Itoa(x-y-borrow))
		borrow = next
	}
	return sb.String()
}

// mulTrace multiplies digit by digit for a one-digit multiplier, e.g.
// 23*5: "3*5=15,2*5+1=11"; for longer multipliers it lists the partial
// products and their sum, e.g. 23*45: "23*5=115,23*4=92,115+920=1035".
func mulTrace(a, b int) string {
	if b < 10 {
		da := digitsLE(a)
		var sb strings.Builder
		carry := 0
		for i, x := range da {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.Itoa(x) + "*" + strconv.Itoa(b))
			if carry > 0 {
				sb.WriteString("+" + strconv.Itoa(carry))
			}
			p := x*b + carry
			sb.WriteString("=" + strconv.Itoa(p))
			carry = p / 10
		}
		return sb.String()
	}
	db := digitsLE(b)
	parts := make([]string, 0, len(db)+1)
	terms := make([]string, 0, len(db))
	for i, d := range db {
		p := a * d
		parts = append(parts, strconv.Itoa(a)+"*"+strconv.Itoa(d)+"="+strconv.Itoa(p))
		terms = append(terms, strconv.Itoa(p*pow10(i)))
	}
	parts = append(parts, strings.Join(terms, "+")+"="+strconv.Itoa(a*b))
	return strings.Join(parts, ",")
}
