package score

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
)

// arrowRows reads reward rows (and prompt_id groups) from a record.
func arrowRows(rec arrow.Record, line0 int) (*batch, error) {
	n := int(rec.NumRows())
	b := &batch{rows: make([]reward.Row, n), groups: make([]int, n), rec: rec, line0: line0}
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

func (s *recordSource) next(n int) (*batch, error) {
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

func newParquetSource(path string, mem memory.Allocator) (source, error) {
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

// newIPCSource reads an Arrow IPC file or stream through data's reader,
// which checks the magic and stream header first: input that is not Arrow
// IPC is a usage error naming the file, never a decoder panic.
func newIPCSource(path string, mem memory.Allocator) (source, error) {
	r, err := data.OpenRecords(path, mem, 0)
	if err != nil {
		return nil, usageErrorf("score: %w", err)
	}
	return &recordSource{
		nextRec: func() (arrow.Record, error) {
			rec, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("score: %w", err)
			}
			return rec, nil
		},
		closeFn: func() { r.Close() },
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

func (s *arrowSink) write(b *batch, res []reward.Result) error {
	base := b.rec
	if base == nil {
		base = data.NewCompletionRowsRecord(s.mem, completionRows(b.rows))
		defer base.Release()
	}
	scores := make([]data.Score, len(res))
	for i, r := range res {
		scores[i] = data.Score{Reward: r.Reward, RewardParts: r.Parts, RewardError: r.Err}
	}
	rec := data.WithScores(s.mem, base, scores)
	defer rec.Release()
	if err := s.open(rec.Schema()); err != nil {
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
		props := data.ParquetWriterProperties(schema, s.mem)
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

// completionRows converts reward rows for data.NewCompletionRowsRecord.
func completionRows(rows []reward.Row) []data.CompletionRow {
	out := make([]data.CompletionRow, len(rows))
	for i, r := range rows {
		out[i] = data.CompletionRow{Prompt: r.Prompt, Completion: r.Completion, Answer: r.Answer, Meta: r.Meta, CompletionTokens: r.CompletionTokens}
	}
	return out
}
