package reward

import (
	"context"
	"fmt"
)

// Summary describes the scored rows of one input for max_error_rate. The
// rate applies to a whole input (a step's rollouts, a file) even when its
// rows are scored in parts, batch by batch or on several Flight workers, so
// each part returns a Summary, the caller adds them up in row order and
// checks the total with Err. The zero value summarises no rows; it
// formats as its Counts.
type Summary struct {
	Counts
	// MaxErrorRate is the resolved max_error_rate the total is checked
	// against (Scorer.Config().MaxErrorRate).
	MaxErrorRate float64
	// First is the error text of the first failed row ("" when none) and
	// FirstRow its 0-based index among the rows summarised.
	First    string
	FirstRow int
}

// Add appends o, the summary of the rows that follow s's, to s: counts add
// up, the first error is kept, and o's FirstRow is shifted past s's rows.
// MaxErrorRate is taken from o when s has none.
func (s *Summary) Add(o Summary) {
	if s.First == "" && o.First != "" {
		s.First, s.FirstRow = o.First, s.Rows+o.FirstRow
	}
	if s.MaxErrorRate == 0 {
		s.MaxErrorRate = o.MaxErrorRate
	}
	s.Counts.Add(o.Counts)
}

// Err returns an error wrapping ErrTooManyErrors when more than
// MaxErrorRate of the rows failed, naming the first failed row, and nil
// otherwise.
func (s Summary) Err() error {
	return CheckErrorRate(s.Errors, s.Rows, s.MaxErrorRate, fmt.Sprintf("row %d: %s", s.FirstRow, s.First))
}

// CheckErrorRate returns an error wrapping ErrTooManyErrors when
// errors/rows exceeds maxRate, and nil otherwise (always nil without rows
// or errors); first describes the first failed row for the message. It is
// the one max_error_rate test every caller (ApplyPolicy, Summary.Err and the
// Flight reward pool through it) shares.
func CheckErrorRate(errors, rows int, maxRate float64, first string) error {
	if errors == 0 || rows == 0 {
		return nil
	}
	if rate := float64(errors) / float64(rows); rate > maxRate {
		return fmt.Errorf("%w: %d of %d rows (%.3g > %.3g); first: %s", ErrTooManyErrors, errors, rows, rate, maxRate, first)
	}
	return nil
}

// ScoreBatch scores rows as one part of a larger input: it fills out
// (len(rows)) and applies the on_error policy per group (groups as in
// ScoreGroups) but not max_error_rate, which the caller applies to the whole
// input with the returned Summary (see Summary.Add and Summary.Err). The
// returned error means the batch failed: it wraps ErrRowFailed under
// on_error fail, when out and the summary are filled, or it is the scorer's
// failure, when out is undefined. It is safe for concurrent use.
func (s *Scorer) ScoreBatch(ctx context.Context, rows []Row, groups []int, out []Result) (Summary, error) {
	checkLen(rows, out)
	if groups != nil && len(groups) != len(rows) {
		panic(fmt.Sprintf("reward: len(groups)=%d != len(rows)=%d", len(groups), len(rows)))
	}
	sum := Summary{Counts: Counts{Rows: len(rows)}, MaxErrorRate: s.cfg.MaxErrorRate}
	if sum.MaxErrorRate == 0 {
		sum.MaxErrorRate = DefaultMaxErrorRate
	}
	if err := s.Score(ctx, rows, out); err != nil {
		return sum, err
	}
	perBatch := s.cfg
	perBatch.MaxErrorRate = 1 // the caller applies the rate to the whole input
	c, err := ApplyPolicy(perBatch, groups, out)
	sum.Counts = c
	for i := range out {
		if out[i].Err != "" {
			sum.First, sum.FirstRow = out[i].Err, i
			break
		}
	}
	return sum, err
}
