package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// StageStats is a snapshot of one stage's counters, taken by Graph.Stats.
//
// Busy is the time the stage spent neither blocked on input nor on output.
// For a single-goroutine stage it is Elapsed − BlockedIn − BlockedOut; for a
// worker pool (Workers > 1) it is the sum over workers of the time spent in
// the per-item function, so utilisation is Busy / (Elapsed × Workers).
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

// meter accumulates one stage's counters. All fields are updated atomically
// so that Stats can be read while the stage runs.
type meter struct {
	name    string
	workers atomic.Int64

	in, out, dropped atomic.Int64
	blockedIn        atomic.Int64 // ns
	blockedOut       atomic.Int64 // ns
	busy             atomic.Int64 // ns, only when explicit
	explicitBusy     atomic.Bool

	mu         sync.Mutex
	start, end time.Time
	// Blocking in progress (under mu): how many Send/Recv calls are
	// blocked and the sum of their start times in ns. Snapshots count
	// that time as blocked already, so a stage's derived Busy never
	// shrinks between snapshots (a stage waiting in Recv at step s used to
	// show as busy then, and as negative busy time at step s+1).
	waitingIn, waitingOut       int64
	waitingInSum, waitingOutSum int64
}

// blockBegin records that a Send (out) or Recv (!out) started blocking at
// t0.
func (m *meter) blockBegin(out bool, t0 time.Time) {
	m.mu.Lock()
	if out {
		m.waitingOut++
		m.waitingOutSum += t0.UnixNano()
	} else {
		m.waitingIn++
		m.waitingInSum += t0.UnixNano()
	}
	m.mu.Unlock()
}

// blockEnd records the end of a blocking Send or Recv begun at t0.
func (m *meter) blockEnd(out bool, t0 time.Time) {
	d := int64(time.Since(t0))
	m.mu.Lock()
	if out {
		m.waitingOut--
		m.waitingOutSum -= t0.UnixNano()
		m.blockedOut.Add(d)
	} else {
		m.waitingIn--
		m.waitingInSum -= t0.UnixNano()
		m.blockedIn.Add(d)
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
	m.mu.Unlock()
}

func (m *meter) finish() {
	m.mu.Lock()
	m.end = time.Now()
	m.mu.Unlock()
}

// addBusy records work time measured directly (worker pools); once called,
// Busy is the sum of these durations instead of the derived value.
func (m *meter) addBusy(d time.Duration) {
	m.explicitBusy.Store(true)
	m.busy.Add(int64(d))
}

func (m *meter) snapshot() StageStats {
	m.mu.Lock()
	start, end := m.start, m.end
	now := time.Now().UnixNano()
	blockedIn := m.blockedIn.Load() + m.waitingIn*now - m.waitingInSum
	blockedOut := m.blockedOut.Load() + m.waitingOut*now - m.waitingOutSum
	m.mu.Unlock()
	s := StageStats{
		Name:       m.name,
		Workers:    int(m.workers.Load()),
		In:         m.in.Load(),
		Out:        m.out.Load(),
		Dropped:    m.dropped.Load(),
		BlockedIn:  time.Duration(blockedIn),
		BlockedOut: time.Duration(blockedOut),
	}
	switch {
	case start.IsZero():
	case end.IsZero():
		s.Running = true
		s.Elapsed = time.Since(start)
	default:
		s.Elapsed = end.Sub(start)
	}
	if m.explicitBusy.Load() {
		s.Busy = time.Duration(m.busy.Load())
	} else if b := s.Elapsed - s.BlockedIn - s.BlockedOut; b > 0 {
		s.Busy = b
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
