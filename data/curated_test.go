package data

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"
)

func TestCuratedFileReadsBackAsPrompts(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := []CuratedRow{
		{Prompt: Prompt{ID: 7, Dataset: "gsm8k", Prompt: "What is 2+2?", Answer: "4", Meta: `{"k":1}`}, Split: "test", Index: 0, PassRate: 0.5, VPS: 0.4, Samples: 8},
		{Prompt: Prompt{ID: 9, Dataset: "gsm8k", Prompt: "What is 3+3?", Answer: "6"}, Split: "test", Index: 1, PassRate: 1, Samples: 8},
	}
	schema := CuratedSchema(map[string]string{"rlpipe.test": "x"})
	path := filepath.Join(t.TempDir(), "curated.parquet")
	w, err := CreateRecords(path, schema, mem)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewCuratedRecord(mem, schema, rows)
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSpec(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("read %d prompts, want 2", len(got))
	}
	for i, p := range got {
		want := rows[i].Prompt
		if p.ID != want.ID || p.Dataset != want.Dataset || p.Answer != want.Answer || !strings.Contains(p.Prompt, want.Prompt) {
			t.Errorf("prompt %d = %+v, want id %d dataset %q answer %q", i, p, want.ID, want.Dataset, want.Answer)
		}
	}
}
