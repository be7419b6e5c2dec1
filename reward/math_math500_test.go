package reward

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// TestMath500SolutionsMatchAnswers scores every MATH-500 reference solution
// (data/datasets/math500, from HuggingFaceH4/MATH-500) as a completion
// against its own answer field: the extractor must find the \boxed answer
// in the free-text solution and the comparison must accept it.
func TestMath500SolutionsMatchAnswers(t *testing.T) {
	f, err := os.Open("../data/datasets/math500/test.jsonl")
	if err != nil {
		t.Skipf("MATH-500 not present: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	n := 0
	for line := 1; sc.Scan(); line++ {
		var row struct {
			Solution string `json:"solution"`
			Answer   string `json:"answer"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("math500/test.jsonl:%d: %v", line, err)
		}
		n++
		if e := ExplainMath(row.Solution, row.Answer); !e.Equal {
			t.Errorf("math500/test.jsonl:%d: answer %q, extracted %q (%s), rule %s %s", line, row.Answer, e.PredExtracted, e.PredRule, e.Rule, e.Detail)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 500 {
		t.Fatalf("read %d rows, want 500", n)
	}
}
