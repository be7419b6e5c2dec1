package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// StageStats is a snapshot of one stage's counters, taken by Graph.Stats.
//
// Busy is the time the stage spent neither blocked on input nor on output:
// for a single-goroutine stage, the time during which none of its Send and
// Recv calls was blocked, so Busy + BlockedIn + BlockedOut = Elapsed; for a
// worker pool (Workers > 1), the sum over workers of the time spent in the
// per-item function, so utilisation is Busy / (Elapsed × Workers). Every
// duration only grows from one snapshot to the next.
// Items and blocked times are only counted for sends and receives made with
// Send and Recv (all helpers of this package use them).
type StageStats struct {
	Name       string        `json:"name"`
	Workers    int           `json:"workers"`
	In         int64         `json:"in"`
	Out        int64         `json:"out"`
	Dropped    int64         `json:"dropped"`
	Busy       time.Duration `json:"busy_ns"`
	BlockedIn  time.Duration `json:"blocked_in_ns"`
	BlockedOut time.Duration `json:"blocked_out_ns"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	Running    bool          `json:"running"`
}

// Metrics flattens s into named numbers (durations in seconds) for
// metrics.jsonl, e.g. {"in": 12, "busy_s": 0.8, ...}.
func (s StageStats) Metrics() map[string]float64 {
	return map[string]float64{
		"in":            float64(s.In),
		"out":           float64(s.Out),
		"dropped":       float64(s.Dropped),
		"workers":       float64(s.Workers),
		"busy_s":        s.Busy.Seconds(),
		"blocked_in_s":  s.BlockedIn.Seconds(),
		"blocked_out_s": s.BlockedOut.Seconds(),
		"elapsed_s":     s.Elapsed.Seconds(),
	}
}

// meter accumulates one stage's counters. Item counts are atomic; the time
// accounting is kept under mu and advanced at every transition (a Send or
// Recv starting or ending to block) and at every snapshot, each reading the
// clock once under the lock. Every counter is therefore a sum of
// non-negative intervals of one monotonic clock, and no counter can go
// backwards between snapshots, however the goroutines are scheduled.
type meter struct {
	name    string
	workers atomic.Int64

	in, out, dropped atomic.Int64
	busy             atomic.Int64 // ns, only when explicit
	explicitBusy     atomic.Bool

	mu         sync.Mutex
	start, end time.Time
	// last is the time up to which the durations below are accounted.
	last time.Time
	// waitingIn and waitingOut count the Recv and Send calls blocked now.
	waitingIn, waitingOut int64
	// blockedIn and blockedOut sum, over the blocked calls, the time spent
	// blocked; unblocked is the time during which no call was blocked,
	// which is a single-goroutine stage's busy time.
	blockedIn, blockedOut, unblocked time.Duration
}

// advance accounts the interval from m.last to now with the blocking
// counts of that interval. The caller holds mu.
func (m *meter) advance(now time.Time) {
	if m.start.IsZero() || !m.end.IsZero() {
		return
	}
	d := now.Sub(m.last)
	if d <= 0 {
		return
	}
	m.blockedIn += time.Duration(m.waitingIn) * d
	m.blockedOut += time.Duration(m.waitingOut) * d
	if m.waitingIn+m.waitingOut == 0 {
		m.unblocked += d
	}
	m.last = now
}

// blockBegin records that a Send (out) or Recv (!out) starts blocking.
func (m *meter) blockBegin(out bool) {
	m.mu.Lock()
	m.advance(time.Now())
	if out {
		m.waitingOut++
	} else {
		m.waitingIn++
	}
	m.mu.Unlock()
}

// blockEnd records the end of a blocking Send (out) or Recv (!out).
func (m *meter) blockEnd(out bool) {
	m.mu.Lock()
	m.advance(time.Now())
	if out {
		m.waitingOut--
	} else {
		m.waitingIn--
	}
	m.mu.Unlock()
}

func newMeter(name string) *meter {
	m := &meter{name: name}
	m.workers.Store(1)
	return m
}

func (m *meter) begin() {
	m.mu.Lock()
	m.start = time.Now()
	m.last = m.start
	m.mu.Unlock()
}

func (m *meter) finish() {
	m.mu.Lock()
	now := time.Now()
	m.advance(now)
	m.end = now
	m.mu.Unlock()
}

// addBusy records work time measured directly (worker pools); once called,
// Busy is the sum of these durations instead of the unblocked time.
func (m *meter) addBusy(d time.Duration) {
	m.explicitBusy.Store(true)
	m.busy.Add(int64(d))
}

func (m *meter) snapshot() StageStats {
	m.mu.Lock()
	now := time.Now()
	m.advance(now)
	s := StageStats{
		Name:       m.name,
		BlockedIn:  m.blockedIn,
		BlockedOut: m.blockedOut,
		Busy:       m.unblocked,
	}
	switch {
	case m.start.IsZero():
	case m.end.IsZero():
		s.Running = true
		s.Elapsed = m.last.Sub(m.start)
	default:
		s.Elapsed = m.end.Sub(m.start)
	}
	m.mu.Unlock()
	s.Workers = int(m.workers.Load())
	s.In, s.Out, s.Dropped = m.in.Load(), m.out.Load(), m.dropped.Load()
	if m.explicitBusy.Load() {
		s.Busy = time.Duration(m.busy.Load())
	}
	return s
}

type meterKey struct{}

// withMeter attaches m to ctx so that Send and Recv inside the stage count.
func withMeter(ctx context.Context, m *meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

// meterFrom returns the stage meter of ctx, or nil outside a Graph stage.
func meterFrom(ctx context.Context) *meter {
	m, _ := ctx.Value(meterKey{}).(*meter)
	return m
}
