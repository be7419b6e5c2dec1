package data

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data/reftest"
)

// Every kind of Parquet file rlpipe writes through data (prompts, rollouts,
// scored and train batches) is read by DuckDB, hyparquet and parquet-wasm
// (arrow-rs), and every row and column DuckDB and hyparquet return equals
// what rlpipe reads back. arrow-go v17's defaults broke the last two (a
// REPEATED root; negative null counts in statistics); see
// ParquetWriterProperties.
func TestParquetFilesOpenInIndependentReaders(t *testing.T) {
	node, modules := reftest.Node(t, "@duckdb/node-api", "hyparquet", "hyparquet-compressors", "parquet-wasm")
	train := sampleTrainRows(40)
	train[1].Prompt = "Ünïcödé ½ — 数学 🧮"
	train[2].Completion = "tabs\tand\nnewlines"
	prompts := make([]Prompt, len(train))
	rollouts := make([]Rollout, len(train))
	scored := make([]Scored, len(train))
	for i, r := range train {
		prompts[i] = Prompt{ID: r.PromptID, Dataset: r.Dataset, Prompt: r.Prompt, Answer: r.Answer, Meta: r.Meta}
		rollouts[i], scored[i] = r.Rollout, r.Scored
	}
	cases := []struct {
		name   string
		write  func(*RecordWriter) error
		schema *arrow.Schema
	}{
		{"prompts", func(w *RecordWriter) error { return w.WritePrompts(prompts) }, PromptsSchema()},
		{"rollouts", func(w *RecordWriter) error { return w.WriteRollouts(rollouts) }, RolloutsSchema()},
		{"scored", func(w *RecordWriter) error { return w.WriteScored(scored) }, ScoredSchema()},
		{"train", func(w *RecordWriter) error { return w.WriteTrain(train) }, TrainSchema()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			dir := t.TempDir()
			path := filepath.Join(dir, tc.name+".parquet")
			w, err := CreateRecords(path, tc.schema, mem)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.write(w); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			_, rows := readAllRows(t, path, mem)
			wantFile := filepath.Join(dir, "want.json")
			if err := os.WriteFile(wantFile, []byte("["+strings.Join(rows, ",")+"]"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(node, filepath.Join("testdata", "interop", "read.mjs"), path, wantFile)
			cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 3 {
				t.Fatalf("want three reader lines, got:\n%s", out)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "ok ") {
					t.Error(l)
				}
			}
		})
	}
}
