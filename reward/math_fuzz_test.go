package reward

import (
	"strings"
	"testing"
)

var mathFuzzSeeds = []string{
	`so $\boxed{1}$ and $\boxed{2}$`, "Final Answer: The final answer is $7$. I hope it is correct.",
	"\\[\n\\frac12\n\\]", `$x \in [-2, 7]$`, "1,000.99€", "0,111", `\boxed{\boxed{`, `$$ $ \( \[`,
	`<answer>3*5+7=22</answer>`, "Answer: x = 5 + 6 = 11", `$(7,11),(11,7)$`, `\boxed{11,\! 111}`,
	`$\begin{pmatrix}1\\2\end{pmatrix}$`, "28 pct", `-2 < x \le 7`, `V_1:V_2 = 11:21`,
}

// FuzzExtractMath checks the extractor's invariants: offsets inside the
// text, parts joined into the answer, and no answer without a rule.
func FuzzExtractMath(f *testing.F) {
	for _, s := range mathFuzzSeeds {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, whole bool) {
		ex := ExtractMath(s, whole)
		if ex.Rule == RuleNone {
			if ex.Answer != "" {
				t.Fatalf("answer %q without a rule", ex.Answer)
			}
			return
		}
		if ex.start < 0 || ex.end > len(s) || ex.start > ex.end {
			t.Fatalf("span [%d,%d) outside %d bytes", ex.start, ex.end, len(s))
		}
		if strings.Join(ex.Parts, ", ") != ex.Answer {
			t.Fatalf("parts %q do not make answer %q", ex.Parts, ex.Answer)
		}
	})
}

// FuzzBoxedHits checks that every hit is a brace-balanced \boxed/\fbox
// argument and that hits are ordered by start.
func FuzzBoxedHits(f *testing.F) {
	for _, s := range mathFuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hits := boxedHits(s)
		for i, h := range hits {
			if h.in0 < 1 || h.in1 >= len(s) || s[h.in0-1] != '{' || s[h.in1] != '}' || h.end != h.in1+1 {
				t.Fatalf("hit %+v is not a braced argument of %q", h, s)
			}
			if !strings.HasPrefix(s[h.start:], `\boxed`) && !strings.HasPrefix(s[h.start:], `\fbox`) {
				t.Fatalf("hit %+v does not start at a box command", h)
			}
			if i > 0 && hits[i-1].start > h.start {
				t.Fatalf("hits out of order")
			}
		}
	})
}

// FuzzLatexSpans checks that spans are ordered, disjoint and delimited.
func FuzzLatexSpans(f *testing.F) {
	for _, s := range mathFuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prev := 0
		for _, sp := range latexSpans(s) {
			if sp.start < prev || sp.in0 < sp.start || sp.in1 < sp.in0 || sp.end < sp.in1 || sp.end > len(s) {
				t.Fatalf("bad span %+v (prev end %d) in %d bytes", sp, prev, len(s))
			}
			if c := s[sp.start]; c != '$' && c != '\\' {
				t.Fatalf("span %+v does not start at a delimiter", sp)
			}
			prev = sp.end
		}
	})
}

// FuzzExplainMath runs whole comparisons under every option combination:
// no panic, and a verdict consistent with its failure kind.
func FuzzExplainMath(f *testing.F) {
	for i, s := range mathFuzzSeeds {
		f.Add(s, mathFuzzSeeds[(i+1)%len(mathFuzzSeeds)], uint8(i))
	}
	f.Fuzz(func(t *testing.T, completion, gold string, bits uint8) {
		o := MathOptions{Precision: int(bits % 16), StrictVariables: bits&16 != 0, AllowSetRelationComp: bits&32 != 0}
		e := ExplainMath(completion, gold, o)
		if e.Equal != (e.Failure == FailNone) {
			t.Fatalf("equal=%v with failure %q", e.Equal, e.Failure)
		}
	})
}
