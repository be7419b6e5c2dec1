package data

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// Format is an on-disk dataset or batch format.
type Format int

// Supported formats.
const (
	FormatUnknown   Format = iota
	FormatJSONL            // one JSON object per line (.jsonl, .ndjson)
	FormatJSON             // .json: a JSON array of objects, or JSONL
	FormatParquet          // .parquet, .pq
	FormatIPCFile          // Arrow IPC file (.arrow, .ipc, .feather)
	FormatIPCStream        // Arrow IPC stream (.arrows)
)

// String returns the format's name.
func (f Format) String() string {
	return [...]string{"unknown", "jsonl", "json", "parquet", "arrow", "arrows"}[f]
}

// FormatOf picks the format from path's extension.
func FormatOf(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		return FormatJSONL
	case ".json":
		return FormatJSON
	case ".parquet", ".pq":
		return FormatParquet
	case ".arrow", ".ipc", ".feather":
		return FormatIPCFile
	case ".arrows":
		return FormatIPCStream
	}
	return FormatUnknown
}

// DefaultBatchRows is the number of rows per batch readers return when no
// batch size is given.
const DefaultBatchRows = 1024

// RecordReader streams the record batches of a Parquet or Arrow IPC file
// without loading the whole file. It is not safe for concurrent use.
type RecordReader struct {
	name   string
	schema *arrow.Schema
	next   func() (arrow.Record, error) // record valid until the next call
	close  func() error
}

// OpenRecords opens a Parquet or Arrow IPC (file or stream) file for batch
// reading with allocator mem (nil means memory.DefaultAllocator). Parquet
// batches have at most batchRows rows (<= 0 means DefaultBatchRows); IPC
// batches are returned as written. The caller must Close the reader.
func OpenRecords(path string, mem memory.Allocator, batchRows int) (*RecordReader, error) {
	return openRecordsFS(nil, path, mem, batchRows)
}

// openFile opens name from fsys, or from the OS when fsys is nil.
func openFile(fsys fs.FS, name string) (fs.File, error) {
	if fsys == nil {
		return os.Open(name)
	}
	return fsys.Open(name)
}

type readAtSeeker interface {
	io.ReaderAt
	io.ReadSeeker
}

func openRecordsFS(fsys fs.FS, name string, mem memory.Allocator, batchRows int) (*RecordReader, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if batchRows <= 0 {
		batchRows = DefaultBatchRows
	}
	f, err := openFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	ras, ok := f.(readAtSeeker)
	if !ok {
		f.Close()
		return nil, fmt.Errorf("data: %s: file does not support random access", name)
	}
	var r *RecordReader
	switch FormatOf(name) {
	case FormatParquet:
		r, err = openParquet(name, ras, mem, batchRows)
	case FormatIPCFile, FormatIPCStream:
		r, err = openIPC(name, ras, mem)
	default:
		err = fmt.Errorf("%w: %s is not Parquet or Arrow IPC", ErrFormat, name)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	inner := r.close
	r.close = func() error {
		err := inner()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return r, nil
}

func openParquet(name string, f readAtSeeker, mem memory.Allocator, batchRows int) (*RecordReader, error) {
	pr, err := file.NewParquetReader(f, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)}, mem)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	schema, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	// One record reader per row group: pqarrow v17 cannot assemble nested
	// columns from batches that span row groups (ErrNotImplemented).
	var rr pqarrow.RecordReader
	rg := 0
	release := func() {
		if rr != nil {
			rr.Release()
			rr = nil
		}
	}
	next := func() (arrow.Record, error) {
		for {
			if rr == nil {
				if rg >= pr.NumRowGroups() {
					return nil, io.EOF
				}
				if rr, err = fr.GetRecordReader(context.Background(), nil, []int{rg}); err != nil {
					return nil, fmt.Errorf("data: %s row group %d: %w", name, rg, err)
				}
				rg++
			}
			if rr.Next() {
				return rr.Record(), nil
			}
			if err := rr.Err(); err != nil && err != io.EOF {
				return nil, fmt.Errorf("data: %s: %w", name, err)
			}
			release()
		}
	}
	return &RecordReader{name: name, schema: schema, next: next, close: func() error { release(); return nil }}, nil
}

// ErrNotArrow marks a file given as Arrow IPC that is neither an Arrow IPC
// file nor an Arrow IPC stream (random bytes, another format, a corrupt
// header). Errors wrapping it name the file.
var ErrNotArrow = errors.New("not an Arrow IPC file or stream")

// streamStart reports whether head, the first bytes of a file of the given
// size, can begin an Arrow IPC stream: the continuation marker 0xFFFFFFFF
// then a metadata length, or (before format 0.15) the length alone, with
// the length positive and within the file. It keeps the IPC reader from
// decoding random bytes, which fails with recovered panics such as
// "makeslice: len out of range".
func streamStart(head []byte, size int64) bool {
	if len(head) < 8 {
		return false
	}
	n := int64(int32(binary.LittleEndian.Uint32(head[:4])))
	rest := size - 4
	if n == -1 {
		n, rest = int64(int32(binary.LittleEndian.Uint32(head[4:8]))), size-8
	}
	return n > 0 && n <= rest
}

// openIPC sniffs the "ARROW1" magic: present means the random-access file
// format, absent the stream format, whatever the extension says. Either
// way the records are read in order as a stream. Input that is neither
// gives an error wrapping ErrNotArrow.
func openIPC(name string, f readAtSeeker, mem memory.Allocator) (*RecordReader, error) {
	magic := make([]byte, len(ipc.Magic))
	n, _ := f.ReadAt(magic, 0)
	var src io.Reader = f
	if n < len(magic) || !bytes.Equal(magic, ipc.Magic) {
		size, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", name, err)
		}
		head := make([]byte, 8)
		n, _ := f.ReadAt(head, 0)
		if !streamStart(head[:n], size) {
			return nil, fmt.Errorf("data: %s: %w (no ARROW1 magic and no stream header)", name, ErrNotArrow)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("data: %s: %w", name, err)
		}
	} else {
		// The file format is magic, padding to 8 bytes, the stream format,
		// then a footer. Reading the embedded stream avoids ipc.FileReader,
		// which in v17 never releases its dictionaries, and streams.
		end, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", name, err)
		}
		var tail [4]byte
		trailer := int64(len(ipc.Magic) + 4)
		if end < 8+trailer {
			return nil, fmt.Errorf("data: %s: %w (truncated Arrow IPC file)", name, ErrNotArrow)
		}
		if _, err := f.ReadAt(tail[:], end-trailer); err != nil {
			return nil, fmt.Errorf("data: %s: %w", name, err)
		}
		footer := int64(binary.LittleEndian.Uint32(tail[:]))
		if footer <= 0 || 8+footer+trailer > end {
			return nil, fmt.Errorf("data: %s: %w (bad footer length %d)", name, ErrNotArrow, footer)
		}
		size := end - trailer - footer - 8
		head := make([]byte, 8)
		n, _ := f.ReadAt(head, 8)
		if !streamStart(head[:min(int64(n), size)], size) {
			return nil, fmt.Errorf("data: %s: %w (ARROW1 magic, but no record stream after it)", name, ErrNotArrow)
		}
		src = io.NewSectionReader(f, 8, size)
	}
	sr, err := ipc.NewReader(src, ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w (%v)", name, ErrNotArrow, err)
	}
	i := 0
	return &RecordReader{
		name:   name,
		schema: sr.Schema(),
		next: func() (arrow.Record, error) {
			if sr.Next() {
				i++
				return sr.Record(), nil
			}
			if err := sr.Err(); err != nil && err != io.EOF {
				return nil, fmt.Errorf("data: %s: record batch %d: corrupt Arrow IPC data: %w", name, i, err)
			}
			return nil, io.EOF
		},
		close: func() error { sr.Release(); return nil },
	}, nil
}

// Schema returns the file's Arrow schema.
func (r *RecordReader) Schema() *arrow.Schema { return r.schema }

// Next returns the next batch, or io.EOF after the last. The caller owns one
// reference to the returned record and must Release it. Next checks ctx
// between batches.
func (r *RecordReader) Next(ctx context.Context) (arrow.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec, err := r.next()
	if err != nil {
		return nil, err
	}
	rec.Retain()
	return rec, nil
}

// Close releases the reader and closes the file.
func (r *RecordReader) Close() error { return r.close() }
