package reward

import "testing"

func TestExtractAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
		ok               bool
	}{
		{"the last boxed wins", `first \boxed{1} then \boxed{2}`, "2", true},
		{"boxed keeps nested braces", `\boxed{\frac{1}{\sqrt{2}}}.`, `\frac{1}{\sqrt{2}}`, true},
		{"boxed keeps escaped set braces", `\boxed{\{1,2\}}`, `\{1,2\}`, true},
		{"boxed without braces", `so $\boxed 5$.`, "5", true},
		{"fbox is a fallback", `\fbox{7}`, "7", true},
		{"answer tag beats an earlier boxed", `\boxed{1} <answer>2</answer>`, "2", true},
		{"boxed inside the answer tag", `<answer>so \boxed{3}</answer>`, "3", true},
		{"the answer is", "Thus, the answer is $42$.", "42", true},
		{"final answer with markdown", "**Final Answer:** 17", "17", true},
		{"hashes", "9*2=18\n#### 18", "18", true},
		{"unbalanced boxed is ignored", `\boxed{1`, "", false},
		{"nothing to extract", "no idea", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ExtractAnswer(tc.text)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ExtractAnswer(%q) = %q, %v; want %q, %v", tc.text, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestNormalizeAnswer(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`\left( 3, \frac{\pi}{2} \right)`, `(3,\frac{\pi}{2})`},
		{`\dfrac12`, `\frac{1}{2}`},
		{`0.5`, `\frac{1}{2}`},
		{`3/4`, `\frac{3}{4}`},
		{`\sqrt3`, `\sqrt{3}`},
		{`10\%`, `10`},
		{`90^\circ`, `90`},
		{`\$1,000`, `1000`},
		{`5.00`, `5`},
		{`007`, `7`},
		{`x = 5`, `5`},
		{`12\text{ cm}^2`, `12`},
		{`\text{Monday}`, `Monday`},
		{`2\!\cdot\!3`, `2\cdot3`},
		{`$\boxed{4}$`, `4`},
	} {
		if got := NormalizeAnswer(tc.in); got != tc.want {
			t.Errorf("NormalizeAnswer(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestChoiceLetter(t *testing.T) {
	for in, want := range map[string]string{`\text{(A)}`: "A", "(b)": "B", `\textbf{(C)}`: "C", "D": "D", "E.": "E"} {
		if got, ok := choiceLetter(in); !ok || got != want {
			t.Errorf("choiceLetter(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"a", "AB", "(F)", "x"} {
		if got, ok := choiceLetter(in); ok {
			t.Errorf("choiceLetter(%q) = %q, want none", in, got)
		}
	}
}
