package data

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func FuzzJSONLReader(f *testing.F) {
	f.Add([]byte("{\"prompt\":\"a\",\"answer\":\"1\"}\n{\"question\":\"b\",\"answer\":2.0}\n"))
	f.Add([]byte("[{\"prompt\":\"a\",\"answer\":1}]"))
	f.Add([]byte("{\"prompt\":[{\"role\":\"user\",\"content\":\"x\"}],\"reward_model\":{\"ground_truth\":\"1\"}}\n"))
	f.Add([]byte("{\"prompt_id\":18446744073709551615,\"dataset\":\"d\",\"prompt\":\"p\",\"answer\":\"a\",\"meta\":{}}"))
	f.Add([]byte("\n\n{bad\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sc, isArray := newJSONScanner("fuzz.jsonl", bytes.NewReader(in))
		m := &rowMapper{file: "fuzz.jsonl", dataset: "fuzz", line: !isArray}
		for i := 0; i < 10000; i++ {
			row, err := sc.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var re *RowError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), "fuzz.jsonl") {
					t.Fatalf("unlocated error %v", err)
				}
				return
			}
			p, err := m.mapRow(row.obj, row.num)
			if err != nil {
				if !strings.Contains(err.Error(), "fuzz.jsonl") {
					t.Fatalf("unlocated error %v", err)
				}
				continue
			}
			if !isJSONObject(p.Meta) {
				t.Fatalf("meta %q is not a JSON object", p.Meta)
			}
		}
	})
}

func FuzzParseGSM8KAnswer(f *testing.F) {
	for _, s := range []string{"#### 18", "x\n#### 1,450,000", "#### -10", "####", "#### 1e5", "#### $5."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseGSM8KAnswer(s)
		if err != nil {
			return
		}
		// A parsed answer is canonical: parsing it again is the identity.
		again, err := CanonicalNumber(got)
		if err != nil || again != got || strings.Contains(got, ",") {
			t.Fatalf("ParseGSM8KAnswer(%q) = %q, not canonical (%q, %v)", s, got, again, err)
		}
	})
}

func FuzzParseSVAMPAnswer(f *testing.F) {
	for _, s := range []string{"5.0", "0.25", "-3", "1e3", "NaN", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSVAMPAnswer(s)
		if err != nil {
			return
		}
		if again, err := ParseSVAMPAnswer(got); err != nil || again != got {
			t.Fatalf("ParseSVAMPAnswer(%q) = %q, not a fixed point (%q, %v)", s, got, again, err)
		}
	})
}

func FuzzParseCountdownNumbers(f *testing.F) {
	for _, s := range []string{"30,100,93", " 1, 2 ", "", "1,,2", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nums, err := ParseCountdownNumbers(s)
		if err != nil {
			return
		}
		if len(nums) != strings.Count(s, ",")+1 {
			t.Fatalf("%q gave %d numbers", s, len(nums))
		}
		for _, n := range nums {
			if n < 0 {
				t.Fatalf("%q gave negative %d", s, n)
			}
		}
	})
}
