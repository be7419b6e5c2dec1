package report

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/sourcegraph/conc/pool"
	"gonum.org/v1/plot"
)

// Generate reads the run directory dir and writes the report into outDir
// (dir/report when outDir is ""): one PNG per figure that has data (see
// FigureFiles) and summary.txt, the String form of the returned Summary.
//
// metrics.jsonl must exist and hold at least one row (ErrNoMetrics
// otherwise); eval.jsonl is optional. A line that is not a JSON object, or
// a row whose "step" (or, in eval.jsonl, "accuracy") is not a number, is an
// ErrMalformed error naming the file and line. Unknown fields are ignored.
// Existing files of the same names in outDir are overwritten; others are
// left alone. Figures are rendered on up to GOMAXPROCS goroutines; each
// costs a few tens of milliseconds, mostly PNG compression.
func Generate(dir, outDir string) (*Summary, error) {
	return generate(dir, outDir, figures)
}

// generate is Generate restricted to figs, so tests can render fewer.
func generate(dir, outDir string, figs []figure) (*Summary, error) {
	if outDir == "" {
		outDir = filepath.Join(dir, "report")
	}
	d, err := loadRun(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	s := summarize(d)
	s.Dir, s.OutDir = dir, outDir
	written := make([]bool, len(figs)) // each goroutine writes only its own slot
	p := pool.New().WithErrors().WithMaxGoroutines(runtime.GOMAXPROCS(0))
	for i, f := range figs {
		p.Go(func() error {
			ok, err := renderFigure(d, f, outDir)
			written[i] = ok
			return err
		})
	}
	if err := p.Wait(); err != nil {
		return nil, err
	}
	for i, f := range figs {
		if written[i] {
			s.Plots = append(s.Plots, f.file)
		} else {
			s.Skipped = append(s.Skipped, f.file)
		}
	}
	path := filepath.Join(outDir, SummaryFile)
	if err := os.WriteFile(path, []byte(s.String()), 0o644); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return s, nil
}

// renderFigure writes f into outDir and reports whether it had any data.
// It only reads d.
func renderFigure(d *runData, f figure, outDir string) (bool, error) {
	var plots []*plot.Plot
	for _, pn := range f.panels {
		p, err := buildPanel(d, pn)
		if err != nil {
			return false, fmt.Errorf("%w (figure %s)", err, f.file)
		}
		if p != nil {
			plots = append(plots, p)
		}
	}
	if len(plots) == 0 {
		return false, nil
	}
	return true, writeFigure(filepath.Join(outDir, f.file), plots)
}
