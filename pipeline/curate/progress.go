package curate

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// DefaultLogEvery is the interval of plain progress lines when the log is
// not a terminal.
const DefaultLogEvery = 10 * time.Second

// reporter shows curation progress: a bar with rate and ETA on a terminal,
// otherwise a plain line at most every `every` (and one at the end).
type reporter struct {
	w           io.Writer
	bar         *progressbar.ProgressBar
	total, base int
	start, last time.Time
	every       time.Duration
}

func newReporter(w io.Writer, total, already int, every time.Duration) *reporter {
	r := &reporter{w: w, total: total, base: already, start: time.Now(), every: every}
	r.last = r.start
	if f, ok := w.(*os.File); ok && isTerminal(f) && total > already {
		r.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("curate"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("prompts"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
		r.bar.Set(already)
	}
	return r
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// update reports that done of total prompts are finished.
func (r *reporter) update(done int) {
	if r.bar != nil {
		r.bar.Set(done)
		return
	}
	now := time.Now()
	if now.Sub(r.last) < r.every && done < r.total {
		return
	}
	r.last = now
	elapsed := now.Sub(r.start)
	rate := float64(done-r.base) / elapsed.Seconds()
	eta := "?"
	if rate > 0 {
		eta = time.Duration(float64(r.total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(r.w, "curate: %d/%d prompts (%.1f%%), %.2f prompts/s, ETA %s\n",
		done, r.total, 100*float64(done)/float64(max(r.total, 1)), rate, eta)
}

func (r *reporter) finish() {
	if r.bar != nil {
		r.bar.Finish()
		fmt.Fprintln(r.w)
	}
}
