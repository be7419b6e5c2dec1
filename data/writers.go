package data

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// RecordWriter writes record batches of one schema as JSONL, Parquet (zstd,
// Arrow schema stored so dictionary columns read back as dictionaries) or
// Arrow IPC (file or stream, zstd). It is not safe for concurrent use.
//
// The Arrow IPC file format (.arrow) allows one dictionary per field, so
// every batch written there must have the same dataset dictionary (e.g. one
// dataset per file; finish_reason is always [stop, length]); otherwise
// Write fails. The stream format (.arrows) and Parquet have no such limit.
type RecordWriter struct {
	schema *arrow.Schema
	mem    memory.Allocator
	write  func(arrow.Record) error
	close  func() error
	file   *os.File // nil when writing to a caller's io.Writer
}

// CreateRecords creates (truncates) path and returns a writer whose format
// follows the extension (see FormatOf; .json writes JSONL). mem may be nil.
// The caller must Close the writer, which also closes the file.
func CreateRecords(path string, schema *arrow.Schema, mem memory.Allocator) (*RecordWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	w, err := NewRecordWriter(f, FormatOf(path), schema, mem)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	w.file = f
	return w, nil
}

// NewRecordWriter writes format to w; FormatIPCFile needs w to be an
// io.WriteSeeker. Close flushes but does not close w.
func NewRecordWriter(w io.Writer, format Format, schema *arrow.Schema, mem memory.Allocator) (*RecordWriter, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	rw := &RecordWriter{schema: schema, mem: mem}
	switch format {
	case FormatJSONL, FormatJSON:
		bw := bufio.NewWriterSize(w, 1<<16)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		rw.write = func(rec arrow.Record) error { return writeJSONRows(enc, rec) }
		rw.close = bw.Flush
	case FormatParquet:
		props := ParquetWriterProperties(schema, mem)
		aprops := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem))
		// noClose keeps the caller's writer open: pqarrow closes its sink.
		pw, err := pqarrow.NewFileWriter(schema, noClose{w}, props, aprops)
		if err != nil {
			return nil, err
		}
		rw.write, rw.close = pw.Write, pw.Close
	case FormatIPCFile:
		ws, ok := w.(io.WriteSeeker)
		if !ok {
			return nil, fmt.Errorf("%w: Arrow IPC file needs a seekable writer", ErrFormat)
		}
		fw, err := ipc.NewFileWriter(ws, ipc.WithSchema(schema), ipc.WithAllocator(mem), ipc.WithZstd())
		if err != nil {
			return nil, err
		}
		rw.write = func(rec arrow.Record) error {
			rec = withGoDictionaries(rec)
			defer rec.Release()
			return fw.Write(rec)
		}
		rw.close = fw.Close
	case FormatIPCStream:
		sw := ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem), ipc.WithZstd())
		rw.write, rw.close = sw.Write, sw.Close
	default:
		return nil, fmt.Errorf("%w: cannot write %v", ErrFormat, format)
	}
	return rw, nil
}

type noClose struct{ io.Writer }

// withGoDictionaries returns rec (retained) with each top-level dictionary
// column's dictionary copied into Go-allocated memory. arrow v17's
// ipc.FileWriter keeps the last dictionary of every field and never
// releases it; holding a GC-managed copy keeps the caller's allocator
// balanced. Dictionaries are small, so the copy is cheap.
func withGoDictionaries(rec arrow.Record) arrow.Record {
	cols := rec.Columns()
	var out []arrow.Array
	for i, c := range cols {
		d, ok := c.(*array.Dictionary)
		if !ok {
			continue
		}
		if out == nil {
			out = append([]arrow.Array(nil), cols...)
		}
		dict, err := array.Concatenate([]arrow.Array{d.Dictionary()}, memory.NewGoAllocator())
		if err != nil {
			panic("data: copy dictionary: " + err.Error())
		}
		out[i] = array.NewDictionaryArray(d.DataType(), d.Indices(), dict)
		dict.Release()
	}
	if out == nil {
		rec.Retain()
		return rec
	}
	defer func() {
		for i, c := range out {
			if c != cols[i] {
				c.Release()
			}
		}
	}()
	return array.NewRecord(rec.Schema(), out, rec.NumRows())
}

// Write appends rec, which must have the writer's schema (fields compared,
// metadata ignored). It does not take ownership: the caller still releases rec.
func (w *RecordWriter) Write(rec arrow.Record) error {
	if err := ValidateSchema(rec.Schema(), w.schema); err != nil {
		return err
	}
	return w.write(rec)
}

// WritePrompts builds a prompts batch from rows and writes it; the writer's
// schema must be PromptsSchema.
func (w *RecordWriter) WritePrompts(rows []Prompt) error {
	return w.writeBuilt(NewPromptsRecord(w.mem, rows))
}

// WriteRollouts builds a rollouts batch from rows and writes it.
func (w *RecordWriter) WriteRollouts(rows []Rollout) error {
	return w.writeBuilt(NewRolloutsRecord(w.mem, rows))
}

// WriteScored builds a scored batch from rows and writes it.
func (w *RecordWriter) WriteScored(rows []Scored) error {
	return w.writeBuilt(NewScoredRecord(w.mem, rows))
}

// WriteTrain builds a train batch from rows and writes it.
func (w *RecordWriter) WriteTrain(rows []TrainRow) error {
	return w.writeBuilt(NewTrainRecord(w.mem, rows))
}

func (w *RecordWriter) writeBuilt(rec arrow.Record) error {
	defer rec.Release()
	return w.Write(rec)
}

// Close finishes the file (footer, flush) and closes it when the writer
// created it. It is safe to call twice.
func (w *RecordWriter) Close() error {
	if w.close == nil {
		return nil
	}
	err := w.close()
	w.close = nil
	if w.file != nil {
		if serr := w.file.Sync(); err == nil {
			err = serr
		}
		if cerr := w.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// writeJSONRows writes one JSON object per row in column order. A utf8
// "meta" column holding a JSON object is embedded as an object, not a
// string, so files read back into the same meta.
func writeJSONRows(enc *json.Encoder, rec arrow.Record) error {
	metaCol := -1
	if idx := rec.Schema().FieldIndices(ColMeta); len(idx) == 1 {
		if _, ok := rec.Column(idx[0]).(*array.String); ok {
			metaCol = idx[0]
		}
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		obj := RowObject(rec, i)
		if metaCol >= 0 {
			if s, ok := obj.Values[metaCol].(string); ok && isJSONObject(s) {
				obj.Values[metaCol] = json.RawMessage(s)
			}
		}
		if err := enc.Encode(obj); err != nil {
			return fmt.Errorf("data: row %d: %w", i+1, err)
		}
	}
	return nil
}

func isJSONObject(s string) bool {
	return len(s) >= 2 && s[0] == '{' && json.Valid([]byte(s))
}

// WritePromptsFile writes rows to path in the format of its extension.
func WritePromptsFile(path string, rows []Prompt) error {
	w, err := CreateRecords(path, PromptsSchema(), nil)
	if err != nil {
		return err
	}
	const chunk = 4096
	for len(rows) > 0 {
		n := min(chunk, len(rows))
		if err := w.WritePrompts(rows[:n]); err != nil {
			w.Close()
			return fmt.Errorf("data: %s: %w", path, err)
		}
		rows = rows[n:]
	}
	return w.Close()
}

// ParquetWriterProperties are the properties of every Parquet file rlpipe
// writes: zstd, a REQUIRED root (arrow-go marks it REPEATED by default,
// which readers such as hyparquet refuse; pyarrow leaves it required), and
// no statistics on non-nullable dictionary columns, for which arrow-go v17
// records a negative null count (0 − rows) that arrow-rs, and so polars
// and parquet-wasm, reject as corrupt.
func ParquetWriterProperties(schema *arrow.Schema, mem memory.Allocator) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithAllocator(mem),
		parquet.WithRootRepetition(parquet.Repetitions.Required),
	}
	for _, f := range schema.Fields() {
		if f.Type.ID() == arrow.DICTIONARY && !f.Nullable {
			opts = append(opts, parquet.WithStatsFor(f.Name, false))
		}
	}
	return parquet.NewWriterProperties(opts...)
}
