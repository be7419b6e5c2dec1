package app

import (
	"bufio"
	"context"
	"encoding/json"
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
	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/reward"
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
