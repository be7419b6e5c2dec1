package objective

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// goldenCase is one line of testdata/golden.txt.
type goldenCase struct {
	name   string
	fields map[string]string
}

// parseGolden parses the golden format: '#' comments, blank lines, and
// "name | key=value | ..." records.
func parseGolden(text string) ([]goldenCase, error) {
	var out []goldenCase
	sc := bufio.NewScanner(strings.NewReader(text))
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "|")
		c := goldenCase{name: strings.TrimSpace(parts[0]), fields: map[string]string{}}
		if c.name == "" {
			return nil, fmt.Errorf("golden line %d: empty name", ln)
		}
		for _, p := range parts[1:] {
			k, v, ok := strings.Cut(p, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("golden line %d: field %q is not key=value", ln, p)
			}
			c.fields[k] = strings.TrimSpace(v)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

func (c goldenCase) floats(t testing.TB, key string) []float64 {
	t.Helper()
	s, ok := c.fields[key]
	if !ok {
		t.Fatalf("golden %q: no field %q", c.name, key)
	}
	var out []float64
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("golden %q field %q: %v", c.name, key, err)
		}
		out = append(out, v)
	}
	return out
}

func (c goldenCase) float(t testing.TB, key string) float64 {
	t.Helper()
	v := c.floats(t, key)
	if len(v) != 1 {
		t.Fatalf("golden %q field %q: want one value, got %v", c.name, key, v)
	}
	return v[0]
}

// goldenCases returns the cases whose name starts with kind+" ".
func goldenCases(t *testing.T, kind string) []goldenCase {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	all, err := parseGolden(string(b))
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenCase
	for _, c := range all {
		if strings.HasPrefix(c.name, kind+" ") {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no golden cases of kind %q", kind)
	}
	return out
}

const goldenRtol, goldenAtol = 1e-6, 1e-9

func near(got, want, atol, rtol float64) bool {
	return math.Abs(got-want) <= atol+rtol*math.Abs(want)
}

func checkClose(t *testing.T, what string, got, want float64) {
	t.Helper()
	if !near(got, want, goldenAtol, goldenRtol) {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

func checkAllClose(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		checkClose(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

func FuzzParseGolden(f *testing.F) {
	f.Add("a b | x=1 2 | y=z\n# c\n\n")
	f.Add("|")
	f.Add("n | =")
	f.Fuzz(func(t *testing.T, s string) {
		cases, err := parseGolden(s)
		if err != nil {
			return
		}
		for _, c := range cases {
			if c.name == "" || strings.Contains(c.name, "|") {
				t.Fatalf("bad case name %q", c.name)
			}
		}
	})
}
