package reward

import (
	"encoding/json"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	`\frac{\sqrt{3}}{2}`, `(1, 2]`, `\{1,2\}`, `x^2+2x+1`, `3 \pm \sqrt{5}`, `\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}`,
	`10\%`, `\text{(A)}`, `1,000`, `\boxed{\frac12}`, `<answer>4</answer>`, `#### 18`, `((((`, `\sqrt[3]{-8}`, `2^{2^{2^{2}}}`,
	`\log_2 8`, `5!`, `|x-1|`, `(-\infty, 0) \cup (1, \infty)`, `x \le 3`, `\frac{}{}`, `^^`, `\left(`, `52_8`,
}

func FuzzExtractAnswer(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, ok := ExtractAnswer(s); ok && len(a) > len(s) {
			t.Fatalf("extracted %q longer than input %q", a, s)
		}
	})
}

func FuzzNormalizeAnswer(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeAnswer(s)
		if !MathEqual(s, s) && n != "" && parses(s) {
			t.Fatalf("%q (normal form %q) is not equal to itself", s, n)
		}
	})
}

func parses(s string) bool { _, err := parseExpr(clean(s).s); return err == nil }

func FuzzParseExpr(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		n, err := parseExpr(a)
		if err == nil {
			_ = n.String()
			_, _ = eval(n, map[string]value{"x": exactVal(big.NewRat(3, 7))})
		}
		o := DefaultMathOptions()
		o.AllowSetRelationComp = true
		if !strings.Contains(a+b, "=") && MathEqualWith(a, b, o) != MathEqualWith(b, a, o) {
			t.Fatalf("MathEqual(%q, %q) is not symmetric", a, b)
		}
	})
}

func FuzzCountdown(f *testing.F) {
	f.Add("30 - (100 - 93)", "[30,100,93]", "23")
	f.Add("((", "[1]", "1")
	f.Fuzz(func(t *testing.T, expr, nums, target string) {
		ns, tgt, err := CountdownProblem(target, `{"numbers":`+nums+`}`)
		if err == nil {
			CountdownCorrect(expr, ns, tgt)
		}
	})
}

// FuzzUnmarshalNonFinite: valid JSON decodes exactly as encoding/json
// decodes it (NaN inside strings untouched), and no input panics.
func FuzzUnmarshalNonFinite(f *testing.F) {
	for _, s := range []string{`{"id":1,"reward":NaN}`, `{"error":"x: NaN"}`, `{"results":[{"id":2,"reward":-Infinity}]}`, `"\"NaN"`, `[NaN,"\\"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got any
		err := unmarshalNonFinite(data, &got)
		if !json.Valid(data) {
			return
		}
		var want any
		werr := json.Unmarshal(data, &want)
		if (err == nil) != (werr == nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %v (%v), want %v", data, got, err, want)
		}
	})
}
