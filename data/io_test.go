package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

const verlFile = "datasets/verl-format/gsm8k_test.parquet"

// readAllRows renders every row of a Parquet/IPC file as JSON text.
func readAllRows(t *testing.T, path string, mem memory.Allocator) (*arrow.Schema, []string) {
	t.Helper()
	rr, err := OpenRecords(path, mem, 256)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	var rows []string
	eachRecord(t, rr, func(rec arrow.Record) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			b, err := marshalJSON(RowObject(rec, i))
			if err != nil {
				return err
			}
			rows = append(rows, string(b))
		}
		return nil
	})
	return rr.Schema(), rows
}

// eachRecord calls fn with every record batch rr has left, releasing each
// afterwards, and fails t on a read error or an error of fn.
func eachRecord(t *testing.T, rr *RecordReader, fn func(arrow.Record) error) {
	t.Helper()
	for {
		rec, err := rr.Next(context.Background())
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		err = fn(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestBatchFilesRoundTrip(t *testing.T) {
	rows := sampleTrainRows(50)
	for _, ext := range []string{".parquet", ".arrow", ".arrows", ".jsonl"} {
		t.Run("train rows survive "+ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), "train"+ext)
			w, err := CreateRecords(path, TrainSchema(), mem)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteTrain(rows[:20]); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteTrain(rows[20:]); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if ext == ".jsonl" {
				res, err := Inspect(path, 2)
				if err != nil || res.Rows != 50 {
					t.Fatalf("Inspect: %v rows=%v", err, res)
				}
				return
			}
			rr, err := OpenRecords(path, mem, 16)
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Close()
			if err := ValidateSchema(rr.Schema(), TrainSchema()); err != nil {
				t.Fatal(err)
			}
			var got []TrainRow
			eachRecord(t, rr, func(rec arrow.Record) error {
				part, err := TrainFromRecord(rec)
				got = append(got, part...)
				return err
			})
			if !reflect.DeepEqual(got, rows) {
				t.Errorf("rows differ after %s round trip", ext)
			}
		})
	}
}

func TestVerlParquetRoundTripsEveryColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := filepath.Join(t.TempDir(), "verl.parquet")
	rr, err := OpenRecords(verlFile, mem, 300)
	if err != nil {
		t.Fatal(err)
	}
	w, err := CreateRecords(out, rr.Schema(), mem)
	if err != nil {
		t.Fatal(err)
	}
	eachRecord(t, rr, w.Write)
	rr.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantSchema, wantRows := readAllRows(t, verlFile, mem)
	gotSchema, gotRows := readAllRows(t, out, mem)
	if len(wantRows) != 1319 || len(gotRows) != len(wantRows) {
		t.Fatalf("rows: original %d, round trip %d, want 1319", len(wantRows), len(gotRows))
	}
	for i, f := range wantSchema.Fields() {
		g := gotSchema.Field(i)
		if g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) || g.Nullable != f.Nullable {
			t.Errorf("column %d: got %s %s, want %s %s", i, g.Name, g.Type, f.Name, f.Type)
		}
	}
	for i := range wantRows {
		if gotRows[i] != wantRows[i] {
			t.Fatalf("row %d differs:\n got %s\nwant %s", i+1, gotRows[i], wantRows[i])
		}
	}
}

func TestVerlRowsLoadAsPrompts(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	all := readPromptsFile(t, verlFile, WithAllocator(mem), WithBatchRows(500))
	if len(all) != 1319 {
		t.Fatalf("%d prompts, want 1319", len(all))
	}
	p := all[0]
	if !strings.HasPrefix(p.Prompt, "Janet’s ducks lay 16 eggs") || p.Answer != "18" || p.Dataset != "openai/gsm8k" {
		t.Errorf("first prompt = %+v", p)
	}
	for _, key := range []string{`"extra_info":{`, `"data_source":"openai/gsm8k"`} {
		if !strings.Contains(p.Meta, key) {
			t.Errorf("meta lacks %s: %s", key, p.Meta)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadRowsAreLocated(t *testing.T) {
	var good strings.Builder
	for i := 1; i <= 20; i++ {
		if i == 17 {
			good.WriteString("{\"question\": \"q\", \"answer\": \n")
			continue
		}
		fmt.Fprintf(&good, "{\"question\": \"q%d\", \"answer\": \"%d\"}\n", i, i)
	}
	malformed := writeFile(t, "test.jsonl", good.String())
	missing := writeFile(t, "m.jsonl", "{\"prompt\":\"a\",\"answer\":\"1\"}\n\n{\"prompt\":\"b\"}\n")
	arrayFile := writeFile(t, "a.json", "[{\"prompt\":\"a\",\"answer\":1},{\"prompt\":\"b\",\"answer\":[1]}]")
	cases := []struct {
		name, path string
		wantErr    error
		wantText   string
	}{
		{"a malformed line 17 names the file and line", malformed, ErrInvalidJSON, "test.jsonl line 17: invalid JSON"},
		{"a missing answer names line 3 and the field", missing, ErrMissingField, `m.jsonl line 3 field "answer": missing`},
		{"a bad array element names its row and field", arrayFile, ErrFieldType, `a.json row 2 field "answer": wrong type`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := OpenPrompts(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, err = r.ReadAll(context.Background())
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("err = %v, want %v containing %q", err, tc.wantErr, tc.wantText)
			}
		})
	}
	t.Run("Inspect also reports the malformed line 17", func(t *testing.T) {
		_, err := Inspect(malformed, 3)
		if err == nil || !strings.Contains(err.Error(), "line 17") {
			t.Errorf("err = %v, want line 17", err)
		}
	})
}

func TestPromptsFilesRoundTrip(t *testing.T) {
	rows := []Prompt{
		{ID: 1<<63 + 5, Dataset: "arith", Prompt: "1+2=", Answer: "3", Meta: `{"completion":"<think>1+2=3</think><answer>3</answer>"}`},
		{ID: 7, Dataset: "gsm8k", Prompt: "Q?", Answer: "18", Meta: "{}"},
	}
	for _, ext := range []string{".jsonl", ".parquet", ".arrow", ".arrows"} {
		t.Run("prompts written as "+ext+" read back equal", func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), "p"+ext)
			if err := WritePromptsFile(path, rows); err != nil {
				t.Fatal(err)
			}
			got := readPromptsFile(t, path, WithAllocator(mem))
			if !reflect.DeepEqual(got, rows) {
				t.Errorf("got %+v\nwant %+v", got, rows)
			}
		})
	}
}

func TestFieldMapSelectsFields(t *testing.T) {
	path := writeFile(t, "custom.jsonl", `{"q":{"text":"hi"},"gt":5.0,"key":"k1","other":true}`+"\n")
	got := readPromptsFile(t, path, WithFields(FieldMap{Prompt: "q.text", Answer: "gt", ID: "key"}))
	want := Prompt{ID: PromptID("custom", "k1"), Dataset: "custom", Prompt: "hi", Answer: "5", Meta: `{"other":true}`}
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// readPromptsFile returns every prompt of the file at path (OpenPrompts,
// then ReadAll), failing t on any error.
func readPromptsFile(t *testing.T, path string, opts ...Option) []Prompt {
	t.Helper()
	r, err := OpenPrompts(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	all, err := r.ReadAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return all
}
