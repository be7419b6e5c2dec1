package stage

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// counter returns a Source of 0, 1, 2, ... up to n (n < 0: forever).
func counter(n int) Source[int] {
	i := 0
	return fromFunc(func(context.Context) (int, bool, error) {
		if n >= 0 && i >= n {
			return 0, false, nil
		}
		i++
		return i - 1, true, nil
	})
}

func double(_ context.Context, v int) (int, error) { return 2 * v, nil }

func TestGraphRunsAChainInOrder(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, capacity := range []int{0, 1, 8} {
		t.Run(fmt.Sprintf("with channel capacity %d", capacity), func(t *testing.T) {
			g := NewGraph(WithCapacity(capacity))
			src := AddSource(g, "source", counter(100))
			d := AddStage(g, "double", src, mapItems(double))
			inc := AddStage(g, "inc", d, mapItems(func(_ context.Context, v int) (string, error) { return fmt.Sprint(v + 1), nil }))
			var got []string
			AddSink(g, "sink", inc, collect(&got))
			if err := g.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(got) != 100 {
				t.Fatalf("got %d items, want 100", len(got))
			}
			for i, s := range got {
				if s != fmt.Sprint(2*i+1) {
					t.Fatalf("item %d = %q, want %d", i, s, 2*i+1)
				}
			}
			for _, s := range g.Stats() {
				if s.Running || s.Elapsed <= 0 {
					t.Errorf("stage %q: running=%v elapsed=%v after Run", s.Name, s.Running, s.Elapsed)
				}
			}
		})
	}
}

func TestGraphFailures(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name      string
		middle    Stage[int, int]
		wantIs    error
		wantInMsg []string
	}{
		{
			name: "a failing stage fails the run with its name and cancels an endless source",
			middle: mapItems(func(_ context.Context, v int) (int, error) {
				if v == 10 {
					return 0, errBoom
				}
				return v, nil
			}),
			wantIs:    errBoom,
			wantInMsg: []string{`pipeline: stage "reward": boom`},
		},
		{
			name: "a panicking stage fails the run with its name and stack",
			middle: mapItems(func(_ context.Context, v int) (int, error) {
				if v == 3 {
					panic("kaboom")
				}
				return v, nil
			}),
			wantInMsg: []string{`pipeline: stage "reward": panic: kaboom`, "goroutine", "graph_test.go"},
		},
		{
			name: "a stage that returns before its input is closed fails the run",
			middle: func(ctx context.Context, in <-chan int, out chan<- int) error {
				defer close(out)
				v, _, err := Recv(ctx, in)
				if err != nil {
					return err
				}
				return Send(ctx, out, v)
			},
			wantInMsg: []string{`pipeline: stage "reward": returned before its input was closed`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			g := NewGraph()
			src := AddSource(g, "source", counter(-1))
			mid := AddStage(g, "reward", src, tc.middle)
			AddSink(g, "sink", mid, forEach(func(context.Context, int) error { return nil }))
			err := g.Run(context.Background())
			if err == nil {
				t.Fatal("Run succeeded, want an error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
			}
			var se *Error
			if !errors.As(err, &se) || se.Stage != "reward" {
				t.Errorf("error %v is not a *Error of stage reward", err)
			}
			for _, s := range tc.wantInMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err.Error(), s)
				}
			}
			if errors.Is(err, ErrCanceled) {
				t.Errorf("a stage failure must not be reported as ErrCanceled: %v", err)
			}
		})
	}
}

func TestGraphCancelMidStreamLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen atomic.Int64
	g := NewGraph(WithCapacity(4))
	src := AddSource(g, "source", counter(-1))
	a := AddStage(g, "first", src, mapItems(double))
	b := AddStage(g, "map", a, mapItems(double))
	AddSink(g, "sink", b, forEach(func(context.Context, int) error {
		if seen.Add(1) == 50 {
			cancel()
		}
		return nil
	}))
	err := g.Run(ctx)
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run() = %v, want ErrCanceled wrapping context.Canceled", err)
	}
}

func TestGraphFirstErrorCancelsOtherStages(t *testing.T) {
	defer goleak.VerifyNone(t)
	errFirst := errors.New("first")
	var stopped atomic.Bool
	g := NewGraph()
	// A side stage that would run forever unless canceled.
	AddFunc(g, "waiter", func(ctx context.Context) error {
		<-ctx.Done()
		stopped.Store(true)
		return ctx.Err()
	})
	src := AddSource(g, "source", counter(-1))
	AddSink(g, "learner", src, forEach(func(_ context.Context, v int) error {
		if v == 20 {
			return errFirst
		}
		return nil
	}))
	err := g.Run(context.Background())
	if !errors.Is(err, errFirst) || !strings.Contains(err.Error(), `stage "learner"`) {
		t.Fatalf("Run() = %v, want the learner's error", err)
	}
	if !stopped.Load() {
		t.Error("the waiting stage was not canceled")
	}
}

func TestGraphBackpressureBoundsItemsInFlight(t *testing.T) {
	defer goleak.VerifyNone(t)
	const capacity = 2
	var produced, consumed, worst atomic.Int64
	g := NewGraph(WithCapacity(capacity))
	src := AddSource(g, "source", fromFunc(func(context.Context) (int, bool, error) {
		n := produced.Add(1)
		return int(n), n <= 200, nil
	}))
	p := AddStage(g, "first", src, mapItems(double))
	m := AddStage(g, "map", p, mapItems(double))
	AddSink(g, "slow", m, forEach(func(context.Context, int) error {
		c := consumed.Add(1)
		if d := produced.Load() - c; d > worst.Load() {
			worst.Store(d)
		}
		if c%10 == 0 {
			_ = g.Stats() // snapshots are safe while the graph runs
			time.Sleep(time.Millisecond)
		}
		return nil
	}))
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Items between production and consumption: three channels, one held
	// by each map stage and one by the source while sending.
	bound := int64(3*capacity + 3)
	if worst.Load() > bound {
		t.Errorf("up to %d items in flight, want <= %d", worst.Load(), bound)
	}
	var stats Stats
	for _, s := range g.Stats() {
		if s.Name == "source" {
			stats = s
		}
	}
	if stats.Out != 200 || stats.BlockedOut <= 0 {
		t.Errorf("source stats %+v: want 200 items out and some time blocked on output", stats)
	}
}

func TestGraphClosesAnOutputTheStageForgot(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := NewGraph()
	src := AddSource(g, "source", counter(5))
	mid := AddStage(g, "forgetful", src, func(ctx context.Context, in <-chan int, out chan<- int) error {
		for {
			v, ok, err := Recv(ctx, in)
			if err != nil || !ok {
				return err // out is left open on purpose
			}
			if err := Send(ctx, out, v); err != nil {
				return err
			}
		}
	})
	var got []int
	AddSink(g, "sink", mid, collect(&got))
	if err := g.Run(context.Background()); err != nil || len(got) != 5 {
		t.Fatalf("Run() = %v with %d items, want nil with 5", err, len(got))
	}
}

func TestGraphBuildErrors(t *testing.T) {
	t.Run("an unconsumed output is reported before starting", func(t *testing.T) {
		g := NewGraph()
		AddSource(g, "lonely", counter(1))
		err := g.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), `"lonely" is not consumed`) {
			t.Fatalf("Run() = %v", err)
		}
	})
	panics := []struct {
		name  string
		build func()
	}{
		{"a duplicate stage name panics", func() {
			g := NewGraph()
			AddSink(g, "x", AddSource(g, "x", counter(1)), collect(new([]int)))
		}},
		{"consuming a port twice panics", func() {
			g := NewGraph()
			p := AddSource(g, "x", counter(1))
			AddSink(g, "a", p, collect(new([]int)))
			AddSink(g, "b", p, collect(new([]int)))
		}},
		{"running twice panics", func() {
			g := NewGraph()
			AddSink(g, "b", AddSource(g, "a", counter(1)), collect(new([]int)))
			_ = g.Run(context.Background())
			_ = g.Run(context.Background())
		}},
	}
	for _, tc := range panics {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.HasPrefix(fmt.Sprint(r), "stage: ") {
					t.Fatalf("recovered %v, want a stage: panic", r)
				}
			}()
			tc.build()
		})
	}
}

func TestGraphWithInletAndOutlet(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := NewGraph()
	feed := make(chan int)
	in := Inlet(g, "feed", feed)
	out := Outlet(AddStage(g, "double", in, mapItems(double)))
	var sum atomic.Int64
	AddFunc(g, "outside", func(ctx context.Context) error {
		for {
			v, ok, err := Recv(ctx, out)
			if err != nil || !ok {
				return err
			}
			sum.Add(int64(v))
		}
	})
	AddFunc(g, "feeder", func(ctx context.Context) error {
		defer close(feed)
		for i := 1; i <= 10; i++ {
			if err := Send(ctx, feed, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sum.Load() != 110 {
		t.Errorf("sum = %d, want 110", sum.Load())
	}
}

// A stage waiting in Recv is counted as blocked while it waits, not as busy
// until its wait ends: busy time never shrinks between snapshots, so the
// per-step deltas in metrics.jsonl are never negative.
// stageStats returns the named stage's snapshot from g.
func stageStats(t *testing.T, g *Graph, name string) Stats {
	t.Helper()
	for _, s := range g.Stats() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stage %q", name)
	return Stats{}
}

// loadCPU keeps n goroutines spinning until the returned stop is called, so
// that the scheduler preempts the stages under test at arbitrary points.
func loadCPU(n int) (stop func()) {
	var quit atomic.Bool
	done := make(chan struct{})
	for range n {
		go func() {
			defer func() { done <- struct{}{} }()
			x := 1.0
			for !quit.Load() {
				for i := 0; i < 1000; i++ {
					x = x*1.0000001 + 1e-9
				}
			}
			_ = x
		}()
	}
	return func() {
		quit.Store(true)
		for range n {
			<-done
		}
	}
}

// TestStageWaitingInRecvIsBlockedNotBusy checks exact accounting, not
// timing: while a stage waits in Recv its busy time does not move at all and
// its blocked time grows by at least the wall time that passed, however
// loaded the machine is.
func TestStageWaitingInRecvIsBlockedNotBusy(t *testing.T) {
	defer goleak.VerifyNone(t)
	defer loadCPU(4)()
	g := NewGraph()
	feed := make(chan int)
	in := Inlet(g, "feed", feed)
	AddSink(g, "slow-sink", in, forEach(func(ctx context.Context, v int) error { return nil }))
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	before := stageStats(t, g, "slow-sink")
	for before.BlockedIn == 0 { // wait until the sink is inside Recv
		time.Sleep(time.Millisecond)
		before = stageStats(t, g, "slow-sink")
	}
	const wait = 20 * time.Millisecond
	time.Sleep(wait)
	mid := stageStats(t, g, "slow-sink")
	if mid.Busy != before.Busy || mid.BlockedIn-before.BlockedIn < wait {
		t.Errorf("while waiting %v: busy %v → %v, blocked %v → %v; want busy unchanged, blocked +≥ %v",
			wait, before.Busy, mid.Busy, before.BlockedIn, mid.BlockedIn, wait)
	}
	feed <- 1
	close(feed)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	after := stageStats(t, g, "slow-sink")
	if after.Busy < mid.Busy || after.BlockedIn < mid.BlockedIn || after.Elapsed < mid.Elapsed {
		t.Errorf("counters went backwards: busy %v → %v, blocked %v → %v", mid.Busy, after.Busy, mid.BlockedIn, after.BlockedIn)
	}
	if sum := after.Busy + after.BlockedIn + after.BlockedOut; sum != after.Elapsed {
		t.Errorf("busy %v + blocked %v + %v = %v, want elapsed %v exactly", after.Busy, after.BlockedIn, after.BlockedOut, sum, after.Elapsed)
	}
}

// TestStageCountersAreMonotonicUnderContention polls every stage's counters
// while a chain of stages alternates between working and blocking and
// spinning goroutines compete for the CPUs: no duration may ever shrink
// between two snapshots, and a finished single-goroutine stage's busy and
// blocked times add up to its elapsed time exactly.
func TestStageCountersAreMonotonicUnderContention(t *testing.T) {
	defer goleak.VerifyNone(t)
	defer loadCPU(runtime.GOMAXPROCS(0))()
	for round := range 3 {
		g := NewGraph()
		src := AddSource(g, "source", counter(300))
		mid := AddStage(g, "work", src, mapItems(func(_ context.Context, v int) (int, error) {
			x := v
			for i := 0; i < 2000; i++ {
				x = (x*31 + i) % 1000003
			}
			return x, nil
		}))
		AddSink(g, "sink", mid, forEach(func(context.Context, int) error { return nil }))
		done := make(chan error, 1)
		go func() { done <- g.Run(context.Background()) }()
		prev := g.Stats()
		for finished := false; !finished; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				finished = true
			default:
			}
			now := g.Stats()
			for i := range now {
				p, c := prev[i], now[i]
				if c.Busy < p.Busy || c.BlockedIn < p.BlockedIn || c.BlockedOut < p.BlockedOut || c.Elapsed < p.Elapsed {
					t.Fatalf("round %d, stage %s went backwards: %+v → %+v", round, c.Name, p, c)
				}
			}
			prev = now
		}
		for _, s := range prev {
			if s.Running || s.Busy+s.BlockedIn+s.BlockedOut != s.Elapsed {
				t.Errorf("round %d, stage %s finished with busy %v + blocked %v + %v ≠ elapsed %v (running %v)",
					round, s.Name, s.Busy, s.BlockedIn, s.BlockedOut, s.Elapsed, s.Running)
			}
		}
	}
}
