package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/reward"
)

// runScoreCLI runs `rlpipe score args...` through a throwaway root command.
func runScoreCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := &cobra.Command{Use: "rlpipe", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newScoreCmd())
	root.SetArgs(append([]string{"score", "--progress", "never"}, args...))
	var out, errb bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	return out.String(), errb.String(), err
}

type scoredLine struct {
	Reward float64            `json:"reward"`
	Parts  map[string]float64 `json:"parts"`
	Error  *string            `json:"error"`
	Extra  string             `json:"extra"`
}

func parseScored(t *testing.T, out string) []scoredLine {
	t.Helper()
	var res []scoredLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var s scoredLine
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		res = append(res, s)
	}
	return res
}

const mathRows = `{"completion": "so \\boxed{\\frac12}", "answer": "0.5", "extra": "kept"}
{"completion": "<answer>3</answer>", "answer": "4"}
{"prompt": "p", "completion": "#### 1,000", "answer": 1000, "meta": {"k": 1}}
`

func TestScoreJSONLBuiltin(t *testing.T) {
	out, stderr, err := runScoreCLI(t, mathRows, "--reward", "math")
	if err != nil {
		t.Fatal(err, stderr)
	}
	got := parseScored(t, out)
	if len(got) != 3 || got[0].Reward != 1 || got[1].Reward != 0 || got[2].Reward != 1 || got[0].Extra != "kept" {
		t.Fatalf("got %+v", got)
	}
	if got[0].Parts["math"] != 1 || got[0].Error != nil {
		t.Errorf("row 0 = %+v, want parts.math=1 and a null error", got[0])
	}
	if !strings.Contains(stderr, "rows=3 errors=0") {
		t.Errorf("summary line missing from stderr: %q", stderr)
	}
}

func TestScoreShowsEveryErrorAndFailsPastTheRate(t *testing.T) {
	in := `{"completion": "\\boxed{1}", "answer": "1", "completion_tokens": 3}
{"completion": "\\boxed{1}", "answer": "1"}
`
	out, stderr, err := runScoreCLI(t, in, "--reward", "math+-1*length(max_len=10,buffer=5)")
	if err == nil {
		t.Fatal("50% errors did not fail the command")
	}
	got := parseScored(t, out)
	if len(got) != 2 || got[0].Error != nil || got[1].Error == nil || !strings.Contains(*got[1].Error, "completion token count") {
		t.Fatalf("got %+v", got)
	}
	if !strings.Contains(stderr, "errors=1 (error=1)") {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestScoreConfigFile(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "reward.yaml")
	os.WriteFile(cfg, []byte("reward:\n  parts:\n    - {name: acc, kind: math, weight: 2}\n  on_error: zero\n"), 0o644)
	out, stderr, err := runScoreCLI(t, mathRows, "--config", cfg)
	if err != nil {
		t.Fatal(err, stderr)
	}
	if got := parseScored(t, out); got[0].Reward != 2 || got[0].Parts["acc"] != 1 {
		t.Fatalf("got %+v", got[0])
	}
}

func TestScoreSubprocessPlugin(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	out, stderr, err := runScoreCLI(t, mathRows, "--reward", "subprocess:"+py+" ../../../examples/python_verifier/verifier.py")
	if err != nil {
		t.Fatal(err, stderr)
	}
	got := parseScored(t, out)
	// The example's normaliser is deliberately simple: \frac12 is not 0.5 to it.
	if got[0].Reward != 0 || got[1].Reward != 0 || got[2].Reward != 1 || got[0].Parts["subprocess.has_answer"] != 1 {
		t.Fatalf("got %+v", got)
	}
}

func TestScoreHTTPPlugin(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Rows []struct {
				ID uint64 `json:"id"`
			} `json:"rows"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		var parts []string
		for _, row := range req.Rows {
			parts = append(parts, fmt.Sprintf(`{"id":%d,"reward":0.25}`, row.ID))
		}
		io.WriteString(w, `{"results":[`+strings.Join(parts, ",")+`]}`)
	}))
	defer srv.Close()
	out, stderr, err := runScoreCLI(t, mathRows, "--reward", "0.5*math+http:"+srv.URL)
	if err != nil {
		t.Fatal(err, stderr)
	}
	if got := parseScored(t, out); got[0].Reward != 0.75 || got[1].Reward != 0.25 || got[0].Parts["http"] != 0.25 {
		t.Fatalf("got %+v", got)
	}
}

func TestScoreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--reward", "nonexistent"},
		{"--reward", "math", "--batch", "0"},
		{"--reward", "math", "--in", "/nonexistent.jsonl"},
	} {
		_, _, err := runScoreCLI(t, "", args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("score %v: err = %v, want a usage error", args, err)
		}
	}
	if _, _, err := runScoreCLI(t, "not json\n", "--reward", "math"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad JSON: err = %v, want a located error", err)
	}
}

func TestScoreExplainShowsTheMathVerdict(t *testing.T) {
	in := `{"completion": "The roots are $x = 2$ and so the answer is \\boxed{\\frac{1}{2}}", "answer": "0.5"}
{"completion": "I get 7.", "answer": "8"}
`
	out, stderr, err := runScoreCLI(t, in, "--reward", "0.5*math+0.5*format", "--explain")
	if err != nil {
		t.Fatal(err, stderr)
	}
	type explained struct {
		Explain map[string]reward.Explanation `json:"explain"`
	}
	var rows []explained
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r explained
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 2 || len(rows[0].Explain) != 1 {
		t.Fatalf("got %+v; want two rows explaining the math part only", rows)
	}
	right, wrong := rows[0].Explain["math"], rows[1].Explain["math"]
	if !right.Equal || right.PredExtracted != `\frac{1}{2}` || right.Rule == "" {
		t.Errorf("boxed answer: %+v", right)
	}
	if wrong.Equal || wrong.PredExtracted != "7" || wrong.Failure != reward.FailMismatched {
		t.Errorf("wrong answer: %+v", wrong)
	}
	for _, args := range [][]string{{"--reward", "format", "--explain"}, {"--reward", "math", "--explain", "--out", filepath.Join(t.TempDir(), "x.parquet")}} {
		if _, _, err := runScoreCLI(t, in, args...); err == nil || !strings.Contains(err.Error(), "explain") {
			t.Errorf("%v: got %v, want a usage error about --explain", args, err)
		}
	}
}
