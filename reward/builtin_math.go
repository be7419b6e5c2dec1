package reward

import (
	"context"
	"math/big"
	"regexp"
	"strings"
)

func init() {
	Register("math", newMath)
	Register("gsm8k", newGSM8K)
	Register("countdown", newCountdown)
	Register("format", newFormat)
	Register("length", newLength)
	Register("exact", newExact)
	Register("regex", newRegex)
	Register("subprocess", newSubprocessFactory)
	Register("http", newHTTPFactory)
}

// mathFunc is the `math` verifier: MathEqualWith between the row's answer
// and the answer ExtractMath finds in the completion.
type mathFunc struct {
	correct, wrong float64
	whole          bool
	opts           MathOptions
}

// newMath builds `math`. Options: correct (1), wrong (0), whole_answer
// (true: a one-line completion that parses as math is taken whole as the
// answer), precision (6), strict_variables (true), allow_set_relation_comp
// (false) — see MathOptions and MATH_RULES.md.
func newMath(o Options) (Func, error) {
	if err := o.Check("correct", "wrong", "whole_answer", "precision", "strict_variables", "allow_set_relation_comp"); err != nil {
		return nil, err
	}
	f := &mathFunc{}
	var err error
	if f.correct, f.wrong, err = o.hitMiss("correct", "wrong"); err != nil {
		return nil, err
	}
	if f.whole, err = o.Bool("whole_answer", true); err != nil {
		return nil, err
	}
	if f.opts, err = mathOptions(o); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *mathFunc) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	for i, r := range rows {
		if !needAnswer(&r, &out[i]) {
			continue
		}
		out[i] = Result{Reward: f.wrong}
		if explainMath(r.Completion, r.Answer, f.whole, f.opts).Equal {
			out[i].Reward = f.correct
		}
	}
	return nil
}

// goldAnswer extracts the reference answer from a full solution (\boxed or
// ####) and otherwise returns it unchanged.
func goldAnswer(s string) string {
	a, _ := goldExtract(s)
	return a
}

// goldExtract reads a reference answer: the last \boxed group or "####" of a
// full solution; the whole text when it parses as math (so "1, 2" stays a
// list); else what ExtractMath finds ("$x = 3$ is the answer"); else the text.
func goldExtract(s string) (string, string) {
	if len(s) > maxMathInput {
		return "", RuleNone
	}
	if b, ok := lastBoxedGroup(s); ok {
		return b.Answer, RuleBoxed
	}
	if m := reHashes.FindAllStringSubmatch(s, -1); m != nil {
		return trimAnswer(m[len(m)-1][1]), RuleHashes
	}
	if strings.Count(s, "$") <= 2 || parsesAsMath(s) {
		return s, RuleWhole
	}
	if ex := ExtractMath(s, false); ex.Rule != RuleNone {
		return ex.Answer, ex.Rule
	}
	return s, RuleWhole
}

func wholeAnswer(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 120 || strings.Contains(s, "\n") {
		return "", false
	}
	return trimAnswer(s), true
}

// gsm8kFunc is the `gsm8k` verifier: numeric equality of the answer after
// "####" (or in <answer>, \boxed, "the answer is"), with commas, dollar
// signs and units ignored.
type gsm8kFunc struct {
	correct, wrong float64
	flexible       bool
}

// newGSM8K builds `gsm8k`. Options: correct (1), wrong (0), mode (strict:
// an answer marker is required; flexible: fall back to the last number in
// the completion).
func newGSM8K(o Options) (Func, error) {
	if err := o.Check("correct", "wrong", "mode"); err != nil {
		return nil, err
	}
	f := &gsm8kFunc{}
	var err error
	if f.correct, f.wrong, err = o.hitMiss("correct", "wrong"); err != nil {
		return nil, err
	}
	mode, err := o.String("mode", "strict")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "strict":
	case "flexible":
		f.flexible = true
	default:
		return nil, optErr("mode", mode, "strict or flexible")
	}
	return f, nil
}

var reNumber = regexp.MustCompile(`-?\d[\d,]*(?:\.\d+)?|-?\.\d+`)

// GSM8KAnswer returns the number a GSM8K-style text ends with: the last
// number after the last "####" (else in <answer>, \boxed or "the answer
// is"; with flexible, else the last number anywhere), commas removed.
func GSM8KAnswer(text string, flexible bool) (*big.Rat, bool) {
	span := ""
	if m := reHashes.FindAllStringSubmatch(text, -1); m != nil {
		span = m[len(m)-1][1]
	} else if v, ok := ExtractAnswer(text); ok {
		span = v
	} else if flexible {
		span = text
	}
	nums := reNumber.FindAllString(span, -1)
	if nums == nil {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(strings.ReplaceAll(nums[len(nums)-1], ",", ""))
	return r, ok
}

func (f *gsm8kFunc) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	for i, r := range rows {
		if !needAnswer(&r, &out[i]) {
			continue
		}
		out[i] = Result{Reward: f.wrong}
		gold, ok := GSM8KAnswer(r.Answer, true)
		if !ok {
			out[i].Fail(KindError, "gsm8k: no number in the reference answer %q", clip(r.Answer, 80))
			continue
		}
		pred, ok := GSM8KAnswer(r.Completion, f.flexible)
		if ok && pred.Cmp(gold) == 0 {
			out[i].Reward = f.correct
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
