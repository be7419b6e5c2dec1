package data

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenSpecBuiltins(t *testing.T) {
	cases := []struct {
		spec, firstPrefix, firstAnswer string
		rows                           int
	}{
		{"gsm8k:test", "Janet’s ducks", "18", 1319},
		{"gsm8k", "Natalia sold clips", "72", 7473},
		{"math500", "Convert the point $(0,3)$", `\left( 3, \frac{\pi}{2} \right)`, 500},
		{"svamp", "Each pack of dvds costs 76 dollars. If there is a discount of 25 dollars on each pack. How much", "51", 1000},
		{"countdown", "Make 23 from 30,100,93:", "23", 256},
		{"gsm8k-verl", "Janet’s ducks", "18", 1319},
		{"arithmetic", "", "", DefaultN},
	}
	for _, tc := range cases {
		t.Run(tc.spec+" loads every row", func(t *testing.T) {
			all, err := ReadSpec(context.Background(), tc.spec, WithBatchRows(300))
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != tc.rows {
				t.Fatalf("%d rows, want %d", len(all), tc.rows)
			}
			ids := map[uint64]bool{}
			for _, p := range all {
				ids[p.ID] = true
				if p.Prompt == "" || p.Answer == "" || !strings.HasPrefix(p.Meta, "{") {
					t.Fatalf("incomplete row %+v", p)
				}
			}
			if len(ids) != len(all) {
				t.Errorf("%d duplicate prompt ids", len(all)-len(ids))
			}
			if !strings.HasPrefix(all[0].Prompt, tc.firstPrefix) || (tc.firstAnswer != "" && all[0].Answer != tc.firstAnswer) {
				t.Errorf("first row %q -> %q", all[0].Prompt, all[0].Answer)
			}
		})
	}
	for _, bad := range []string{"nope", "math500:train", "gsm8k:bogus", "arithmetic:all"} {
		if _, err := OpenSpec(bad); err == nil {
			t.Errorf("OpenSpec(%q) succeeded", bad)
		}
	}
}

func TestInspectFiles(t *testing.T) {
	dir := t.TempDir()
	written := map[string]string{}
	rows, _ := GenerateExamples("arithmetic", SplitTrain, WithN(37))
	prompts := make([]Prompt, len(rows))
	for i := range rows {
		prompts[i] = rows[i].Prompt
	}
	for _, ext := range []string{".parquet", ".arrow", ".arrows", ".jsonl"} {
		path := filepath.Join(dir, "arith"+ext)
		if err := WritePromptsFile(path, prompts); err != nil {
			t.Fatal(err)
		}
		written[ext] = path
	}
	cases := []struct {
		path string
		rows int64
		col  string
	}{
		{"/work/shared/data/gsm8k/test.jsonl", 1319, "question"},
		{"datasets/gsm8k/test.jsonl", 1319, "question"},
		{"datasets/math500/test.jsonl", 500, "problem"},
		{"datasets/svamp/SVAMP.json", 1000, "Body"},
		{"datasets/countdown/countdown_cd3_test.jsonl", 256, "input"},
		{verlFile, 1319, "reward_model"},
		{written[".parquet"], 37, ColPromptID},
		{written[".arrow"], 37, ColPromptID},
		{written[".arrows"], 37, ColPromptID},
		{written[".jsonl"], 37, ColPromptID},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.path)+" reports its rows", func(t *testing.T) {
			if strings.HasPrefix(tc.path, "/work/shared") && !fileExists(tc.path) {
				t.Skip("shared data not mounted")
			}
			res, err := Inspect(tc.path, 3)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != tc.rows || len(res.FirstRows) != 3 || !strings.Contains(res.Schema, tc.col) {
				t.Errorf("rows %d (want %d), %d first rows, schema:\n%s", res.Rows, tc.rows, len(res.FirstRows), res.Schema)
			}
			if !strings.HasPrefix(res.FirstRows[0], "{") {
				t.Errorf("first row is not an object: %s", res.FirstRows[0])
			}
		})
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestAnswerParsers(t *testing.T) {
	cases := []struct {
		name, in, want string
		parse          func(string) (string, error)
		wantErr        bool
	}{
		{"gsm8k takes the number after the marker", "so 9*2=18\n#### 18", "18", ParseGSM8KAnswer, false},
		{"gsm8k strips thousands commas", "#### 1,450,000", "1450000", ParseGSM8KAnswer, false},
		{"gsm8k keeps negatives", "x\n#### -10", "-10", ParseGSM8KAnswer, false},
		{"gsm8k uses the last marker", "#### 1\n#### 2", "2", ParseGSM8KAnswer, false},
		{"gsm8k without a marker fails", "18", "", ParseGSM8KAnswer, true},
		{"gsm8k with text after the marker fails", "#### eighteen", "", ParseGSM8KAnswer, true},
		{"svamp drops a zero fraction", "5.0", "5", ParseSVAMPAnswer, false},
		{"svamp keeps a real fraction", "0.25", "0.25", ParseSVAMPAnswer, false},
		{"svamp rejects text", "five", "", ParseSVAMPAnswer, true},
		{"svamp rejects infinity", "Inf", "", ParseSVAMPAnswer, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parse(%q) = %q, %v; want %q, err %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
	if n, err := ParseCountdownNumbers(" 30,100 ,93"); err != nil || len(n) != 3 || n[1] != 100 {
		t.Errorf("ParseCountdownNumbers = %v, %v", n, err)
	}
	for _, bad := range []string{"", "1,,2", "1,-2", "a"} {
		if _, err := ParseCountdownNumbers(bad); err == nil {
			t.Errorf("ParseCountdownNumbers(%q) succeeded", bad)
		}
	}
}

func TestGenParams(t *testing.T) {
	var zero GenParams
	if err := zero.Validate(); err != nil {
		t.Fatal(err)
	}
	r := zero.Resolved()
	if r.Temperature != DefaultTemperature || r.TopP != 1 || r.MaxNewTokens != DefaultMaxNewTokens {
		t.Errorf("resolved zero value = %+v", r)
	}
	for _, bad := range []GenParams{{Temperature: -1}, {TopP: 1.5}, {TopK: -1}, {MaxNewTokens: -2}, {StopTokens: []int32{-1}}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}
