package curate

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
)

// MetadataKey is the schema metadata key holding the curation settings
// (JSON) in a curated file.
const MetadataKey = "rlpipe.curate"

// Row is one curated dataset row: the prompt and its statistics.
type Row struct {
	Prompt data.Prompt
	Split  string
	Stats  Stats
}

// NewRecord builds a curated batch (schema: a data.CuratedSchema) of rows
// with VPS weights alpha and beta. The caller releases the record.
func NewRecord(mem memory.Allocator, schema *arrow.Schema, rows []Row, alpha, beta float64) arrow.Record {
	out := make([]data.CuratedRow, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = data.CuratedRow{Prompt: r.Prompt, Split: r.Split, Index: r.Stats.Index, PassRate: r.Stats.PassRate,
			OVS: r.Stats.OVS, TDS: r.Stats.TDS, VPS: r.Stats.VPS(alpha, beta), Samples: r.Stats.Samples}
	}
	return data.NewCuratedRecord(mem, schema, out)
}

// writeParquet writes rows to path atomically (writeAtomic).
func writeParquet(path string, mem memory.Allocator, meta map[string]string, rows []Row, alpha, beta float64) error {
	schema := data.CuratedSchema(meta)
	return writeAtomic(path, schema, mem, func(w *data.RecordWriter) error {
		const chunk = 4096
		for lo := 0; ; lo += chunk {
			hi := min(lo+chunk, len(rows))
			rec := NewRecord(mem, schema, rows[lo:hi], alpha, beta)
			err := w.Write(rec)
			rec.Release()
			if err != nil || hi >= len(rows) {
				return err
			}
		}
	})
}

// writeAtomic writes a Parquet file of schema to path with fill: into a
// temporary file in the same directory, fsynced, then renamed over path,
// so that path never holds a partial file.
func writeAtomic(path string, schema *arrow.Schema, mem memory.Allocator, fill func(*data.RecordWriter) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w, err := data.NewRecordWriter(tmp, data.FormatParquet, schema, mem)
	if err != nil {
		tmp.Close()
		return fmt.Errorf("curate: %s: %w", path, err)
	}
	if err := fill(w); err != nil {
		w.Close()
		tmp.Close()
		return fmt.Errorf("curate: writing %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("curate: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("curate: %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("curate: %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a rename durable; failures are ignored because some file
// systems cannot sync directories.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
