package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/reward"
)

// Column names of the scored-batch format (DESIGN §3). They mirror the
// constants the data package owns; switch to those once it exports them.
const (
	colPrompt      = "prompt"
	colCompletion  = "completion"
	colAnswer      = "answer"
	colMeta        = "meta"
	colTokens      = "completion_tokens"
	colPromptID    = "prompt_id"
	colReward      = "reward"
	colRewardParts = "reward_parts"
	colRewardError = "reward_error"
)

// scoreOptions are the flags of `rlpipe score`.
type scoreOptions struct {
	spec, config, in, out string
	batch                 int
	progress              string           // auto | always | never
	mem                   memory.Allocator // Arrow allocator (tests pass a checked one)
}

// largeInput is the input size above which progress is shown even when
// stderr is not a terminal.
const largeInput = 64 << 20

func newScoreCmd() *cobra.Command {
	o := scoreOptions{}
	cmd := &cobra.Command{
		Use:   "score --reward SPEC [--config FILE] [--in FILE] [--out FILE]",
		Short: "Score completions with a built-in, composite or plugin reward",
		Long: `score reads rows {prompt?, completion, answer, meta?, completion_tokens?, group?}
and writes them back with reward, parts and error (JSONL), or with reward,
reward_parts and reward_error columns (Parquet, Arrow IPC; chosen by the
.parquet / .arrow / .ipc extension). JSONL on stdin/stdout by default.

SPEC examples: math | 0.9*math+0.1*format | length(max_len=4096,buffer=512)
  | subprocess:python3 examples/python_verifier/verifier.py
  | http:http://127.0.0.1:8080/score
--config takes a YAML reward config (parts, on_error, max_error_rate, timeout),
alone or under a top-level "reward:" key; --reward then replaces its parts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runScore(ctx, o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.spec, "reward", "", "reward spec (see above)")
	f.StringVar(&o.config, "config", "", "YAML reward configuration file")
	f.StringVar(&o.in, "in", "-", "input file (.jsonl, .parquet, .arrow/.ipc; - for stdin JSONL)")
	f.StringVar(&o.out, "out", "-", "output file (format by extension; - for stdout JSONL)")
	f.IntVar(&o.batch, "batch", 256, "rows scored per batch")
	f.StringVar(&o.progress, "progress", "auto", "progress bar on stderr: auto, always or never")
	return cmd
}

func scoreConfig(o scoreOptions) (reward.Config, error) {
	var cfg reward.Config
	if o.config != "" {
		b, err := os.ReadFile(o.config)
		if err != nil {
			return cfg, usageErrorf("score: %v", err)
		}
		if cfg, err = reward.LoadConfig(b); err != nil {
			return cfg, usageErrorf("score: %s: %v", o.config, err)
		}
	}
	if o.spec != "" {
		cfg.Spec, cfg.Parts = o.spec, nil
	}
	if cfg.Spec == "" && len(cfg.Parts) == 0 {
		return cfg, usageErrorf("score: give --reward SPEC or --config FILE (registered rewards: %s)", strings.Join(reward.Names(), ", "))
	}
	if o.batch <= 0 {
		return cfg, usageErrorf("score: --batch must be positive, got %d", o.batch)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageErrorf("score: %v", err)
	}
	return cfg, nil
}

// scoreBatch is one batch in flight: rows for the scorer plus what the
// writer needs to reproduce the input (raw JSON objects or an Arrow record
// owned by the batch).
type scoreBatch struct {
	rows   []reward.Row
	groups []int
	raws   []map[string]json.RawMessage
	rec    arrow.Record
	line0  int // input line or row number of rows[0], for messages
}

type scoreSource interface {
	next(n int) (*scoreBatch, error) // nil batch at the end
	close()
}

type scoreSink interface {
	write(b *scoreBatch, res []reward.Result) error
	close() error
}

func runScore(ctx context.Context, o scoreOptions, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	cfg, err := scoreConfig(o)
	if err != nil {
		return err
	}
	if o.mem == nil {
		o.mem = memory.NewGoAllocator()
	}
	scorer, err := reward.NewScorer(cfg)
	if err != nil {
		return usageErrorf("score: %v", err)
	}
	defer scorer.Close()
	rc := scorer.Config()
	src, size, err := openScoreSource(o, stdin)
	if err != nil {
		return err
	}
	defer src.close()
	sink, err := openScoreSink(o, stdout)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := sink.close(); err == nil && cerr != nil {
			err = fmt.Errorf("score: write %s: %w", o.out, cerr)
		}
	}()
	bar := scoreProgress(o, size, stderr)
	start := time.Now()
	var total reward.Counts
	perBatch := rc
	perBatch.MaxErrorRate = 1 // the rate is checked over the whole input below
	for {
		b, err := src.next(o.batch)
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		res := make([]reward.Result, len(b.rows))
		if err := scorer.Score(ctx, b.rows, res); err != nil {
			return fmt.Errorf("score: rows %d-%d: %w", b.line0, b.line0+len(b.rows)-1, err)
		}
		c, perr := reward.ApplyPolicy(perBatch, b.groups, res)
		total.Add(c)
		if werr := sink.write(b, res); werr != nil {
			return fmt.Errorf("score: write %s: %w", o.out, werr)
		}
		if b.rec != nil {
			b.rec.Release()
		}
		if bar != nil {
			bar.Add64(int64(len(b.rows)))
		}
		if perr != nil {
			return fmt.Errorf("score: from row %d: %w", b.line0, perr)
		}
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	el := time.Since(start)
	fmt.Fprintf(stderr, "rlpipe score: %s in %.2fs (%.0f rows/s)\n", total, el.Seconds(), float64(total.Rows)/math.Max(el.Seconds(), 1e-9))
	if total.Rows > 0 && float64(total.Errors)/float64(total.Rows) > rc.MaxErrorRate {
		return fmt.Errorf("score: %w: %d of %d rows", reward.ErrTooManyErrors, total.Errors, total.Rows)
	}
	return nil
}

func scoreProgress(o scoreOptions, size int64, stderr io.Writer) *progressbar.ProgressBar {
	show := o.progress == "always"
	if o.progress == "auto" {
		f, ok := stderr.(*os.File)
		if ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				show = true
			}
		}
		show = show || size > largeInput
	}
	if !show {
		return nil
	}
	return progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("scoring rows"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond))
}

func fileKind(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".pq":
		return "parquet"
	case ".arrow", ".ipc", ".feather", ".arrows":
		return "arrow"
	}
	return "jsonl"
}

func openScoreSource(o scoreOptions, stdin io.Reader) (scoreSource, int64, error) {
	if o.in == "-" || o.in == "" {
		return newJSONLSource(stdin, "stdin", nil), 0, nil
	}
	st, err := os.Stat(o.in)
	if err != nil {
		return nil, 0, usageErrorf("score: %v", err)
	}
	switch fileKind(o.in) {
	case "parquet":
		s, err := newParquetSource(o.in, o.mem)
		return s, st.Size(), err
	case "arrow":
		s, err := newIPCSource(o.in, o.mem)
		return s, st.Size(), err
	}
	f, err := os.Open(o.in)
	if err != nil {
		return nil, 0, usageErrorf("score: %v", err)
	}
	return newJSONLSource(f, o.in, f), st.Size(), nil
}

func openScoreSink(o scoreOptions, stdout io.Writer) (scoreSink, error) {
	if o.out == "-" || o.out == "" {
		return &jsonlSink{w: bufio.NewWriter(stdout)}, nil
	}
	f, err := os.Create(o.out)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	switch fileKind(o.out) {
	case "parquet", "arrow":
		return &arrowSink{f: f, kind: fileKind(o.out), mem: o.mem}, nil
	}
	return &jsonlSink{w: bufio.NewWriter(f), f: f}, nil
}

// jsonlSource reads JSON objects, one a line.
type jsonlSource struct {
	sc     *bufio.Scanner
	name   string
	closer io.Closer
	line   int
}

func newJSONLSource(r io.Reader, name string, c io.Closer) *jsonlSource {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	return &jsonlSource{sc: sc, name: name, closer: c}
}

func (s *jsonlSource) close() {
	if s.closer != nil {
		s.closer.Close()
	}
}

func (s *jsonlSource) next(n int) (*scoreBatch, error) {
	b := &scoreBatch{line0: s.line + 1}
	gid := map[string]int{}
	for len(b.rows) < n && s.sc.Scan() {
		s.line++
		line := strings.TrimSpace(s.sc.Text())
		if line == "" {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			return nil, usageErrorf("score: %s line %d: %v", s.name, s.line, err)
		}
		row, err := jsonRow(raw)
		if err != nil {
			return nil, usageErrorf("score: %s line %d: %v", s.name, s.line, err)
		}
		key := string(raw["group"])
		if key == "" {
			key = string(raw[colPromptID])
		}
		if key == "" {
			key = fmt.Sprint("line:", s.line)
		}
		if _, ok := gid[key]; !ok {
			gid[key] = len(gid)
		}
		b.rows = append(b.rows, row)
		b.groups = append(b.groups, gid[key])
		b.raws = append(b.raws, raw)
	}
	if err := s.sc.Err(); err != nil {
		return nil, fmt.Errorf("score: read %s: %w", s.name, err)
	}
	if len(b.rows) == 0 {
		return nil, nil
	}
	return b, nil
}

// jsonRow reads a row's fields; meta may be an object or a string.
func jsonRow(raw map[string]json.RawMessage) (reward.Row, error) {
	var r reward.Row
	for _, f := range []struct {
		key string
		dst *string
	}{{colPrompt, &r.Prompt}, {colCompletion, &r.Completion}, {colAnswer, &r.Answer}} {
		v, ok := raw[f.key]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			// Non-string answers (numbers) are kept as their JSON text.
			*f.dst = strings.TrimSpace(string(v))
		}
	}
	if _, ok := raw[colCompletion]; !ok {
		return r, fmt.Errorf("field %q: missing", colCompletion)
	}
	if m, ok := raw[colMeta]; ok && string(m) != "null" {
		if err := json.Unmarshal(m, &r.Meta); err != nil {
			r.Meta = string(m)
		}
	}
	if t, ok := raw[colTokens]; ok {
		var n int
		var list []json.RawMessage
		if err := json.Unmarshal(t, &n); err == nil {
			r.CompletionTokens = n
		} else if err := json.Unmarshal(t, &list); err == nil {
			r.CompletionTokens = len(list)
		} else {
			return r, fmt.Errorf("field %q: want an integer or a list", colTokens)
		}
	}
	return r, nil
}

// jsonlSink writes each input object with reward, parts, error (and
// error_kind, dropped when set) added.
type jsonlSink struct {
	w *bufio.Writer
	f *os.File
}

func (s *jsonlSink) write(b *scoreBatch, res []reward.Result) error {
	for i, r := range res {
		obj := map[string]any{}
		if b.raws != nil {
			for k, v := range b.raws[i] {
				obj[k] = v
			}
		} else {
			row := b.rows[i]
			obj[colPrompt], obj[colCompletion], obj[colAnswer], obj[colMeta] = row.Prompt, row.Completion, row.Answer, row.Meta
		}
		obj["reward"], obj["parts"], obj["error"] = r.Reward, r.Parts, nil
		if r.Parts == nil {
			obj["parts"] = map[string]float64{}
		}
		if r.Err != "" {
			obj["error"], obj["error_kind"] = r.Err, r.Kind
		}
		if r.Dropped {
			obj["dropped"] = true
		}
		enc := json.NewEncoder(s.w)
		enc.SetEscapeHTML(false) // keep <answer> tags readable
		if err := enc.Encode(obj); err != nil {
			return err
		}
	}
	return s.w.Flush()
}

func (s *jsonlSink) close() error {
	err := s.w.Flush()
	if s.f != nil {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// arrowRows reads reward rows (and prompt_id groups) from a record.
func arrowRows(rec arrow.Record, line0 int) (*scoreBatch, error) {
	n := int(rec.NumRows())
	b := &scoreBatch{rows: make([]reward.Row, n), groups: make([]int, n), rec: rec, line0: line0}
	strs := map[string]*[]string{}
	for _, name := range []string{colPrompt, colCompletion, colAnswer, colMeta} {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) == 0 {
			if name == colCompletion {
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
	ids := rec.Schema().FieldIndices(colPromptID)
	for i := 0; i < n; i++ {
		b.rows[i] = reward.Row{Prompt: get(colPrompt, i), Completion: get(colCompletion, i), Answer: get(colAnswer, i), Meta: get(colMeta, i)}
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
	idx := rec.Schema().FieldIndices(colTokens)
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
	{Name: colReward, Type: arrow.PrimitiveTypes.Float64},
	{Name: colRewardParts, Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64)},
	{Name: colRewardError, Type: arrow.BinaryTypes.String, Nullable: true},
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
		if f.Name == colReward || f.Name == colRewardParts || f.Name == colRewardError {
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
		{Name: colPrompt, Type: arrow.BinaryTypes.String}, {Name: colCompletion, Type: arrow.BinaryTypes.String},
		{Name: colAnswer, Type: arrow.BinaryTypes.String}, {Name: colMeta, Type: arrow.BinaryTypes.String},
		{Name: colTokens, Type: arrow.PrimitiveTypes.Int64},
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
