package pipeline

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
)

// progress is a live progress bar on a terminal; elsewhere (logs, CI) it
// prints nothing and the per-step lines carry the figures.
type progress struct {
	bar *progressbar.ProgressBar
}

func newProgress(w io.Writer, enabled bool, total int64, label string) *progress {
	f, ok := w.(*os.File)
	if !enabled || !ok || !isTerminal(f) {
		return &progress{}
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100_000_000),
	)
	return &progress{bar: bar}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) set(n int64, desc string) {
	if p == nil || p.bar == nil {
		return
	}
	if desc != "" {
		p.bar.Describe(desc)
	}
	p.bar.Set64(n)
}

func (p *progress) finish() {
	if p == nil || p.bar == nil {
		return
	}
	p.bar.Finish()
}
