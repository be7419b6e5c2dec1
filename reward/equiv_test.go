package reward

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

type equivCase struct {
	line       int
	want       bool
	gold, pred string
}

func loadEquivCases(t testing.TB) []equivCase {
	t.Helper()
	f, err := os.Open("testdata/equiv.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []equivCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.Split(line, " ~ ")
		if len(parts) != 3 || parts[0] != "=" && parts[0] != "!" {
			t.Fatalf("testdata/equiv.txt:%d: malformed line %q", n, line)
		}
		cases = append(cases, equivCase{line: n, want: parts[0] == "=", gold: parts[1], pred: parts[2]})
	}
	return cases
}

func TestMathEqualTable(t *testing.T) {
	cases := loadEquivCases(t)
	if len(cases) < 150 {
		t.Fatalf("only %d equivalence cases; want at least 150", len(cases))
	}
	for _, c := range cases {
		if got := MathEqual(c.gold, c.pred); got != c.want {
			t.Errorf("line %d: MathEqual(%q, %q) = %v, want %v", c.line, c.gold, c.pred, got, c.want)
		}
	}
}

// TestMathEqualIsSymmetric checks symmetry where Math-Verify's rules are
// symmetric: with set–relation comparison allowed both ways, and no
// equation on either side (an equation is unwrapped only against a
// non-equation reference).
func TestMathEqualIsSymmetric(t *testing.T) {
	o := DefaultMathOptions()
	o.AllowSetRelationComp = true
	for _, c := range loadEquivCases(t) {
		if strings.Contains(c.gold+c.pred, "=") {
			continue
		}
		if MathEqualWith(c.gold, c.pred, o) != MathEqualWith(c.pred, c.gold, o) {
			t.Errorf("line %d: MathEqual(%q, %q) is not symmetric", c.line, c.gold, c.pred)
		}
	}
}
