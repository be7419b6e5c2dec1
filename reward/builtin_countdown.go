package reward

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// countdownFunc is the `countdown` verifier (TinyZero's scoring): the
// expression in the last <answer> must use every given number exactly once
// with only + - * / and parentheses and equal the target exactly.
type countdownFunc struct {
	score, format, none float64
}

// newCountdown builds `countdown`. Options: score (1.0, right), format_score
// (0.1, an <answer> that is wrong or malformed), no_answer (0).
func newCountdown(o Options) (Func, error) {
	if err := o.Check("score", "format_score", "no_answer"); err != nil {
		return nil, err
	}
	f := &countdownFunc{}
	var err error
	if f.score, err = o.Float("score", 1); err != nil {
		return nil, err
	}
	if f.format, err = o.Float("format_score", 0.1); err != nil {
		return nil, err
	}
	if f.none, err = o.Float("no_answer", 0); err != nil {
		return nil, err
	}
	return f, nil
}

func optErr(key, got, want string) error {
	return fmt.Errorf("%w: option %q: %q (want %s)", ErrConfig, key, got, want)
}

func (f *countdownFunc) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	for i, r := range rows {
		nums, target, err := CountdownProblem(r.Answer, r.Meta)
		if errors.Is(err, ErrNoAnswer) {
			out[i].Fail(KindNoAnswer, "%v", err)
			continue
		}
		if err != nil {
			out[i].Fail(KindError, "countdown: %v", err)
			continue
		}
		m := reAnswerTag.FindAllStringSubmatch(r.Completion, -1)
		if m == nil {
			out[i] = Result{Reward: f.none}
			continue
		}
		out[i] = Result{Reward: f.format}
		if CountdownCorrect(m[len(m)-1][1], nums, target) {
			out[i].Reward = f.score
		}
	}
	return nil
}

// CountdownProblem reads a countdown row: numbers from meta (`numbers`,
// `nums`, or `input` as a list or a comma-separated string) and the target
// from answer (else meta `target` or `output`).
func CountdownProblem(answer, meta string) (nums []*big.Rat, target *big.Rat, err error) {
	var m map[string]json.RawMessage
	if strings.TrimSpace(meta) != "" {
		if err := json.Unmarshal([]byte(meta), &m); err != nil {
			return nil, nil, fmt.Errorf("meta is not a JSON object: %w", err)
		}
	}
	for _, k := range []string{"numbers", "nums", "input"} {
		if raw, ok := m[k]; ok {
			if nums, err = numberList(raw); err != nil {
				return nil, nil, fmt.Errorf("meta field %q: %w", k, err)
			}
			break
		}
	}
	if len(nums) == 0 {
		return nil, nil, fmt.Errorf("meta has no numbers (want \"numbers\", \"nums\" or \"input\")")
	}
	tgt := strings.TrimSpace(answer)
	for _, k := range []string{"target", "output"} {
		if raw, ok := m[k]; ok && tgt == "" {
			tgt = strings.Trim(strings.TrimSpace(string(raw)), `"`)
		}
	}
	if tgt == "" {
		return nil, nil, fmt.Errorf("%w (and meta has no \"target\")", ErrNoAnswer)
	}
	target, ok := new(big.Rat).SetString(tgt)
	if !ok {
		return nil, nil, fmt.Errorf("target %q is not a number", tgt)
	}
	return nums, target, nil
}

func numberList(raw json.RawMessage) ([]*big.Rat, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("want a list of numbers or a comma-separated string")
		}
		for _, f := range strings.Split(s, ",") {
			items = append(items, json.RawMessage(strconv.Quote(strings.TrimSpace(f))))
		}
	}
	out := make([]*big.Rat, 0, len(items))
	for _, it := range items {
		t := strings.Trim(strings.TrimSpace(string(it)), `"`)
		r, ok := new(big.Rat).SetString(t)
		if !ok {
			return nil, fmt.Errorf("%q is not a number", t)
		}
		out = append(out, r)
	}
	return out, nil
}

// CountdownCorrect reports whether expr uses exactly the numbers nums, each
// once, with binary + - * / and parentheses only, and evaluates exactly to
// target. As in TinyZero's countdown scorer, an expression with any other
// character — "=", "×", "÷", "\\times", a letter, "$" — is not accepted
// (the row gets the format score). The numbers used are the runs of digits
// ("3.0" uses 3 and 0), as TinyZero counts them.
func CountdownCorrect(expr string, nums []*big.Rat, target *big.Rat) bool {
	if !countdownChars(expr) {
		return false
	}
	p := cdParser{s: expr}
	v, err := p.sum(0)
	if err != nil || p.skip() < len(p.s) {
		return false
	}
	// TinyZero checks the numbers as the runs of digits in the expression,
	// so "3.0" uses 3 and 0, not 3.
	used := digitRuns(expr)
	if len(used) != len(nums) {
		return false
	}
	a := ratStrings(used)
	b := ratStrings(nums)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return v.Cmp(target) == 0
}

// countdownChars reports whether s is non-empty and made only of TinyZero's
// allowed characters: digits, + - * / ( ) . and whitespace.
func countdownChars(s string) bool {
	if strings.TrimSpace(s) == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || strings.IndexByte("+-*/(). \t\n\r", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// digitRuns returns the maximal runs of digits in s as numbers.
func digitRuns(s string) []*big.Rat {
	var out []*big.Rat
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		r, _ := new(big.Rat).SetString(s[i:j])
		out = append(out, r)
		i = j
	}
	return out
}

func ratStrings(rs []*big.Rat) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.RatString()
	}
	sort.Strings(out)
	return out
}

// cdParser evaluates countdown expressions exactly.
type cdParser struct {
	s string
	i int
}

func (p *cdParser) skip() int {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
	return p.i
}

func (p *cdParser) sum(depth int) (*big.Rat, error) {
	if depth > 100 {
		return nil, fmt.Errorf("too deep")
	}
	v, err := p.product(depth)
	if err != nil {
		return nil, err
	}
	for p.skip() < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		op := p.s[p.i]
		p.i++
		w, err := p.product(depth)
		if err != nil {
			return nil, err
		}
		if op == '+' {
			v = new(big.Rat).Add(v, w)
		} else {
			v = new(big.Rat).Sub(v, w)
		}
	}
	return v, nil
}

func (p *cdParser) product(depth int) (*big.Rat, error) {
	v, err := p.atom(depth)
	if err != nil {
		return nil, err
	}
	for p.skip() < len(p.s) && (p.s[p.i] == '*' || p.s[p.i] == '/') {
		op := p.s[p.i]
		p.i++
		w, err := p.atom(depth)
		if err != nil {
			return nil, err
		}
		if op == '*' {
			v = new(big.Rat).Mul(v, w)
		} else {
			if w.Sign() == 0 {
				return nil, fmt.Errorf("division by zero")
			}
			v = new(big.Rat).Quo(v, w)
		}
	}
	return v, nil
}

func (p *cdParser) atom(depth int) (*big.Rat, error) {
	if p.skip() >= len(p.s) {
		return nil, fmt.Errorf("unexpected end")
	}
	if p.s[p.i] == '(' {
		p.i++
		v, err := p.sum(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.skip() >= len(p.s) || p.s[p.i] != ')' {
			return nil, fmt.Errorf("missing )")
		}
		p.i++
		return v, nil
	}
	j := p.i
	for j < len(p.s) && (p.s[j] >= '0' && p.s[j] <= '9' || p.s[j] == '.') {
		j++
	}
	if j == p.i {
		return nil, fmt.Errorf("unexpected %q", p.s[p.i])
	}
	v, ok := new(big.Rat).SetString(p.s[p.i:j])
	if !ok {
		return nil, fmt.Errorf("bad number %q", p.s[p.i:j])
	}
	p.i = j
	return v, nil
}
