package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
)

// arrowRows reads reward rows (and prompt_id groups) from a record.
func arrowRows(rec arrow.Record, line0 int) (*scoreBatch, error) {
	n := int(rec.NumRows())
	b := &scoreBatch{rows: make([]reward.Row, n), groups: make([]int, n), rec: rec, line0: line0}
	strs := map[string]*[]string{}
	for _, name := range []string{data.ColPrompt, data.ColCompletion, data.ColAnswer, data.ColMeta} {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) == 0 {
			if name == data.ColCompletion {
				return nil, usageErrorf("score: input has no %q column", name)
			}
			continue
		}
		col, ok := rec.Column(idx[0]).(interface{ Value(int) string })
		if !ok {
			return nil, usageErrorf("score: column %q is %s, want utf8", name, rec.Column(idx[0]).DataType())
		}
		vals := make([]string, n)
		for i := range vals {
			if rec.Column(idx[0]).IsValid(i) {
				vals[i] = col.Value(i)
			}
		}
		strs[name] = &vals
	}
	get := func(name string, i int) string {
		if v, ok := strs[name]; ok {
			return (*v)[i]
		}
		return ""
	}
	tokens := tokenCounts(rec)
	ids := rec.Schema().FieldIndices(data.ColPromptID)
	for i := 0; i < n; i++ {
		b.rows[i] = reward.Row{Prompt: get(data.ColPrompt, i), Completion: get(data.ColCompletion, i), Answer: get(data.ColAnswer, i), Meta: get(data.ColMeta, i)}
		if tokens != nil {
			b.rows[i].CompletionTokens = tokens(i)
		}
		b.groups[i] = i
		if len(ids) > 0 {
			if u, ok := rec.Column(ids[0]).(*array.Uint64); ok {
				b.groups[i] = int(u.Value(i) & math.MaxInt32)
			}
		}
	}
	return b, nil
}

// tokenCounts returns a completion-length accessor for a completion_tokens
// column that is a token list or an integer.
func tokenCounts(rec arrow.Record) func(int) int {
	idx := rec.Schema().FieldIndices(data.ColCompletionTokens)
	if len(idx) == 0 {
		return nil
	}
	switch c := rec.Column(idx[0]).(type) {
	case *array.List:
		return func(i int) int { s, e := c.ValueOffsets(i); return int(e - s) }
	case *array.Int32:
		return func(i int) int { return int(c.Value(i)) }
	case *array.Int64:
		return func(i int) int { return int(c.Value(i)) }
	}
	return nil
}

// recordSource adapts a record reader; records are split into batches of
// at most n rows by slicing.
type recordSource struct {
	nextRec func() (arrow.Record, error) // nil at the end; the caller releases
	closeFn func()
	pending arrow.Record
	off     int64
	rows    int
}

func (s *recordSource) close() {
	if s.pending != nil {
		s.pending.Release()
	}
	s.closeFn()
}

func (s *recordSource) next(n int) (*scoreBatch, error) {
	for s.pending == nil || s.off >= s.pending.NumRows() {
		if s.pending != nil {
			s.pending.Release()
			s.pending = nil
		}
		rec, err := s.nextRec()
		if err != nil || rec == nil {
			return nil, err
		}
		s.pending, s.off = rec, 0
	}
	end := min(s.off+int64(n), s.pending.NumRows())
	slice := s.pending.NewSlice(s.off, end)
	s.off = end
	b, err := arrowRows(slice, s.rows+1)
	if err != nil {
		slice.Release()
		return nil, err
	}
	s.rows += int(slice.NumRows())
	return b, nil
}

func newParquetSource(path string, mem memory.Allocator) (scoreSource, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, usageErrorf("score: %s: %v", path, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, mem)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("score: %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("score: %s: %w", path, err)
	}
	return &recordSource{
		nextRec: func() (arrow.Record, error) {
			if !rr.Next() {
				if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
					return nil, fmt.Errorf("score: %s: %w", path, err)
				}
				return nil, nil
			}
			rec := rr.Record()
			rec.Retain()
			return rec, nil
		},
		closeFn: func() { rr.Release(); pf.Close() },
	}, nil
}

func newIPCSource(path string, mem memory.Allocator) (scoreSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErrorf("score: %v", err)
	}
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	if err != nil {
		f.Close()
		return nil, usageErrorf("score: %s: not an Arrow IPC file: %v", path, err)
	}
	i := 0
	return &recordSource{
		nextRec: func() (arrow.Record, error) {
			if i >= r.NumRecords() {
				return nil, nil
			}
			rec, err := r.RecordAt(i)
			i++
			if err != nil {
				return nil, fmt.Errorf("score: %s record %d: %w", path, i-1, err)
			}
			return rec, nil
		},
		closeFn: func() { r.Close(); f.Close() },
	}, nil
}

// arrowSink writes Parquet or Arrow IPC: the input columns (JSONL input:
// prompt, completion, answer, meta, completion_tokens) plus reward,
// reward_parts and reward_error. Writers open on the first batch.
type arrowSink struct {
	f      *os.File
	kind   string
	mem    memory.Allocator
	schema *arrow.Schema
	pq     *pqarrow.FileWriter
	ipcw   *ipc.FileWriter
}

var scoredFields = []arrow.Field{
	{Name: data.ColReward, Type: arrow.PrimitiveTypes.Float64},
	{Name: data.ColRewardParts, Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64)},
	{Name: data.ColRewardError, Type: arrow.BinaryTypes.String, Nullable: true},
}

func (s *arrowSink) write(b *scoreBatch, res []reward.Result) error {
	base := b.rec
	if base == nil {
		base = jsonRowsRecord(s.mem, b.rows)
		defer base.Release()
	}
	var fields []arrow.Field
	var cols []arrow.Array
	for i, f := range base.Schema().Fields() {
		if f.Name == data.ColReward || f.Name == data.ColRewardParts || f.Name == data.ColRewardError {
			continue // re-scoring replaces old scores
		}
		fields = append(fields, f)
		cols = append(cols, base.Column(i))
	}
	scored := scoredColumns(s.mem, res)
	defer func() {
		for _, c := range scored {
			c.Release()
		}
	}()
	fields = append(fields, scoredFields...)
	cols = append(cols, scored...)
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecord(schema, cols, int64(len(res)))
	defer rec.Release()
	if err := s.open(schema); err != nil {
		return err
	}
	if s.pq != nil {
		return s.pq.Write(rec)
	}
	return s.ipcw.Write(rec)
}

func (s *arrowSink) open(schema *arrow.Schema) error {
	if s.schema != nil {
		if !s.schema.Equal(schema) {
			return fmt.Errorf("input schema changed between batches")
		}
		return nil
	}
	s.schema = schema
	var err error
	if s.kind == "parquet" {
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithAllocator(s.mem))
		s.pq, err = pqarrow.NewFileWriter(schema, s.f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(s.mem)))
		return err
	}
	s.ipcw, err = ipc.NewFileWriter(s.f, ipc.WithSchema(schema), ipc.WithAllocator(s.mem))
	return err
}

func (s *arrowSink) close() error {
	var err error
	switch {
	case s.pq != nil:
		err = s.pq.Close() // closes the file too
		return err
	case s.ipcw != nil:
		err = s.ipcw.Close()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func jsonRowsRecord(mem memory.Allocator, rows []reward.Row) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: data.ColPrompt, Type: arrow.BinaryTypes.String}, {Name: data.ColCompletion, Type: arrow.BinaryTypes.String},
		{Name: data.ColAnswer, Type: arrow.BinaryTypes.String}, {Name: data.ColMeta, Type: arrow.BinaryTypes.String},
		{Name: data.ColCompletionTokens, Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.Prompt)
		b.Field(1).(*array.StringBuilder).Append(r.Completion)
		b.Field(2).(*array.StringBuilder).Append(r.Answer)
		b.Field(3).(*array.StringBuilder).Append(r.Meta)
		b.Field(4).(*array.Int64Builder).Append(int64(r.CompletionTokens))
	}
	return b.NewRecord()
}

// scoredColumns builds reward, reward_parts (keys sorted) and reward_error.
func scoredColumns(mem memory.Allocator, res []reward.Result) []arrow.Array {
	rb := array.NewFloat64Builder(mem)
	mb := array.NewMapBuilder(mem, arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64, false)
	eb := array.NewStringBuilder(mem)
	defer rb.Release()
	defer mb.Release()
	defer eb.Release()
	kb := mb.KeyBuilder().(*array.StringBuilder)
	ib := mb.ItemBuilder().(*array.Float64Builder)
	for _, r := range res {
		rb.Append(r.Reward)
		mb.Append(true)
		keys := make([]string, 0, len(r.Parts))
		for k := range r.Parts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			kb.Append(k)
			ib.Append(r.Parts[k])
		}
		if r.Err == "" {
			eb.AppendNull()
		} else {
			eb.Append(r.Err)
		}
	}
	return []arrow.Array{rb.NewArray(), mb.NewArray(), eb.NewArray()}
}
