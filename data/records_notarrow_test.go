package data_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
)

// notArrowFiles returns inputs given as Arrow IPC that are not: before the
// header checks, the first two made the IPC decoder fail with recovered
// panics ("makeslice: len out of range") or panic outright.
func notArrowFiles() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	framed := append([]byte("ARROW1\x00\x00"), random(4000)...)
	framed = binary.LittleEndian.AppendUint32(framed, 200) // a plausible footer length
	framed = append(framed, "ARROW1"...)
	return map[string][]byte{
		"random bytes":                     random(4096),
		"random bytes inside ARROW1 magic": framed,
		"a JSON lines file":                []byte(`{"prompt": "1+1", "answer": "2"}` + "\n"),
		"an empty file":                    nil,
		"magic alone":                      []byte("ARROW1"),
	}
}

func TestOpenRecordsSaysWhatIsNotArrow(t *testing.T) {
	dir := t.TempDir()
	for name, body := range notArrowFiles() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".arrow")
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := data.OpenRecords(path, nil, 0)
			if err == nil {
				r.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, data.ErrNotArrow) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want ErrNotArrow naming %s", err, path)
			}
			if strings.Contains(err.Error(), "runtime error") {
				t.Errorf("err = %v: a decoder panic", err)
			}
		})
	}
}

// TestOpenRecordsReadsStreamsAndNamesCutFiles: the stream-header check accepts what the
// Arrow writer produces; a file cut short fails (at open or on reading)
// with an error naming it, not a panic.
func TestOpenRecordsReadsStreamsAndNamesCutFiles(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(mem)
	b.AppendValues([]int64{1, 2, 3}, nil)
	col := b.NewArray()
	b.Release()
	rec := array.NewRecord(schema, []arrow.Array{col}, 3)
	col.Release()
	defer rec.Release()
	dir := t.TempDir()
	var stream bytes.Buffer
	sw := ipc.NewWriter(&stream, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	ff, err := os.Create(filepath.Join(dir, "f.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	fw, err := ipc.NewFileWriter(ff, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []interface {
		Write(arrow.Record) error
		Close() error
	}{sw, fw} {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	file, err := os.ReadFile(ff.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		body []byte
		ok   bool
	}{
		{"s.arrows", stream.Bytes(), true},
		{"f.arrow", file, true},
		{"cut.arrow", file[:len(file)/2], false},
		{"cut.arrows", stream.Bytes()[:stream.Len()-20], false},
	} {
		path := filepath.Join(dir, tc.name)
		os.WriteFile(path, tc.body, 0o644)
		rows, err := readAll(path, mem)
		if tc.ok && (err != nil || rows != 3) {
			t.Errorf("%s: %d rows, err %v; want 3 rows", tc.name, rows, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), path)) {
			t.Errorf("%s: err = %v, want an error naming the file", tc.name, err)
		}
	}
}

func readAll(path string, mem memory.Allocator) (int, error) {
	r, err := data.OpenRecords(path, mem, 0)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n := 0
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += int(rec.NumRows())
		rec.Release()
	}
}
