package reward

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExtractMathRules(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		whole      bool
		want       []string
		rule       string
	}{
		{"boxed beats a later inline span", `so $\boxed{4}$, and check $2+2$.`, false, []string{"4"}, RuleBoxed},
		{"boxes joined by and", `\boxed{1} and \boxed{2}`, false, []string{"1", "2"}, RuleBoxed},
		{"boxes joined across spans", `$x=\boxed{1}$ or $x=\boxed{2}$`, false, []string{"1", "2"}, RuleBoxed},
		{"boxes separated by long prose are not joined", `\boxed{1} is wrong, as the boundary case shows once we check it again with care, so \boxed{2}`, false, []string{"2"}, RuleBoxed},
		{"nested boxes count once", `\boxed{\boxed{3}}`, false, []string{`\boxed{3}`}, RuleBoxed},
		{"final answer is", "Final Answer: The final answer is $7$. I hope it is correct.", false, []string{"7"}, RuleFinalAnswer},
		{"final answer with prose falls to the marker", "Final Answer: it took 3 hours. I hope it is correct.", false, []string{"3"}, RuleAnswerColon},
		{"answer colon", "Answer: $x+1$", false, []string{"x+1"}, RuleAnswerColon},
		{"hashes", "so\n#### 18", false, []string{"18"}, RuleHashes},
		{"display bracket across lines", "thus\n\\[\n  \\frac{1}{2}\n\\]", false, []string{`\frac{1}{2}`}, RuleLatex},
		{"spans joined by commas", `roots $1$, $2$, and $3$`, false, []string{"1", "2", "3"}, RuleLatex},
		{"percent word after a span", `it grows by $28$ percent`, false, []string{`28\%`}, RuleLatex},
		{"number after the last span wins", `we had $x=2$ and so 17 apples`, false, []string{"17"}, RuleNumber},
		{"thousands and currency", "it costs $1,250.50 in total", false, []string{"1250.50"}, RuleNumber},
		{"decimal comma", "le total est 12,5", false, []string{"12.5"}, RuleNumber},
		{"percent word after a number", "a rise of 12 pct", false, []string{`12\%`}, RuleNumber},
		{"fraction expression", "the ratio is 3/4.", false, []string{"3/4"}, RuleNumber},
		{"whole short answer", `x^2+1`, true, []string{"x^2+1"}, RuleWhole},
		{"answer tag", `<answer>\boxed{5}</answer>`, false, []string{"5"}, RuleAnswerTag + "/" + RuleBoxed},
		{"nothing", "no idea at all", false, nil, RuleNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := ExtractMath(tc.text, tc.whole)
			if ex.Rule != tc.rule || !reflect.DeepEqual(ex.Parts, tc.want) {
				t.Errorf("ExtractMath(%q) = %q via %s; want %q via %s", tc.text, ex.Parts, ex.Rule, tc.want, tc.rule)
			}
		})
	}
}

func TestExplainMath(t *testing.T) {
	e := ExplainMath(`Thus $x = 5+5+1 = 11$.`, `x = 11`)
	if !e.Equal || e.PredExtracted != "x = 5+5+1 = 11" || e.PredRule != RuleLatex || e.GoldRule != RuleWhole || e.Rule != "relation" {
		t.Errorf("assignment chain: %+v", e)
	}
	e = ExplainMath(`so $\boxed{0.3333}$`, `\frac13`)
	if e.Equal || e.Failure != FailMismatched || e.Rule != "numeric_rounded" || e.PredNormal != "0.3333" {
		t.Errorf("precision 6: %+v", e)
	}
	o := DefaultMathOptions()
	o.Precision = 4
	if e := ExplainMath(`so $\boxed{0.3333}$`, `\frac13`, o); !e.Equal {
		t.Errorf("precision 4: %+v", e)
	}
	if e := ExplainMath("I give up.\nSorry.", "3"); e.Equal || e.Failure != FailNoAnswer {
		t.Errorf("no answer: %+v", e)
	}
	if e := ExplainMath("<answer>3\uFFFD</answer>", "3"); e.Equal || e.Failure != FailNoAnswer || !strings.Contains(e.Detail, "U+FFFD") {
		t.Errorf("answer tag with U+FFFD: %+v", e)
	}
	if e := ExplainMath(`\boxed{3}`, ""); e.Failure != FailNoGold {
		t.Errorf("no gold: %+v", e)
	}
	if e := ExplainMath(`\boxed{\frac{1}{}}`, "3"); e.Failure != FailParse || e.Detail == "" {
		t.Errorf("parse error: %+v", e)
	}
}

func TestMathOptionsAreValidated(t *testing.T) {
	for _, o := range []Options{
		{"precision": "six"}, {"precision": -1}, {"precision": 16}, {"precision": 2.5},
		{"strict_variables": "maybe"}, {"allow_set_relation_comp": 3},
	} {
		if _, err := New("math", o); err == nil {
			t.Errorf("New(math, %v) accepted bad options", o)
		}
	}
	f, err := New("math", Options{"precision": "3", "strict_variables": false, "allow_set_relation_comp": "true"})
	if err != nil {
		t.Fatal(err)
	}
	want := MathOptions{Precision: 3, StrictVariables: false, AllowSetRelationComp: true}
	if got := f.(*mathFunc).opts; got != want {
		t.Errorf("options = %+v, want %+v", got, want)
	}
}

// TestPathologicalInputsFinishQuickly feeds deep nesting, many boxes and
// a >1 MiB completion; each must finish well within a second (the
// extractor is linear and the parser depth-bounded) with a clear kind.
func TestPathologicalInputsFinishQuickly(t *testing.T) {
	deepBox := strings.Repeat(`\boxed{`, 100000) + "1" + strings.Repeat("}", 100000)
	unbalancedBox := strings.Repeat(`\boxed{`, 140000)
	deepParens := `\boxed{` + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + "}"
	manySpans := strings.Repeat(`$x$ and `, 100000)
	manyNumbers := strings.Repeat("1 2 3 ", 150000)
	unclosedDisplay := strings.Repeat(`\[ x `, 150000)
	unclosedInline := strings.Repeat(`\( x $ `, 100000)
	manyMarkers := strings.Repeat("Answer: $x ", 90000)
	manyFinal := strings.Repeat("final answer is x ", 50000)
	tooLong := strings.Repeat("a", maxMathInput+1) + `\boxed{1}`
	for _, tc := range []struct {
		name, text, failure string
	}{
		{"deep boxes", deepBox, FailMismatched}, // the innermost box, 1, is read
		{"unbalanced boxes", unbalancedBox, FailNoAnswer},
		{"deep parentheses", deepParens, FailParse},
		{"many spans", manySpans, FailMismatched},
		{"many numbers", manyNumbers, FailMismatched},
		{"unclosed display math", unclosedDisplay, FailNoAnswer},
		{"unclosed inline math", unclosedInline, FailParse},
		{"many answer markers", manyMarkers, FailMismatched},
		{"many final answers", manyFinal, FailMismatched},
		{"over 1 MiB", tooLong, FailTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			e := ExplainMath(tc.text, "7")
			// A quadratic scan of these 0.5–1 MB inputs takes minutes;
			// linear work takes milliseconds. The bound separates the two
			// with room for -race and a loaded machine (it is 3× the
			// default per-row timeout, which the scorer enforces anyway).
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %v", d)
			}
			if e.Equal || e.Failure != tc.failure {
				t.Errorf("failure %q (rule %s, %s), want %q", e.Failure, e.Rule, e.Detail, tc.failure)
			}
		})
	}
}

// TestMathOptionsFromSpec passes the strictness options through the
// `name(key=value)` spec form the CLI and YAML use.
func TestMathOptionsFromSpec(t *testing.T) {
	rows := []Row{{Completion: `so $\boxed{0.3333}$`, Answer: `\frac13`}}
	for spec, want := range map[string]float64{"math": 0, "math(precision=4)": 1, "math(precision=3,strict_variables=false)": 1} {
		s, err := NewScorer(Config{Spec: spec})
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		out := make([]Result, 1)
		if _, err := s.ScoreGroups(context.Background(), rows, nil, out); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if out[0].Reward != want {
			t.Errorf("%s: reward %v, want %v", spec, out[0].Reward, want)
		}
	}
}
