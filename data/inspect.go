package data

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet/file"
)

// InspectResult describes a data file for `rlpipe inspect`.
type InspectResult struct {
	Path   string
	Format Format
	// Schema is the Arrow schema as text (one "name: type" line per column),
	// or for JSON files the union of keys and JSON kinds seen in the first rows.
	Schema string
	// Rows is the total row count (Parquet: from metadata; others: streamed).
	Rows int64
	// FirstRows are the first rows rendered as JSON objects.
	FirstRows []string
}

// String renders the result as the CLI prints it.
func (r *InspectResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "file:   %s (%s)\nrows:   %d\nschema:\n%s", r.Path, r.Format, r.Rows, r.Schema)
	if len(r.FirstRows) > 0 {
		fmt.Fprintf(&b, "first %d rows:\n", len(r.FirstRows))
		for _, row := range r.FirstRows {
			b.WriteString(row)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Inspect reads the schema, total row count and the first firstRows rows of
// a .jsonl/.ndjson, .json (array or JSONL), .parquet or Arrow IPC
// (.arrow/.ipc/.feather/.arrows) file of any schema. Memory is bounded by
// one line or batch; JSON lines past the first rows are validated, so a
// malformed line fails with its line number.
func Inspect(path string, firstRows int) (*InspectResult, error) {
	res := &InspectResult{Path: path, Format: FormatOf(path)}
	var err error
	switch res.Format {
	case FormatJSONL, FormatJSON:
		err = inspectJSON(res, firstRows)
	case FormatParquet, FormatIPCFile, FormatIPCStream:
		err = inspectArrow(res, firstRows)
	default:
		err = fmt.Errorf("%w: %s", ErrFormat, path)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func inspectJSON(res *InspectResult, firstRows int) error {
	f, err := os.Open(res.Path)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	sc, isArray := newJSONScanner(res.Path, f)
	kinds := map[string]map[string]bool{}
	for {
		if !isArray && len(res.FirstRows) >= firstRows {
			// Validate the rest cheaply instead of building maps.
			n, err := countJSONLines(sc.(*jsonlScanner))
			res.Rows += n
			if err != nil {
				return err
			}
			break
		}
		row, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		res.Rows++
		if len(res.FirstRows) < firstRows {
			b, err := marshalJSON(row.obj)
			if err != nil {
				return err
			}
			res.FirstRows = append(res.FirstRows, string(b))
			for k, v := range row.obj {
				if kinds[k] == nil {
					kinds[k] = map[string]bool{}
				}
				kinds[k][jsonKind(v)] = true
			}
		}
	}
	res.Schema = jsonSchemaText(kinds)
	return nil
}

// countJSONLines counts the remaining non-blank lines, checking each is a
// syntactically valid JSON object.
func countJSONLines(s *jsonlScanner) (int64, error) {
	var n int64
	for {
		b, err := s.br.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, fmt.Errorf("data: %s: %w", s.file, err)
		}
		s.line++
		b = bytes.TrimSpace(b)
		if len(b) > 0 {
			if b[0] != '{' || !json.Valid(b) {
				_, perr := decodeObject(b)
				return n, &RowError{File: s.file, Row: s.line, Line: true, Err: perr}
			}
			n++
		}
		if err == io.EOF {
			return n, nil
		}
	}
}

func jsonSchemaText(kinds map[string]map[string]bool) string {
	keys := make([]string, 0, len(kinds))
	for k := range kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		ks := make([]string, 0, len(kinds[k]))
		for kind := range kinds[k] {
			ks = append(ks, kind)
		}
		sort.Strings(ks)
		fmt.Fprintf(&b, "  %s: %s\n", k, strings.Join(ks, "|"))
	}
	return b.String()
}

func inspectArrow(res *InspectResult, firstRows int) error {
	rr, err := OpenRecords(res.Path, nil, max(firstRows, 1))
	if err != nil {
		return err
	}
	defer rr.Close()
	res.Schema = SchemaText(rr.Schema())
	if res.Format == FormatParquet {
		if res.Rows, err = parquetRows(res.Path); err != nil {
			return err
		}
	}
	ctx := context.Background()
	for {
		rec, err := rr.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for i := 0; i < int(rec.NumRows()) && len(res.FirstRows) < firstRows; i++ {
			b, err := marshalJSON(RowObject(rec, i))
			if err != nil {
				rec.Release()
				return err
			}
			res.FirstRows = append(res.FirstRows, string(b))
		}
		if res.Format == FormatParquet && len(res.FirstRows) >= firstRows {
			rec.Release()
			return nil
		}
		if res.Format != FormatParquet {
			res.Rows += rec.NumRows()
		}
		rec.Release()
	}
}

func parquetRows(path string) (int64, error) {
	pr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, fmt.Errorf("data: %s: %w", path, err)
	}
	defer pr.Close()
	return pr.NumRows(), nil
}

// SchemaText renders a schema one column per line ("  name: type",
// "nullable" marked), then its metadata other than Arrow/Parquet internals.
func SchemaText(s *arrow.Schema) string {
	var b strings.Builder
	for _, f := range s.Fields() {
		null := ""
		if f.Nullable {
			null = " (nullable)"
		}
		fmt.Fprintf(&b, "  %s: %s%s\n", f.Name, f.Type, null)
	}
	md := s.Metadata()
	for i, k := range md.Keys() {
		if strings.HasPrefix(k, "ARROW:") || k == "huggingface" || strings.HasPrefix(k, "PARQUET:") {
			continue
		}
		fmt.Fprintf(&b, "  # %s = %s\n", k, md.Values()[i])
	}
	return b.String()
}
