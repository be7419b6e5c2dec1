package reward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

// Counts summarises one scored batch for metrics.
type Counts struct {
	Rows          int               // rows scored
	Errors        int               // rows with a reward error
	ByKind        map[ErrorKind]int // errors by kind
	Dropped       int               // rows marked Dropped (drop_group)
	DroppedGroups int               // groups dropped (drop_group)
	Zeroed        int               // error rows given reward 0 (zero)
}

// Add accumulates o into c.
func (c *Counts) Add(o Counts) {
	c.Rows += o.Rows
	c.Errors += o.Errors
	c.Dropped += o.Dropped
	c.DroppedGroups += o.DroppedGroups
	c.Zeroed += o.Zeroed
	for k, v := range o.ByKind {
		if c.ByKind == nil {
			c.ByKind = map[ErrorKind]int{}
		}
		c.ByKind[k] += v
	}
}

// String formats c as one summary line, e.g.
// "rows=100 errors=3 (timeout=2 malformed=1) dropped=8 groups_dropped=2".
func (c Counts) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rows=%d errors=%d", c.Rows, c.Errors)
	if len(c.ByKind) > 0 {
		kinds := make([]string, 0, len(c.ByKind))
		for k := range c.ByKind {
			kinds = append(kinds, string(k))
		}
		sort.Strings(kinds)
		for i, k := range kinds {
			sep := " "
			if i == 0 {
				sep = " ("
			}
			fmt.Fprintf(&b, "%s%s=%d", sep, k, c.ByKind[ErrorKind(k)])
		}
		b.WriteString(")")
	}
	if c.Dropped > 0 {
		fmt.Fprintf(&b, " dropped=%d groups_dropped=%d", c.Dropped, c.DroppedGroups)
	}
	if c.Zeroed > 0 {
		fmt.Fprintf(&b, " zeroed=%d", c.Zeroed)
	}
	return b.String()
}

type part struct {
	name   string
	weight float64
	fn     Func
}

// Scorer scores batches with a weighted composite of registered rewards,
// applying the per-row timeout, NaN checks and the on_error policy. It is
// safe for concurrent use. Close releases plugin resources.
type Scorer struct {
	cfg   Config
	parts []part
}

// NewScorer validates cfg and builds every part. The row timeout is passed
// to each part as its "timeout" option unless the part sets one.
func NewScorer(cfg Config) (*Scorer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, _ := cfg.Resolved()
	s := &Scorer{cfg: r}
	for _, pc := range r.Parts {
		opts := pc.Options.clone()
		if _, ok := opts["timeout"]; !ok && acceptsTimeout(pc.Kind) {
			opts["timeout"] = r.Timeout
		}
		fn, err := New(pc.Kind, opts)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("part %q: %w", pc.Name, err)
		}
		s.parts = append(s.parts, part{name: pc.Name, weight: pc.Weight, fn: fn})
	}
	return s, nil
}

// acceptsTimeout lists the kinds whose factories take a "timeout" option.
func acceptsTimeout(kind string) bool { return kind == "subprocess" || kind == "http" }

// Config returns the resolved configuration.
func (s *Scorer) Config() Config { return s.cfg }

// Close closes every part that implements io.Closer and returns the first
// error.
func (s *Scorer) Close() error {
	var first error
	for _, p := range s.parts {
		if c, ok := p.fn.(io.Closer); ok {
			if err := c.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// Score implements Func: it composes the parts, applies timeouts and NaN
// checks, and records errors on rows, but applies no on_error policy.
func (s *Scorer) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	for i := range out {
		out[i] = Result{Parts: make(map[string]float64, len(s.parts))}
	}
	tmp := make([]Result, len(rows))
	for _, p := range s.parts {
		for i := range tmp {
			tmp[i] = Result{}
		}
		if err := s.runPart(ctx, p, rows, tmp); err != nil {
			return fmt.Errorf("reward part %q: %w", p.name, err)
		}
		for i := range out {
			mergePart(&out[i], p, &tmp[i])
		}
	}
	for i := range out {
		if out[i].Err != "" {
			out[i].Reward = 0
		}
	}
	return nil
}

// mergePart adds part result r into the composite result o.
func mergePart(o *Result, p part, r *Result) {
	checkFinite(r)
	if r.Err != "" {
		if o.Err == "" {
			o.Err = p.name + ": " + r.Err
			o.Kind = r.Kind
			if o.Kind == KindNone {
				o.Kind = KindError
			}
		}
		return
	}
	o.Parts[p.name] = r.Reward
	for k, v := range r.Parts {
		o.Parts[p.name+"."+k] = v
	}
	o.Reward += p.weight * r.Reward
}

// runPart scores rows with one part: self-timed plugins get the whole
// batch; in-process Funcs get one row per goroutine under a deadline.
func (s *Scorer) runPart(ctx context.Context, p part, rows []Row, out []Result) error {
	if st, ok := p.fn.(SelfTimed); ok && st.SelfTimed() {
		return p.fn.Score(ctx, rows, out)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.cfg.Workers)
	var mu sync.Mutex
	var batchErr error
	for i := range rows {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i].Fail(KindCanceled, "%v", ctx.Err())
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := scoreOne(ctx, p.fn, rows[i], &out[i], s.cfg.Timeout); err != nil {
				mu.Lock()
				if batchErr == nil {
					batchErr = fmt.Errorf("row %d: %w", i, err)
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	return batchErr
}

// scoreOne scores a single row under timeout. A Func that overruns is
// abandoned (Go code cannot be preempted): its goroutine finishes into its
// own buffer, and the row records a timeout. Panics become row errors.
func scoreOne(ctx context.Context, fn Func, row Row, out *Result, timeout time.Duration) error {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type reply struct {
		r   Result
		err error
	}
	done := make(chan reply, 1)
	go func() {
		var rep reply
		defer func() {
			if p := recover(); p != nil {
				rep = reply{r: Result{Err: fmt.Sprintf("panic: %v\n%s", p, debug.Stack()), Kind: KindError}}
			}
			done <- rep
		}()
		buf := []Result{{}}
		rep.err = fn.Score(rctx, []Row{row}, buf)
		rep.r = buf[0]
	}()
	select {
	case rep := <-done:
		if rep.err != nil {
			if errors.Is(rep.err, context.DeadlineExceeded) && ctx.Err() == nil {
				out.Fail(KindTimeout, "timed out after %v", timeout)
				return nil
			}
			return rep.err
		}
		*out = rep.r
		return nil
	case <-rctx.Done():
		if ctx.Err() != nil {
			out.Fail(KindCanceled, "%v", ctx.Err())
		} else {
			out.Fail(KindTimeout, "timed out after %v", timeout)
		}
		return nil
	}
}

// ScoreGroups scores rows and applies the on_error policy. groups[i] is
// row i's group id (rows with equal ids form a group; nil makes every row
// its own group). It fills out (len(rows)) and returns the batch's counts.
// The returned error wraps ErrRowFailed (policy fail, any row error),
// ErrTooManyErrors (error rate above max_error_rate) or a batch failure; out
// and the counts are filled in the first two cases.
func (s *Scorer) ScoreGroups(ctx context.Context, rows []Row, groups []int, out []Result) (Counts, error) {
	checkLen(rows, out)
	if groups != nil && len(groups) != len(rows) {
		panic(fmt.Sprintf("reward: len(groups)=%d != len(rows)=%d", len(groups), len(rows)))
	}
	if err := s.Score(ctx, rows, out); err != nil {
		return Counts{Rows: len(rows)}, err
	}
	return ApplyPolicy(s.cfg, groups, out)
}

// ApplyPolicy applies cfg's on_error policy and max_error_rate to scored
// results in place (see Scorer.ScoreGroups) and returns the counts. cfg is
// resolved first, so a zero Config means drop_group with rate 0.1.
func ApplyPolicy(cfg Config, groups []int, out []Result) (Counts, error) {
	c := Counts{Rows: len(out)}
	if cfg.OnError == "" {
		cfg.OnError = DefaultOnError
	}
	if cfg.MaxErrorRate == 0 {
		cfg.MaxErrorRate = DefaultMaxErrorRate
	}
	first := -1
	bad := map[int]bool{}
	for i := range out {
		if out[i].Err == "" {
			continue
		}
		if out[i].Kind == KindNone {
			out[i].Kind = KindError
		}
		if first < 0 {
			first = i
		}
		c.Errors++
		if c.ByKind == nil {
			c.ByKind = map[ErrorKind]int{}
		}
		c.ByKind[out[i].Kind]++
		bad[groupOf(groups, i)] = true
	}
	if c.Errors == 0 {
		return c, nil
	}
	switch cfg.OnError {
	case OnErrorFail:
		return c, fmt.Errorf("%w: row %d: %s", ErrRowFailed, first, out[first].Err)
	case OnErrorZero:
		for i := range out {
			if out[i].Err != "" {
				out[i].Reward = 0
				c.Zeroed++
			}
		}
	default:
		for i := range out {
			if bad[groupOf(groups, i)] {
				out[i].Dropped = true
				c.Dropped++
			}
		}
		c.DroppedGroups = len(bad)
	}
	return c, CheckErrorRate(c.Errors, c.Rows, cfg.MaxErrorRate, fmt.Sprintf("row %d: %s", first, out[first].Err))
}

func groupOf(groups []int, i int) int {
	if groups == nil {
		return i
	}
	return groups[i]
}
