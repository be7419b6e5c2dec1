package score

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
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/schollz/progressbar/v3"

	"github.com/rlpipe/rlpipe/reward"
)

// DefaultBatch is the number of rows scored together when Options.Batch is
// zero.
const DefaultBatch = 256

// Progress modes of Options.Progress.
const (
	// ProgressAuto shows the bar when Log is a terminal or the input is
	// larger than 64 MiB.
	ProgressAuto = "auto"
	// ProgressAlways always shows the bar on Log.
	ProgressAlways = "always"
	// ProgressNever never shows it.
	ProgressNever = "never"
)

// ErrUsage marks a job that is set up or fed wrongly rather than one that
// failed while running: a reward that cannot be built, a missing or
// unreadable input file, a line that is not a JSON object, a record without
// a utf8 completion column. `rlpipe score` exits with status 2 for it. The
// error's message is the cause's alone.
var ErrUsage = errors.New("score: bad usage")

// usageError wraps a cause so that errors.Is(err, ErrUsage) holds while the
// message stays the cause's.
type usageError struct{ err error }

func (e usageError) Error() string        { return e.err.Error() }
func (e usageError) Unwrap() error        { return e.err }
func (e usageError) Is(target error) bool { return target == ErrUsage }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Options configure one scoring job. The zero value reads JSON lines from
// os.Stdin and writes them to os.Stdout, but Reward must name a reward.
type Options struct {
	// Reward is the reward to score with (spec or parts, on_error,
	// max_error_rate, timeout, workers). Run builds its Scorer and closes
	// it at the end.
	Reward reward.Config
	// In and Out are file paths; the format follows the extension
	// (.parquet/.pq Parquet, .arrow/.ipc/.feather/.arrows Arrow IPC, anything
	// else JSON lines). "" or "-" means JSON lines on Stdin / Stdout.
	In, Out string
	// Stdin and Stdout stand for "-" (default os.Stdin and os.Stdout).
	Stdin  io.Reader
	Stdout io.Writer
	// Log receives the progress bar and the one-line summary at the end
	// (nil discards them).
	Log io.Writer
	// Batch is the number of rows scored together (default DefaultBatch):
	// on_error applies per group within a batch, max_error_rate to the
	// whole input.
	Batch int
	// Progress is ProgressAuto ("" too), ProgressAlways or ProgressNever.
	Progress string
	// Mem allocates Arrow buffers (default memory.DefaultAllocator); tests
	// pass a checked allocator.
	Mem memory.Allocator
	// Explain adds to each JSON line an "explain" object holding, for every
	// `math` part, what was extracted from the completion and the reference,
	// their normal forms and the rule that decided (reward.Explanation).
	// It needs JSON lines output and a math part.
	Explain bool
}

// largeInput is the input size above which progress is shown even when
// stderr is not a terminal.
const largeInput = 64 << 20

// batch is one batch in flight: rows for the scorer plus what the writer
// needs to reproduce the input (raw JSON objects or an Arrow record owned
// by the batch).
type batch struct {
	rows   []reward.Row
	groups []int
	raws   []map[string]json.RawMessage
	rec    arrow.Record
	line0  int // input line or row number of rows[0], for messages
	// explain holds each row's explanations by part name (Options.Explain).
	explain []map[string]reward.Explanation
}

type source interface {
	next(n int) (*batch, error) // nil batch at the end
	close()
}

type sink interface {
	write(b *batch, res []reward.Result) error
	close() error
}

// Run scores every row of o.In with o.Reward and writes the rows with
// their scores to o.Out. JSON lines gain reward, parts and error (and
// error_kind, dropped when set); Parquet and Arrow files keep every input
// column and gain reward, reward_parts and reward_error (data.WithScores),
// replacing earlier scores. Rows are grouped for on_error drop_group by
// their "group" (JSON) or prompt_id, and scored in batches of o.Batch;
// max_error_rate applies to the whole input at the end, after every row
// was written. The error wraps ErrUsage for a bad setup or input,
// reward.ErrRowFailed (on_error fail) or reward.ErrTooManyErrors.
func Run(ctx context.Context, o Options) (err error) {
	o = o.withDefaults()
	if o.Batch < 0 {
		return usageErrorf("score: batch must be positive, got %d", o.Batch)
	}
	scorer, err := reward.NewScorer(o.Reward)
	if err != nil {
		return usageErrorf("score: %v", err)
	}
	defer scorer.Close()
	explainers, err := o.explainers()
	if err != nil {
		return err
	}
	src, size, err := openSource(o)
	if err != nil {
		return err
	}
	defer src.close()
	snk, err := openSink(o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := snk.close(); err == nil && cerr != nil {
			err = fmt.Errorf("score: write %s: %w", o.Out, cerr)
		}
	}()
	bar := newProgress(o, size)
	start := time.Now()
	total, err := scoreAll(ctx, o, scorer, explainers, src, snk, bar)
	if err != nil {
		return err
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(o.Log)
	}
	el := time.Since(start)
	fmt.Fprintf(o.Log, "rlpipe score: %s in %.2fs (%.0f rows/s)\n", total.Counts, el.Seconds(), float64(total.Rows)/math.Max(el.Seconds(), 1e-9))
	if total.Err() != nil {
		return fmt.Errorf("score: %w: %d of %d rows", reward.ErrTooManyErrors, total.Errors, total.Rows)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	return o
}

// scoreAll scores and writes src batch by batch and returns the summary of
// every row. A batch failed by on_error fail is written before the error
// returns, so the output shows the failing rows.
func scoreAll(ctx context.Context, o Options, scorer *reward.Scorer, explainers map[string]func(reward.Row) reward.Explanation,
	src source, snk sink, bar *progressbar.ProgressBar) (reward.Summary, error) {
	var total reward.Summary
	for {
		b, err := src.next(o.Batch)
		if err != nil || b == nil {
			return total, err
		}
		b.explainRows(explainers)
		res := make([]reward.Result, len(b.rows))
		sum, perr := scorer.ScoreBatch(ctx, b.rows, b.groups, res)
		if perr != nil && !errors.Is(perr, reward.ErrRowFailed) {
			if b.rec != nil {
				b.rec.Release()
			}
			return total, fmt.Errorf("score: rows %d-%d: %w", b.line0, b.line0+len(b.rows)-1, perr)
		}
		total.Add(sum)
		werr := snk.write(b, res)
		if b.rec != nil {
			b.rec.Release()
		}
		if werr != nil {
			return total, fmt.Errorf("score: write %s: %w", o.Out, werr)
		}
		if bar != nil {
			bar.Add64(int64(len(b.rows)))
		}
		if perr != nil {
			return total, fmt.Errorf("score: from row %d: %w", b.line0, perr)
		}
	}
}

// explainers returns the math parts' explainers when o.Explain is set, or
// a usage error when the output cannot carry them or nothing explains.
func (o Options) explainers() (map[string]func(reward.Row) reward.Explanation, error) {
	if !o.Explain {
		return nil, nil
	}
	if o.Out != "" && o.Out != "-" && fileKind(o.Out) != "jsonl" {
		return nil, usageErrorf("score: --explain writes JSON lines; %s is not a .jsonl output", o.Out)
	}
	ex, err := reward.MathExplainers(o.Reward)
	if err != nil {
		return nil, usageErrorf("score: %v", err)
	}
	if len(ex) == 0 {
		return nil, usageErrorf("score: --explain explains math parts, and the reward has none")
	}
	return ex, nil
}

// explainRows fills b.explain from explainers (nothing when there are none).
func (b *batch) explainRows(explainers map[string]func(reward.Row) reward.Explanation) {
	if len(explainers) == 0 {
		return
	}
	b.explain = make([]map[string]reward.Explanation, len(b.rows))
	for i, row := range b.rows {
		m := make(map[string]reward.Explanation, len(explainers))
		for name, ex := range explainers {
			m[name] = ex(row)
		}
		b.explain[i] = m
	}
}

// newProgress returns the progress bar o asks for, or nil.
func newProgress(o Options, size int64) *progressbar.ProgressBar {
	show := o.Progress == ProgressAlways
	if o.Progress == ProgressAuto || o.Progress == "" {
		f, ok := o.Log.(*os.File)
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
	return progressbar.NewOptions64(-1, progressbar.OptionSetWriter(o.Log), progressbar.OptionSetDescription("scoring rows"),
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

func openSource(o Options) (source, int64, error) {
	if o.In == "-" || o.In == "" {
		return newJSONLSource(o.Stdin, "stdin", nil), 0, nil
	}
	st, err := os.Stat(o.In)
	if err != nil {
		return nil, 0, usageErrorf("score: %v", err)
	}
	switch fileKind(o.In) {
	case "parquet":
		s, err := newParquetSource(o.In, o.Mem)
		return s, st.Size(), err
	case "arrow":
		s, err := newIPCSource(o.In, o.Mem)
		return s, st.Size(), err
	}
	f, err := os.Open(o.In)
	if err != nil {
		return nil, 0, usageErrorf("score: %v", err)
	}
	return newJSONLSource(f, o.In, f), st.Size(), nil
}

func openSink(o Options) (sink, error) {
	if o.Out == "-" || o.Out == "" {
		return &jsonlSink{w: bufio.NewWriter(o.Stdout)}, nil
	}
	f, err := os.Create(o.Out)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	switch fileKind(o.Out) {
	case "parquet", "arrow":
		return &arrowSink{f: f, kind: fileKind(o.Out), mem: o.Mem}, nil
	}
	return &jsonlSink{w: bufio.NewWriter(f), f: f}, nil
}
