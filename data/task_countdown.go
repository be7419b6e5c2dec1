package data

import (
	"strconv"
	"strings"
)

// countdownLevel is one difficulty of the generated countdown task.
type countdownLevel struct {
	count    int // how many numbers
	maxNum   int // numbers are drawn from 1..maxNum
	divide   bool
	maxValue int // intermediate results stay in 1..maxValue
}

var countdownLevels = [MaxDifficulty]countdownLevel{
	{count: 2, maxNum: 20, maxValue: 200},
	{count: 3, maxNum: 50, maxValue: 500},
	{count: 3, maxNum: 100, maxValue: 1000, divide: true},
	{count: 4, maxNum: 100, maxValue: 2000, divide: true},
	{count: 5, maxNum: 100, maxValue: 5000, divide: true},
}

// CountdownPrompt renders the countdown task text, e.g.
// "Make 23 from 30,100,93:". The built-in countdown dataset uses it too.
func CountdownPrompt(numbers []int, target int) string {
	s := make([]string, len(numbers))
	for i, n := range numbers {
		s[i] = strconv.Itoa(n)
	}
	return "Make " + strconv.Itoa(target) + " from " + strings.Join(s, ",") + ":"
}

// expr is a countdown sub-expression: its value, text and whether the text
// needs parentheses as an operand of * or / (it has a top-level + or -) or
// as the right operand of - or /.
type expr struct {
	val      int
	text     string
	additive bool // top-level + or -
	compound bool // has any operator
}

// combine applies op to x and y, parenthesizing operands as needed.
func combine(x, y expr, op byte) expr {
	lt, rt := x.text, y.text
	if (op == '*' || op == '/') && x.additive {
		lt = "(" + lt + ")"
	}
	if (op == '-' && y.additive) || ((op == '*' || op == '/') && y.additive) || (op == '/' && y.compound) {
		rt = "(" + rt + ")"
	}
	var v int
	switch op {
	case '+':
		v = x.val + y.val
	case '-':
		v = x.val - y.val
	case '*':
		v = x.val * y.val
	default:
		v = x.val / y.val
	}
	return expr{val: v, text: lt + string(op) + rt, additive: op == '+' || op == '-', compound: true}
}

// genCountdown draws numbers and folds them with random operators into a
// target, so every instance is solvable; the trace lists each step
// ("100-93=7,30-7=23") and the solution is one equation using every number
// once ("30-(100-93)"). The answer is the target.
func genCountdown(r *taskRNG, difficulty int) generated {
	lv := countdownLevels[difficulty-1]
	for {
		nums := make([]int, lv.count)
		for i := range nums {
			nums[i] = r.between(1, lv.maxNum)
		}
		// Fold in a random order so the solution is not always left to right.
		order := r.perm(lv.count)
		acc := expr{val: nums[order[0]], text: strconv.Itoa(nums[order[0]])}
		steps := make([]string, 0, lv.count-1)
		ok := true
		for _, k := range order[1:] {
			n := expr{val: nums[k], text: strconv.Itoa(nums[k])}
			next, step, good := countdownStep(r, acc, n, lv)
			if !good {
				ok = false
				break
			}
			acc = next
			steps = append(steps, step)
		}
		if !ok || acc.val <= 0 {
			continue
		}
		return generated{
			prompt:   CountdownPrompt(nums, acc.val),
			trace:    strings.Join(steps, ","),
			solution: acc.text,
			answer:   strconv.Itoa(acc.val),
			extra:    map[string]any{"numbers": nums, "target": acc.val},
		}
	}
}

// countdownStep picks an operator (and operand order) keeping the result a
// positive integer within lv.maxValue; it reports false when none fits.
func countdownStep(r *taskRNG, acc, n expr, lv countdownLevel) (expr, string, bool) {
	ops := "+-*"
	if lv.divide {
		ops += "/"
	}
	start := r.intn(len(ops))
	for t := 0; t < len(ops); t++ {
		op := ops[(start+t)%len(ops)]
		x, y := acc, n
		if (op == '-' || op == '/') && x.val < y.val || op != '-' && op != '/' && r.intn(2) == 0 {
			x, y = y, x
		}
		if op == '/' && (y.val == 0 || x.val%y.val != 0 || y.val == 1) {
			continue
		}
		e := combine(x, y, op)
		if e.val <= 0 || e.val > lv.maxValue {
			continue
		}
		step := strconv.Itoa(x.val) + string(op) + strconv.Itoa(y.val) + "=" + strconv.Itoa(e.val)
		return e, step, true
	}
	return expr{}, "", false
}

// perm returns a uniform permutation of 0..n-1.
func (r *taskRNG) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		j := r.intn(i + 1)
		p[i] = p[j]
		p[j] = i
	}
	return p
}
