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

// mathFunc is the `math` verifier: MathEqual between the row's answer and
// the completion's extracted answer.
type mathFunc struct {
	correct, wrong float64
	whole          bool
}

// newMath builds `math`. Options: correct (1), wrong (0), whole_answer
// (true: a completion with no answer marker that is one short line is taken
// whole as the answer).
func newMath(o Options) (Func, error) {
	if err := o.Check("correct", "wrong", "whole_answer"); err != nil {
		return nil, err
	}
	f := &mathFunc{}
	var err error
	if f.correct, err = o.Float("correct", 1); err != nil {
		return nil, err
	}
	if f.wrong, err = o.Float("wrong", 0); err != nil {
		return nil, err
	}
	if f.whole, err = o.Bool("whole_answer", true); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *mathFunc) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	for i, r := range rows {
		pred, ok := ExtractAnswer(r.Completion)
		if !ok && f.whole {
			pred, ok = wholeAnswer(r.Completion)
		}
		out[i] = Result{Reward: f.wrong}
		if ok && MathEqual(goldAnswer(r.Answer), pred) {
			out[i].Reward = f.correct
		}
	}
	return nil
}

// goldAnswer extracts the reference answer from a full solution (\boxed or
// ####) and otherwise returns it unchanged.
func goldAnswer(s string) string {
	if b, ok := lastBoxed(s); ok {
		return b
	}
	if m := reHashes.FindAllStringSubmatch(s, -1); m != nil {
		return trimAnswer(m[len(m)-1][1])
	}
	return s
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
	if f.correct, err = o.Float("correct", 1); err != nil {
		return nil, err
	}
	if f.wrong, err = o.Float("wrong", 0); err != nil {
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
