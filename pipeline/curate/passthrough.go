package curate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
)

// statColumns is how many trailing columns of data.CuratedSchema are
// rlpipe's own (prompt_id and the statistics); a verl input keeps all its
// columns and gains these.
const statColumns = 6

// isVerlFile reports whether dataset is a Parquet or Arrow file in verl's
// layout: a prompt column holding a chat list. Such a file keeps every one
// of its columns in the curated output (the system message, every
// extra_info field, agent_name, tools_kwargs, …), which rlpipe's own prompt
// form cannot hold.
func isVerlFile(dataset string) (bool, error) {
	switch data.FormatOf(dataset) {
	case data.FormatParquet, data.FormatIPCFile, data.FormatIPCStream:
	default:
		return false, nil
	}
	if _, err := os.Stat(dataset); err != nil {
		return false, nil // a named dataset that looks like a file name
	}
	rr, err := data.OpenRecords(dataset, nil, 1)
	if err != nil {
		return false, fmt.Errorf("curate: %w", err)
	}
	defer rr.Close()
	idx := rr.Schema().FieldIndices(data.ColPrompt)
	return len(idx) == 1 && rr.Schema().Field(idx[0]).Type.ID() == arrow.LIST, nil
}

// passthroughSchema is in's fields without any of rlpipe's statistic
// columns (a re-curated file replaces them), then those columns, with in's
// metadata plus extra.
func passthroughSchema(in *arrow.Schema, extra map[string]string) (*arrow.Schema, []int) {
	stats := data.CuratedSchema(nil).Fields()
	stats = stats[len(stats)-statColumns:]
	own := map[string]bool{}
	for _, f := range stats {
		own[f.Name] = true
	}
	var fields []arrow.Field
	var keep []int
	for i, f := range in.Fields() {
		if !own[f.Name] {
			fields = append(fields, f)
			keep = append(keep, i)
		}
	}
	md := in.Metadata()
	keys, vals := append([]string(nil), md.Keys()...), append([]string(nil), md.Values()...)
	for k, v := range extra {
		keys, vals = append(keys, k), append(vals, v)
	}
	meta := arrow.NewMetadata(keys, vals)
	return arrow.NewSchema(append(fields, stats...), &meta), keep
}

// writePassthrough writes the rows of the verl file input whose index has
// kept[index] set (indices past len(kept) were not curated) with every
// input column unchanged and the statistics of stats[index] appended.
func writePassthrough(path, input string, mem memory.Allocator, meta map[string]string, kept []bool, stats []Stats, alpha, beta float64) error {
	rr, err := data.OpenRecords(input, mem, 0)
	if err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	defer rr.Close()
	schema, cols := passthroughSchema(rr.Schema(), meta)
	return writeAtomic(path, schema, mem, func(w *data.RecordWriter) error {
		first, wrote := 0, false
		for first < len(kept) {
			rec, err := rr.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			out, err := keptRows(mem, schema, cols, rec, first, kept, stats, alpha, beta)
			first += int(rec.NumRows())
			rec.Release()
			if err != nil {
				return err
			}
			if out == nil {
				continue
			}
			err = w.Write(out)
			out.Release()
			if err != nil {
				return err
			}
			wrote = true
		}
		if !wrote { // a file with the schema and no rows
			b := array.NewRecordBuilder(mem, schema)
			defer b.Release()
			empty := b.NewRecord()
			defer empty.Release()
			return w.Write(empty)
		}
		return nil
	})
}

// keptRows returns the kept rows of rec (dataset rows first, first+1, …)
// with columns cols and the statistics appended, or nil when none is kept.
func keptRows(mem memory.Allocator, schema *arrow.Schema, cols []int, rec arrow.Record, first int,
	kept []bool, stats []Stats, alpha, beta float64) (arrow.Record, error) {
	var runs [][2]int64
	var rows []int
	for i := 0; i < int(rec.NumRows()) && first+i < len(kept); i++ {
		if !kept[first+i] {
			continue
		}
		rows = append(rows, first+i)
		if n := len(runs); n > 0 && runs[n-1][1] == int64(i) {
			runs[n-1][1]++
		} else {
			runs = append(runs, [2]int64{int64(i), int64(i) + 1})
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	arrays := make([]arrow.Array, 0, schema.NumFields())
	defer func() {
		for _, a := range arrays {
			a.Release()
		}
	}()
	for _, c := range cols {
		parts := make([]arrow.Array, len(runs))
		for k, r := range runs {
			parts[k] = array.NewSlice(rec.Column(c), r[0], r[1])
		}
		joined, err := array.Concatenate(parts, mem)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", schema.Field(len(arrays)).Name, err)
		}
		arrays = append(arrays, joined)
	}
	arrays = append(arrays, statArrays(mem, schema, rows, stats, alpha, beta)...)
	return array.NewRecord(schema, arrays, int64(len(rows))), nil
}

// statArrays builds the statistic columns (the last statColumns fields of
// schema) of rows.
func statArrays(mem memory.Allocator, schema *arrow.Schema, rows []int, stats []Stats, alpha, beta float64) []arrow.Array {
	fields := schema.Fields()[schema.NumFields()-statColumns:]
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, i := range rows {
		st := stats[i]
		b.Field(0).(*array.Uint64Builder).Append(st.PromptID)
		b.Field(1).(*array.Float64Builder).Append(st.PassRate)
		b.Field(2).(*array.Float64Builder).Append(st.OVS)
		b.Field(3).(*array.Float64Builder).Append(st.TDS)
		b.Field(4).(*array.Float64Builder).Append(st.VPS(alpha, beta))
		b.Field(5).(*array.Int64Builder).Append(int64(st.Samples))
	}
	rec := b.NewRecord()
	defer rec.Release()
	out := make([]arrow.Array, statColumns)
	for i := range out {
		out[i] = rec.Column(i)
		out[i].Retain()
	}
	return out
}
