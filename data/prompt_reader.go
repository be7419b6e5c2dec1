package data

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// PromptReader streams a dataset as batches of Prompts. Whatever the source
// (JSONL, JSON array, Parquet, Arrow IPC, a built-in or a generated task),
// memory is bounded by one batch. It is not safe for concurrent use.
type PromptReader struct {
	name  string
	next  func(ctx context.Context) ([]Prompt, error)
	close func() error
}

// Name returns the file or spec the reader reads.
func (r *PromptReader) Name() string { return r.name }

// Next returns the next batch (at most Options.BatchRows rows, never empty),
// or io.EOF after the last batch. Errors locate the bad row (see RowError).
func (r *PromptReader) Next(ctx context.Context) ([]Prompt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.next(ctx)
}

// Close releases the reader's file; it is safe to call twice.
func (r *PromptReader) Close() error {
	if r.close == nil {
		return nil
	}
	c := r.close
	r.close = nil
	return c()
}

// ReadAll drains r into one slice. It does not close r. Use it for datasets
// known to be small (built-ins, eval sets).
func (r *PromptReader) ReadAll(ctx context.Context) ([]Prompt, error) {
	var all []Prompt
	for {
		batch, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return all, err
		}
		all = append(all, batch...)
	}
}

// OpenPrompts opens a dataset file by extension (.jsonl/.ndjson, .json
// array or JSONL, .parquet, .arrow/.ipc/.feather, .arrows). Rows are mapped
// with Options.Fields; files holding rlpipe's prompts columns are read as
// is; verl-style Parquet rows load without conversion. The dataset name
// defaults to the file's base name without extension (verl's data_source
// overrides it per row). The caller must Close the reader.
func OpenPrompts(path string, opts ...Option) (*PromptReader, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return openPromptsFS(nil, path, path, o)
}

// openPromptsFS opens name in fsys (the OS when nil); display is the name
// errors use.
func openPromptsFS(fsys fs.FS, name, display string, o Options) (*PromptReader, error) {
	m := &rowMapper{fields: o.Fields, file: display, dataset: o.Dataset}
	if m.dataset == "" {
		base := filepath.Base(display)
		m.dataset = strings.TrimSuffix(base, filepath.Ext(base))
	}
	switch FormatOf(name) {
	case FormatJSONL, FormatJSON:
		f, err := openFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		sc, isArray := newJSONScanner(display, f)
		m.line = !isArray
		return &PromptReader{name: display, next: jsonBatches(sc, m, o.BatchRows), close: f.Close}, nil
	case FormatParquet, FormatIPCFile, FormatIPCStream:
		rr, err := openRecordsFS(fsys, name, o.Allocator, o.BatchRows)
		if err != nil {
			return nil, err
		}
		rr.name = display
		return &PromptReader{name: display, next: recordBatches(rr, m), close: rr.Close}, nil
	}
	return nil, fmt.Errorf("%w: %s (want .jsonl, .json, .parquet, .arrow or .arrows)", ErrFormat, display)
}

func jsonBatches(sc rowScanner, m *rowMapper, batchRows int) func(context.Context) ([]Prompt, error) {
	return func(ctx context.Context) ([]Prompt, error) {
		batch := make([]Prompt, 0, min(batchRows, 256))
		for len(batch) < batchRows {
			row, err := sc.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			p, err := m.mapRow(row.obj, row.num)
			if err != nil {
				return nil, err
			}
			batch = append(batch, p)
		}
		if len(batch) == 0 {
			return nil, io.EOF
		}
		return batch, nil
	}
}

func recordBatches(rr *RecordReader, m *rowMapper) func(context.Context) ([]Prompt, error) {
	_, colErr := requireColumns(rr.Schema(), promptFields())
	native := colErr == nil
	rowNum := 0
	return func(ctx context.Context) ([]Prompt, error) {
		for {
			rec, err := rr.Next(ctx)
			if err != nil {
				return nil, err
			}
			batch, err := recordPrompts(rec, m, native, rowNum)
			rowNum += int(rec.NumRows())
			rec.Release()
			if err != nil || len(batch) > 0 {
				return batch, err
			}
		}
	}
}

// recordPrompts converts one record; first is the number of rows before it.
func recordPrompts(rec arrow.Record, m *rowMapper, native bool, first int) ([]Prompt, error) {
	if native {
		rows, err := PromptsFromRecord(rec)
		if err != nil {
			return nil, fmt.Errorf("data: %s rows %d..: %w", m.file, first+1, err)
		}
		return rows, nil
	}
	out := make([]Prompt, rec.NumRows())
	for i := range out {
		obj := RowObject(rec, i)
		row := make(map[string]any, len(obj.Keys))
		for k, key := range obj.Keys {
			row[key] = obj.Values[k]
		}
		p, err := m.mapRow(row, first+i+1)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// Option adjusts Options.
type Option func(*Options)

// Options configure dataset opening. The zero value is usable; see each
// field for its default.
type Options struct {
	// Fields maps row fields; zero means the defaults of FieldMap.
	Fields FieldMap
	// BatchRows is the batch size of PromptReader.Next; 0 means DefaultBatchRows.
	BatchRows int
	// Dataset overrides the dataset name; "" means the spec's or file's name.
	Dataset string
	// Allocator serves Arrow reads; nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// N is the number of generated examples (generated tasks); 0 means 1000.
	N int
	// Seed seeds generated tasks.
	Seed uint64
	// Difficulty of generated tasks, 1..5; 0 means DefaultDifficulty.
	Difficulty int
	// HeldOutFraction is the share of rows in the held-out (test) split of
	// datasets without a shipped test file, and of generated tasks; 0 means
	// DefaultHeldOutFraction.
	HeldOutFraction float64
}

// Defaults of Options.
const (
	DefaultN               = 1000
	DefaultDifficulty      = 2
	DefaultHeldOutFraction = 0.1
)

// Validate reports out-of-range options (after defaults are applied).
func (o Options) Validate() error {
	switch {
	case o.BatchRows < 0:
		return fmt.Errorf("data: batch rows %d < 0", o.BatchRows)
	case o.N < 0:
		return fmt.Errorf("data: n %d < 0", o.N)
	case o.Difficulty < 0 || o.Difficulty > MaxDifficulty:
		return fmt.Errorf("data: difficulty %d not in 1..%d", o.Difficulty, MaxDifficulty)
	case !(o.HeldOutFraction >= 0 && o.HeldOutFraction < 1):
		return fmt.Errorf("data: held-out fraction %v not in [0,1)", o.HeldOutFraction)
	}
	return nil
}

func (o Options) withDefaults() Options {
	o.BatchRows = cmp.Or(o.BatchRows, DefaultBatchRows)
	o.N = cmp.Or(o.N, DefaultN)
	o.Difficulty = cmp.Or(o.Difficulty, DefaultDifficulty)
	o.HeldOutFraction = cmp.Or(o.HeldOutFraction, DefaultHeldOutFraction)
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	return o
}

func buildOptions(opts []Option) (Options, error) {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	return o.withDefaults(), nil
}

// WithOptions replaces all options with o.
func WithOptions(o Options) Option { return func(p *Options) { *p = o } }

// WithFields sets the field mapping.
func WithFields(f FieldMap) Option { return func(o *Options) { o.Fields = f } }

// WithBatchRows sets the batch size.
func WithBatchRows(n int) Option { return func(o *Options) { o.BatchRows = n } }

// WithDataset overrides the dataset name.
func WithDataset(name string) Option { return func(o *Options) { o.Dataset = name } }

// WithAllocator sets the Arrow allocator used while reading.
func WithAllocator(mem memory.Allocator) Option { return func(o *Options) { o.Allocator = mem } }

// WithN sets the number of generated examples.
func WithN(n int) Option { return func(o *Options) { o.N = n } }

// WithSeed sets the generator seed.
func WithSeed(seed uint64) Option { return func(o *Options) { o.Seed = seed } }

// WithDifficulty sets the generator difficulty (1..MaxDifficulty).
func WithDifficulty(d int) Option { return func(o *Options) { o.Difficulty = d } }

// WithHeldOutFraction sets the held-out share of split-by-hash datasets.
func WithHeldOutFraction(f float64) Option { return func(o *Options) { o.HeldOutFraction = f } }
