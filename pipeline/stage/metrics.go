package stage

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of one stage's counters, taken by Graph.Stats.
//
// Busy is the time the stage spent neither blocked on input nor on output:
// the time during which none of its Send and Recv calls was blocked, so
// for a single-goroutine stage Busy + BlockedIn + BlockedOut = Elapsed.
// Every duration only grows from one snapshot to the next. Items and
// blocked times are only counted for sends and receives made with Send and
// Recv.
type Stats struct {
	Name       string        `json:"name"`
	In         int64         `json:"in"`
	Out        int64         `json:"out"`
	Busy       time.Duration `json:"busy_ns"`
	BlockedIn  time.Duration `json:"blocked_in_ns"`
	BlockedOut time.Duration `json:"blocked_out_ns"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	Running    bool          `json:"running"`
}

// meter accumulates one stage's counters. Item counts are atomic; the time
// accounting is kept under mu and advanced at every transition (a Send or
// Recv starting or ending to block) and at every snapshot, each reading the
// clock once under the lock. Every counter is therefore a sum of
// non-negative intervals of one monotonic clock, and no counter can go
// backwards between snapshots, however the goroutines are scheduled.
type meter struct {
	name    string
	in, out atomic.Int64

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
	return &meter{name: name}
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

func (m *meter) snapshot() Stats {
	m.mu.Lock()
	now := time.Now()
	m.advance(now)
	s := Stats{
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
	s.In, s.Out = m.in.Load(), m.out.Load()
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
