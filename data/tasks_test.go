package data

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// evalExpr evaluates integer + - * / with parentheses (test oracle).
func evalExpr(s string) (int, error) {
	p := &exprParser{s: s}
	v, err := p.sum()
	if err == nil && p.i != len(p.s) {
		err = fmt.Errorf("trailing %q", p.s[p.i:])
	}
	return v, err
}

type exprParser struct {
	s string
	i int
}

func (p *exprParser) sum() (int, error) {
	v, err := p.product()
	for err == nil && p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		op := p.s[p.i]
		p.i++
		var w int
		if w, err = p.product(); op == '+' {
			v += w
		} else {
			v -= w
		}
	}
	return v, err
}

func (p *exprParser) product() (int, error) {
	v, err := p.atom()
	for err == nil && p.i < len(p.s) && (p.s[p.i] == '*' || p.s[p.i] == '/') {
		op := p.s[p.i]
		p.i++
		var w int
		w, err = p.atom()
		switch {
		case err != nil:
		case op == '*':
			v *= w
		case w == 0 || v%w != 0:
			err = fmt.Errorf("inexact division %d/%d", v, w)
		default:
			v /= w
		}
	}
	return v, err
}

func (p *exprParser) atom() (int, error) {
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		v, err := p.sum()
		if err == nil && (p.i >= len(p.s) || p.s[p.i] != ')') {
			err = fmt.Errorf("missing )")
		}
		p.i++
		return v, err
	}
	j := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	return strconv.Atoi(p.s[j:p.i])
}

// checkSteps verifies every "lhs=rhs" step of a trace.
func checkSteps(t *testing.T, trace string) {
	t.Helper()
	for _, step := range strings.Split(trace, ",") {
		lhs, rhs, ok := strings.Cut(step, "=")
		want, err1 := strconv.Atoi(rhs)
		got, err2 := evalExpr(lhs)
		if !ok || err1 != nil || err2 != nil || got != want {
			t.Fatalf("step %q of %q is wrong (%v %v)", step, trace, err1, err2)
		}
	}
}

func TestArithmeticExamplesAreCorrectAndSmall(t *testing.T) {
	for d := 1; d <= MaxDifficulty; d++ {
		t.Run(fmt.Sprintf("difficulty %d", d), func(t *testing.T) {
			ex, err := GenerateExamples("arithmetic", SplitTrain, WithN(300), WithSeed(7), WithDifficulty(d))
			if err != nil || len(ex) != 300 {
				t.Fatalf("%d examples, err %v", len(ex), err)
			}
			longest := 0
			for _, e := range ex {
				want, err := evalExpr(strings.TrimSuffix(e.Prompt.Prompt, "="))
				if err != nil || strconv.Itoa(want) != e.Answer || e.Solution != e.Answer {
					t.Fatalf("%q: answer %q, want %d", e.Prompt.Prompt, e.Answer, want)
				}
				checkSteps(t, e.Trace)
				if got, _ := MetaCompletion(e.Meta); got != e.Completion() {
					t.Fatalf("meta completion %q, want %q", got, e.Completion())
				}
				longest = max(longest, len(e.Prompt.Prompt)+len(e.Completion()))
			}
			if d <= DefaultDifficulty && longest > 110 {
				t.Errorf("longest prompt+completion %d bytes, want <= 110", longest)
			}
		})
	}
}

func TestArithmeticTraceFormat(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"addition carries right to left", addTrace(58, 67), "8+7=15,5+6+1=12"},
		{"addition pads the shorter number", addTrace(345, 12), "5+2=7,4+1=5,3+0=3"},
		{"subtraction borrows", subTrace(342, 15), "12-5=7,4-1-1=2,3-0=3"},
		{"one-digit multiplication carries", mulTrace(23, 5), "3*5=15,2*5+1=11"},
		{"two-digit multiplication sums partial products", mulTrace(23, 45), "23*5=115,23*4=92,115+920=1035"},
		{"empty completion has an empty think", EmptyTraceCompletion("7"), "<think></think><answer>7</answer>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestCountdownExamplesAreSolvable(t *testing.T) {
	for d := 1; d <= MaxDifficulty; d++ {
		t.Run(fmt.Sprintf("difficulty %d", d), func(t *testing.T) {
			ex, err := GenerateExamples("countdown-gen", SplitTest, WithN(60), WithSeed(3), WithDifficulty(d))
			if err != nil || len(ex) != 60 {
				t.Fatalf("%d examples, err %v", len(ex), err)
			}
			for _, e := range ex {
				got, err := evalExpr(e.Solution)
				if err != nil || strconv.Itoa(got) != e.Answer {
					t.Fatalf("%q: solution %q = %d (%v), want %s", e.Prompt.Prompt, e.Solution, got, err, e.Answer)
				}
				checkSteps(t, e.Trace)
				if !strings.HasPrefix(e.Prompt.Prompt, "Make "+e.Answer+" from ") {
					t.Fatalf("prompt %q does not name target %s", e.Prompt.Prompt, e.Answer)
				}
			}
		})
	}
}

func TestGenerationIsDeterministic(t *testing.T) {
	a, _ := GenerateExamples("arithmetic", SplitTrain, WithN(50), WithSeed(11))
	b, _ := GenerateExamples("arithmetic", SplitTrain, WithN(50), WithSeed(11))
	c, _ := GenerateExamples("arithmetic", SplitTrain, WithN(50), WithSeed(12))
	same := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("example %d differs between equal seeds", i)
		}
		if a[i].Prompt.Prompt == c[i].Prompt.Prompt {
			same++
		}
	}
	if same > 5 {
		t.Errorf("%d of 50 examples equal across seeds", same)
	}
}

func TestSplitsNeverOverlap(t *testing.T) {
	ctx := context.Background()
	prompts := func(spec string, opts ...Option) map[string]uint64 {
		all, err := ReadSpec(ctx, spec, opts...)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]uint64{}
		for _, p := range all {
			m[p.Prompt] = p.ID
		}
		if len(m) != len(all) {
			t.Errorf("%s: %d duplicate prompts", spec, len(all)-len(m))
		}
		return m
	}
	cases := []struct {
		name         string
		train, test  string
		trOpt, teOpt []Option
	}{
		{"arithmetic at difficulty 1 with different seeds", "arithmetic:train", "arithmetic:test",
			[]Option{WithN(3000), WithSeed(1), WithDifficulty(1)}, []Option{WithN(500), WithSeed(2), WithDifficulty(1)}},
		{"generated countdown", "countdown-gen:train", "countdown-gen:test",
			[]Option{WithN(2000), WithDifficulty(1)}, []Option{WithN(200), WithDifficulty(1)}},
		{"svamp split by hash", "svamp:train", "svamp:test", nil, nil},
		{"gsm8k shipped files", "gsm8k:train", "gsm8k:test", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			train, test := prompts(tc.train, tc.trOpt...), prompts(tc.test, tc.teOpt...)
			if len(test) == 0 || len(train) == 0 {
				t.Fatalf("empty split: train %d test %d", len(train), len(test))
			}
			for p := range test {
				if _, ok := train[p]; ok {
					t.Fatalf("prompt %q is in both splits", p)
				}
			}
		})
	}
}

func TestTemplatesRenderBothModes(t *testing.T) {
	plain, chat := Template{}, Template{Kind: TemplateChat}
	if got := plain.Render("12+3=", ModeTrace).Text; got != "12+3=" {
		t.Errorf("plain trace = %q", got)
	}
	if got := plain.Render("12+3=", ModeEmpty).Text; got != "12+3=<think></think>" {
		t.Errorf("plain empty = %q", got)
	}
	r := chat.Render("Q?", ModeEmpty)
	if len(r.Messages) != 3 || r.Messages[1].Content != "Q?" || r.Messages[2].Content != EmptyTrace ||
		!strings.Contains(r.Messages[0].Content, "<answer>") || !strings.HasSuffix(r.Text, EmptyTrace) {
		t.Errorf("chat empty = %+v", r)
	}
	if len(chat.Render("Q?", ModeTrace).Messages) != 2 {
		t.Error("chat trace mode must not prefill")
	}
	if _, err := TemplateByName("bogus"); err == nil {
		t.Error("unknown template accepted")
	}
}
