package app

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/file"

	"github.com/rlpipe/rlpipe/policy/policyfile/hftest"
)

// eval and curate take a Hugging Face model directory where they take a
// checkpoint: its tokenizer encodes the prompts and its weights answer.
func TestEvalAndCurateAcceptAHuggingFaceDirectory(t *testing.T) {
	dir := hftest.TinyLlama(t)
	out, stderr, code := cli(t, "eval", "--checkpoint", dir, "--dataset", "gsm8k", "--n", "3", "--max-new-tokens", "4", "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, stderr)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("eval --json = %q: %v", out, err)
	}
	if !strings.Contains(out, `"n":3`) && !strings.Contains(out, `"n": 3`) {
		t.Errorf("eval did not score 3 problems: %s", out)
	}
	pq := filepath.Join(t.TempDir(), "curated.parquet")
	_, stderr, code = cli(t, "curate", "--checkpoint", dir, "--dataset", "gsm8k", "--limit", "2", "--n", "2",
		"--max-new-tokens", "4", "--out", pq)
	if code != 0 {
		t.Fatalf("curate: exit %d\n%s", code, stderr)
	}
	rd, err := file.OpenParquetFile(pq, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if rd.NumRows() != 2 {
		t.Errorf("curated %d rows, want 2", rd.NumRows())
	}
}
