package reward

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"
)

// confCase is one row of testdata/math_conformance/cases.jsonl.
type confCase struct {
	Class      string            `json:"class"`
	Want       float64           `json:"want"`
	Gold       string            `json:"gold"`
	Completion string            `json:"completion"`
	Meta       string            `json:"meta"`
	Options    map[string]string `json:"options"`
	Note       string            `json:"note"`
	line       int
}

func loadConformance(t testing.TB) []confCase {
	t.Helper()
	const path = "testdata/math_conformance/cases.jsonl"
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []confCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var c confCase
		dec := json.NewDecoder(bytesReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		if c.Class == "" || c.Gold == "" && c.Meta == "" {
			t.Fatalf("%s:%d: field class and gold are required", path, n)
		}
		c.line = n
		out = append(out, c)
	}
	return out
}

// TestMathConformance runs the conformance table through the registered
// verifiers (`math` for every class but countdown) with each row's options.
func TestMathConformance(t *testing.T) {
	cases := loadConformance(t)
	if len(cases) < 400 {
		t.Fatalf("only %d conformance cases; want at least 400", len(cases))
	}
	perClass := map[string][2]int{}
	for _, c := range cases {
		kind := "math"
		if c.Class == "countdown" {
			kind = "countdown"
		}
		opts := Options{}
		for k, v := range c.Options {
			opts[k] = v
		}
		f, err := New(kind, opts)
		if err != nil {
			t.Fatalf("line %d: %v", c.line, err)
		}
		out := make([]Result, 1)
		if err := f.Score(context.Background(), []Row{{Completion: c.Completion, Answer: c.Gold, Meta: c.Meta}}, out); err != nil {
			t.Fatal(err)
		}
		pc := perClass[c.Class]
		pc[1]++
		if out[0].Err != "" || math.Abs(out[0].Reward-c.Want) > 1e-9 {
			e := ExplainMath(c.Completion, c.Gold)
			t.Errorf("line %d [%s]: reward %v (err %q), want %v\n  gold %q\n  completion %q\n  explain: pred %q via %s, gold %q via %s, rule %s %s",
				c.line, c.Class, out[0].Reward, out[0].Err, c.Want, c.Gold, c.Completion, e.PredExtracted, e.PredRule, e.GoldExtracted, e.GoldRule, e.Rule, e.Detail)
		} else {
			pc[0]++
		}
		perClass[c.Class] = pc
	}
	for k, v := range perClass {
		t.Logf("%-11s %d/%d", k, v[0], v[1])
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
