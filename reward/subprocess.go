package reward

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// SubprocessConfig configures a Subprocess plugin. Zero fields take the
// documented defaults; Command is required.
type SubprocessConfig struct {
	Command      []string      // program and arguments (required)
	Dir          string        // working directory (default: the current one)
	Env          []string      // extra KEY=VALUE entries added to the environment
	Workers      int           // worker processes (default 2)
	Batch        int           // rows in flight per worker (default 64)
	Timeout      time.Duration // per-request reply timeout (default 10s)
	StartTimeout time.Duration // extra budget for the first reply after a (re)start (default 10s)
	BackoffMin   time.Duration // first restart delay (default 50ms), doubling per consecutive failure
	BackoffMax   time.Duration // restart delay cap (default 5s)
	MaxStarts    int           // consecutive failed starts before a batch's rows get errors (default 3)
}

func (c *SubprocessConfig) defaults() {
	c.Workers = cmp.Or(c.Workers, 2)
	c.Batch = cmp.Or(c.Batch, 64)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	if c.StartTimeout == 0 {
		c.StartTimeout = 10 * time.Second
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = 50 * time.Millisecond
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 5 * time.Second
	}
	c.MaxStarts = cmp.Or(c.MaxStarts, 3)
}

// Validate reports the first invalid field of c (after defaults).
func (c SubprocessConfig) Validate() error {
	c.defaults()
	switch {
	case len(c.Command) == 0 || c.Command[0] == "":
		return fmt.Errorf("%w: subprocess needs a command", ErrConfig)
	case c.Workers < 0 || c.Batch < 0 || c.MaxStarts < 0:
		return fmt.Errorf("%w: subprocess workers, batch and max_starts must be positive", ErrConfig)
	case c.Timeout < 0 || c.StartTimeout < 0 || c.BackoffMin < 0 || c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("%w: subprocess timeouts must be positive and backoff_min <= backoff_max", ErrConfig)
	}
	return nil
}

// Subprocess is the subprocess reward plugin: a pool of long-lived worker
// processes speaking JSON lines on stdin/stdout (reward/PROTOCOL.md). Rows
// are sent in batches of up to Batch per worker. A worker that hangs past
// Timeout is killed and restarted; its oldest unanswered row gets the
// timeout and the others are resent together, and a Score call stops
// resending after 2 timeouts per worker in use, so a hung plugin costs a
// call about 2 × (Timeout+StartTimeout) whatever its size. A worker that
// crashes or writes a malformed line or an unknown id is restarted with
// backoff and its in-flight rows are retried one at a time; a row gets an
// error only after failing twice on its own (a failure with several rows
// in flight is not blamed on any of them), and after 3 such rows in a row
// the rest of the job gets the error too. Every row gets a reward or an
// error. Subprocess is safe for concurrent use; Close stops the workers.
type Subprocess struct {
	cfg    SubprocessConfig
	jobs   chan *spJob
	done   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool
	once   sync.Once
	nextID atomic.Uint64
}

type spJob struct {
	ctx   context.Context
	rows  []Row
	out   []Result
	wg    *sync.WaitGroup
	batch *spBatch
}

// spBatch is what the jobs of one Score call share: the number of
// timeouts so far and the budget past which the rows left get a timeout
// without being sent.
type spBatch struct {
	timeouts atomic.Int32
	limit    int32
}

// overBudget reports whether the batch has used its timeout budget, with
// the error text for the rows left.
func (b *spBatch) overBudget() (string, bool) {
	n := b.timeouts.Load()
	if n < b.limit {
		return "", false
	}
	return fmt.Sprintf("subprocess: not answered: the batch gave up after %d timeouts (%d per worker)", n, timeoutsPerWorker), true
}

// NewSubprocess validates cfg and starts the worker goroutines; processes
// start lazily on the first batch.
func NewSubprocess(cfg SubprocessConfig) (*Subprocess, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	s := &Subprocess{cfg: cfg, jobs: make(chan *spJob), done: make(chan struct{})}
	for i := 0; i < cfg.Workers; i++ {
		w := &spWorker{s: s, tail: &tailBuffer{n: 4096}}
		s.wg.Add(1)
		go w.loop()
	}
	return s, nil
}

// newSubprocessFactory builds `subprocess`. Options: command (string or
// list, required), dir, env (list), workers, batch, timeout, start_timeout,
// backoff_min, backoff_max, max_starts.
func newSubprocessFactory(o Options) (Func, error) {
	if err := o.Check("command", "dir", "env", "workers", "batch", "timeout", "start_timeout", "backoff_min", "backoff_max", "max_starts"); err != nil {
		return nil, err
	}
	var c SubprocessConfig
	var err error
	if s, ok := o["command"].(string); ok {
		if c.Command, err = splitCommand(s); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	} else if c.Command, err = o.Strings("command", nil); err != nil {
		return nil, err
	}
	if c.Dir, err = o.String("dir", ""); err != nil {
		return nil, err
	}
	if c.Env, err = o.Strings("env", nil); err != nil {
		return nil, err
	}
	for key, dst := range map[string]*int{"workers": &c.Workers, "batch": &c.Batch, "max_starts": &c.MaxStarts} {
		if *dst, err = o.Int(key, 0); err != nil {
			return nil, err
		}
	}
	for key, dst := range map[string]*time.Duration{"timeout": &c.Timeout, "start_timeout": &c.StartTimeout, "backoff_min": &c.BackoffMin, "backoff_max": &c.BackoffMax} {
		if *dst, err = o.Duration(key, 0); err != nil {
			return nil, err
		}
	}
	return NewSubprocess(c)
}

// SelfTimed reports true: the plugin enforces the per-request timeout.
func (s *Subprocess) SelfTimed() bool { return true }

// Score sends rows to the workers in batches and waits for every row. It
// returns an ErrClosed error after Close; per-row failures are in out.
func (s *Subprocess) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	if s.closed.Load() {
		return ErrClosed
	}
	var wg sync.WaitGroup
	jobs := (len(rows) + s.cfg.Batch - 1) / s.cfg.Batch
	batch := &spBatch{limit: int32(timeoutsPerWorker * max(1, min(jobs, s.cfg.Workers)))}
	for lo := 0; lo < len(rows); lo += s.cfg.Batch {
		hi := min(lo+s.cfg.Batch, len(rows))
		j := &spJob{ctx: ctx, rows: rows[lo:hi], out: out[lo:hi], wg: &wg, batch: batch}
		for i := range j.out {
			j.out[i] = Result{}
		}
		wg.Add(1)
		select {
		case s.jobs <- j:
		case <-ctx.Done():
			j.failAll(KindCanceled, "subprocess: %v", ctx.Err())
			wg.Done()
		case <-s.done:
			j.failAll(KindError, "subprocess: %v", ErrClosed)
			wg.Done()
		}
	}
	wg.Wait()
	return nil
}

func (j *spJob) failAll(kind ErrorKind, format string, args ...any) {
	for i := range j.out {
		j.out[i].Fail(kind, format, args...)
	}
}

// Close stops the workers: each worker's stdin is closed so it can exit
// cleanly, and it is killed if still running after a second. Close is
// idempotent.
func (s *Subprocess) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.done)
	})
	s.wg.Wait()
	return nil
}

func (s *Subprocess) backoff(failures int) time.Duration {
	d := s.cfg.BackoffMin
	for i := 1; i < failures && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.BackoffMax)
}
