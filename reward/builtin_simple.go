package reward

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

var reFormat = regexp.MustCompile(`(?s)^\s*<think>(.*?)</think>\s*<answer>(.*?)</answer>\s*$`)

// formatFunc is the `format` reward: score when the completion is exactly
// <think>…</think><answer>…</answer> (each tag once; a prompt ending in
// <think> counts as the opening tag), else miss.
type formatFunc struct{ score, miss float64 }

// newFormat builds `format`. Options: score (1), miss (0).
func newFormat(o Options) (Func, error) {
	if err := o.Check("score", "miss"); err != nil {
		return nil, err
	}
	f := &formatFunc{}
	var err error
	if f.score, f.miss, err = o.hitMiss("score", "miss"); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *formatFunc) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	for i, r := range rows {
		c := r.Completion
		if strings.HasSuffix(strings.TrimSpace(r.Prompt), "<think>") && !strings.Contains(c, "<think>") {
			c = "<think>" + c
		}
		out[i] = Result{Reward: f.miss}
		m := reFormat.FindStringSubmatch(c)
		if m != nil && !strings.Contains(m[1], "<think>") && !strings.Contains(m[2], "<answer>") &&
			strings.Count(c, "</think>") == 1 && strings.TrimSpace(m[2]) != "" {
			out[i].Reward = f.score
		}
	}
	return nil
}

// lengthFunc is the `length` reward: DAPO's overlong shaping
// min(-(|y| - (max_len - buffer)) / buffer * factor, 0) (ALGORITHMS §1.7).
type lengthFunc struct {
	maxLen, buffer int
	factor         float64
	count          string
}

// newLength builds `length`. Options: max_len and buffer (required, 0 <
// buffer <= max_len), factor (1), count (tokens: Row.CompletionTokens,
// which must be set; chars; words).
func newLength(o Options) (Func, error) {
	if err := o.Check("max_len", "buffer", "factor", "count"); err != nil {
		return nil, err
	}
	f := &lengthFunc{}
	var err error
	if f.maxLen, err = o.Int("max_len", 0); err != nil {
		return nil, err
	}
	if f.buffer, err = o.Int("buffer", 0); err != nil {
		return nil, err
	}
	if f.factor, err = o.Float("factor", 1); err != nil {
		return nil, err
	}
	if f.count, err = o.String("count", "tokens"); err != nil {
		return nil, err
	}
	if f.buffer <= 0 || f.maxLen < f.buffer {
		return nil, fmt.Errorf("%w: length needs 0 < buffer (%d) <= max_len (%d)", ErrConfig, f.buffer, f.maxLen)
	}
	switch f.count {
	case "tokens", "chars", "words":
	default:
		return nil, optErr("count", f.count, "tokens, chars or words")
	}
	return f, nil
}

// OverlongPenalty returns DAPO's overlong reward shaping for a completion of
// n tokens: min(-(n - (maxLen - buffer)) / buffer * factor, 0). It is 0 up
// to maxLen-buffer tokens and -factor at maxLen.
func OverlongPenalty(n, maxLen, buffer int, factor float64) float64 {
	exceed := float64(n - (maxLen - buffer))
	return min(-exceed/float64(buffer)*factor, 0)
}

func (f *lengthFunc) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	for i, r := range rows {
		n := r.CompletionTokens
		switch f.count {
		case "chars":
			n = utf8.RuneCountInString(r.Completion)
		case "words":
			n = len(strings.Fields(r.Completion))
		default:
			if n <= 0 && r.Completion != "" {
				out[i].Fail(KindError, "length: row has no completion token count (set completion_tokens, or count: chars|words)")
				continue
			}
		}
		out[i] = Result{Reward: OverlongPenalty(n, f.maxLen, f.buffer, f.factor)}
	}
	return nil
}

// exactFunc is the `exact` reward: string equality of the (extracted)
// answer with the row's answer.
type exactFunc struct {
	extract, fold bool
	score, miss   float64
}

// newExact builds `exact`. Options: extract (true: compare ExtractAnswer's
// result, else the whole completion), ignore_case (false), score (1), miss (0).
// Both sides are trimmed of surrounding space.
func newExact(o Options) (Func, error) {
	if err := o.Check("extract", "ignore_case", "score", "miss"); err != nil {
		return nil, err
	}
	f := &exactFunc{}
	var err error
	if f.extract, err = o.Bool("extract", true); err != nil {
		return nil, err
	}
	if f.fold, err = o.Bool("ignore_case", false); err != nil {
		return nil, err
	}
	if f.score, f.miss, err = o.hitMiss("score", "miss"); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *exactFunc) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	for i, r := range rows {
		if !needAnswer(&r, &out[i]) {
			continue
		}
		got := r.Completion
		if f.extract {
			if a, ok := ExtractAnswer(got); ok {
				got = a
			}
		}
		got, want := strings.TrimSpace(got), strings.TrimSpace(r.Answer)
		eq := got == want || f.fold && strings.EqualFold(got, want)
		out[i] = Result{Reward: f.miss}
		if eq {
			out[i].Reward = f.score
		}
	}
	return nil
}

// regexFunc is the `regex` reward: score when pattern matches the
// completion. The placeholder {answer} in the pattern stands for the row's
// answer, quoted.
type regexFunc struct {
	re          *regexp.Regexp
	perRow      bool
	pattern     string
	score, miss float64
}

// newRegex builds `regex`. Options: pattern (required, RE2 syntax), score
// (1), miss (0).
func newRegex(o Options) (Func, error) {
	if err := o.Check("pattern", "score", "miss"); err != nil {
		return nil, err
	}
	f := &regexFunc{}
	var err error
	if f.pattern, err = o.String("pattern", ""); err != nil {
		return nil, err
	}
	if f.pattern == "" {
		return nil, fmt.Errorf("%w: regex needs option pattern", ErrConfig)
	}
	if f.score, f.miss, err = o.hitMiss("score", "miss"); err != nil {
		return nil, err
	}
	f.perRow = strings.Contains(f.pattern, "{answer}")
	test := strings.ReplaceAll(f.pattern, "{answer}", "x")
	if f.re, err = regexp.Compile(test); err != nil {
		return nil, fmt.Errorf("%w: regex pattern: %v", ErrConfig, err)
	}
	return f, nil
}

func (f *regexFunc) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	for i, r := range rows {
		re := f.re
		if f.perRow {
			if !needAnswer(&r, &out[i]) {
				continue
			}
			var err error
			re, err = regexp.Compile(strings.ReplaceAll(f.pattern, "{answer}", regexp.QuoteMeta(strings.TrimSpace(r.Answer))))
			if err != nil {
				out[i].Fail(KindError, "regex: %v", err)
				continue
			}
		}
		out[i] = Result{Reward: f.miss}
		if re.MatchString(r.Completion) {
			out[i].Reward = f.score
		}
	}
	return nil
}
